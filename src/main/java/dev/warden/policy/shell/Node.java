package dev.warden.policy.shell;

import java.util.List;

/**
 * The syntax tree of a shell command line, as far as judging it needs: what runs, with which words,
 * connected how. Compound commands keep their parts; nothing is expanded or evaluated.
 */
public sealed interface Node {

    /** {@code a; b}, {@code a && b}, {@code a || b}, {@code a &}: items and the operator after each. */
    record Sequence(List<Node> items, List<String> operators) implements Node {
        public Sequence {
            items = List.copyOf(items);
            operators = List.copyOf(operators);
        }
    }

    /** {@code a | b | c} (also {@code |&}); {@code negated} for a leading {@code !}. */
    record Pipeline(List<Node> stages, boolean negated) implements Node {
        public Pipeline {
            stages = List.copyOf(stages);
        }
    }

    /**
     * One simple command: leading assignments, its words (the first names the program) and its
     * redirections.
     */
    record Simple(List<Word> assignments, List<Word> words, List<Redirect> redirects) implements Node {
        public Simple {
            assignments = List.copyOf(assignments);
            words = List.copyOf(words);
            redirects = List.copyOf(redirects);
        }
    }

    /** {@code ( … )} (subshell) or {@code { …; }} (group), with redirections after it. */
    record Group(Node body, boolean subshell, List<Redirect> redirects) implements Node {
        public Group {
            redirects = List.copyOf(redirects);
        }
    }

    /** {@code name() body} or {@code function name body}. */
    record Function(String name, Node body) implements Node {
    }

    /**
     * if/while/until/for/select/case, {@code [[ … ]]} and {@code (( … ))}: the keyword, the words it
     * expands (loop lists, case subject and patterns, test operands) and its bodies.
     */
    record Compound(String keyword, List<Word> words, List<Node> bodies, List<Redirect> redirects) implements Node {
        public Compound {
            words = List.copyOf(words);
            bodies = List.copyOf(bodies);
            redirects = List.copyOf(redirects);
        }
    }

    /**
     * A redirection: operator ({@code >}, {@code >>}, {@code <}, {@code <<}, {@code <<<}, {@code &>},
     * {@code >&}, …) and target; for here-documents the target is the body.
     */
    record Redirect(String op, Word target, boolean hereDoc) {
    }
}
