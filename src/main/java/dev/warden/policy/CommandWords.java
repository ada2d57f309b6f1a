package dev.warden.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Splits one plain command line into words the way a POSIX shell would for a simple command with
 * quoting only: single quotes, double quotes, backslash escapes. Any other shell syntax (operators,
 * redirections, substitutions, expansions, globs, comments, assignments, newlines) is reported
 * instead of interpreted, because nothing runs in a host shell.
 */
public final class CommandWords {

    /** Either the words, or the first shell construct found, quoted for the reason text. */
    public record Split(List<String> words, String shellSyntax) {
    }

    private CommandWords() {
    }

    private static final java.util.regex.Pattern ASSIGNMENT = java.util.regex.Pattern
        .compile("^[ \\t]*[A-Za-z_][A-Za-z0-9_]*=");

    public static Split split(String line) {
        if (ASSIGNMENT.matcher(line).find()) {
            return new Split(List.of(), "a variable assignment");
        }
        List<String> words = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inWord = false;
        int i = 0;
        int n = line.length();
        while (i < n) {
            char c = line.charAt(i);
            if (c == ' ' || c == '\t') {
                if (inWord) {
                    words.add(cur.toString());
                    cur.setLength(0);
                    inWord = false;
                }
                i++;
                continue;
            }
            Optional<String> syntax = unquotedSyntax(line, i, inWord);
            if (syntax.isPresent()) {
                return new Split(List.of(), syntax.get());
            }
            if (c == '\'') {
                int end = line.indexOf('\'', i + 1);
                if (end < 0) {
                    return new Split(List.of(), "an unterminated ' quote");
                }
                cur.append(line, i + 1, end);
                inWord = true;
                i = end + 1;
            }
            else if (c == '"') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char d = line.charAt(i);
                    if (d == '"') {
                        closed = true;
                        i++;
                        break;
                    }
                    if (d == '$' || d == '`') {
                        return new Split(List.of(), "`" + d + "` expansion inside double quotes");
                    }
                    if (d == '\\' && i + 1 < n && "$`\"\\\n".indexOf(line.charAt(i + 1)) >= 0) {
                        if (line.charAt(i + 1) == '\n') {
                            return new Split(List.of(), "a newline");
                        }
                        cur.append(line.charAt(i + 1));
                        i += 2;
                        continue;
                    }
                    if (d == '\n' || d == '\r') {
                        return new Split(List.of(), "a newline");
                    }
                    cur.append(d);
                    i++;
                }
                if (!closed) {
                    return new Split(List.of(), "an unterminated \" quote");
                }
                inWord = true;
            }
            else if (c == '\\') {
                if (i + 1 >= n || line.charAt(i + 1) == '\n' || line.charAt(i + 1) == '\r') {
                    return new Split(List.of(), "a trailing backslash or line continuation");
                }
                cur.append(line.charAt(i + 1));
                inWord = true;
                i += 2;
            }
            else {
                cur.append(c);
                inWord = true;
                i++;
            }
        }
        if (inWord) {
            words.add(cur.toString());
        }
        return new Split(words, null);
    }

    /** Shell syntax at position i outside quotes, if any. */
    private static Optional<String> unquotedSyntax(String line, int i, boolean inWord) {
        char c = line.charAt(i);
        switch (c) {
            case ';', '&', '|', '<', '>', '(', ')':
                int j = i + 1;
                while (j < line.length() && "&|<>;".indexOf(line.charAt(j)) >= 0 && j < i + 3) {
                    j++;
                }
                return Optional.of("`" + line.substring(i, j) + "`");
            case '`':
                return Optional.of("a backtick substitution");
            case '$':
                return Optional.of(i + 1 < line.length() && line.charAt(i + 1) == '(' ? "`$(`" : "`$` expansion");
            case '\n', '\r':
                return Optional.of("a newline");
            case '*', '?', '[':
                return Optional.of("a glob (`" + c + "`)");
            case '~':
                return inWord ? Optional.empty() : Optional.of("`~` expansion");
            case '#':
                return inWord ? Optional.empty() : Optional.of("a `#` comment");
            default:
                if (c < 0x20 || c == 0x7f) {
                    return Optional.of("a control character");
                }
                return Optional.empty();
        }
    }
}
