package dev.warden.policy.shell;

import java.util.List;

/**
 * One shell word after quote removal.
 *
 * @param text the value with quotes and escapes removed; expansions stay in their source form
 *     ({@code $HOME}, {@code $(…)}) since their value is only known at run time
 * @param dynamic whether part of the value comes from an expansion or substitution
 * @param glob whether unquoted pattern characters ({@code * ? [}) or brace expansion may turn it
 *     into other words
 * @param substitutions the command lines inside {@code $(…)}, backticks, {@code <(…)} and
 *     {@code >(…)}: they run too
 * @param processSubstitution whether the word is {@code <(…)} or {@code >(…)}
 */
public record Word(String text, boolean dynamic, boolean glob, List<Node> substitutions, boolean processSubstitution) {

    public Word {
        substitutions = List.copyOf(substitutions);
    }

    /** A word with a value known before it runs: what rules can match exactly. */
    public boolean literal() {
        return !dynamic && !glob;
    }

    public static Word of(String text) {
        return new Word(text, false, false, List.of(), false);
    }
}
