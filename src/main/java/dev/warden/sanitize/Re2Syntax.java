package dev.warden.sanitize;

/**
 * Rewrites a Go RE2 pattern (the syntax gitleaks rules are written in) into java.util.regex syntax.
 * Most of RE2 means the same in Java; what differs, and is handled here:
 * <ul>
 * <li>{@code (?P<name>…)}: Java names allow no underscore and need no name at all here (rules pick
 *     their secret by group number), so a named group becomes a plain capturing group (numbering unchanged);</li>
 * <li>inside a character class RE2 takes {@code [} and {@code &&} literally, Java would nest or
 *     intersect: they are escaped;</li>
 * <li>POSIX classes {@code [:alnum:]} inside a class become {@code \p{Alnum}};</li>
 * <li>a {@code {} that does not start a repetition is a literal in RE2 and an error in Java: escaped.</li>
 * </ul>
 * Anything else passes through; a pattern Java still refuses is the caller's to skip.
 */
final class Re2Syntax {

    private Re2Syntax() {
    }

    static String toJava(String re2) {
        StringBuilder out = new StringBuilder(re2.length() + 16);
        boolean inClass = false;
        int n = re2.length();
        for (int i = 0; i < n; i++) {
            char c = re2.charAt(i);
            if (c == '\\' && i + 1 < n) {
                out.append(c).append(re2.charAt(++i));
                if (re2.charAt(i) == 'Q') { // \Q…\E: copied as is
                    int end = re2.indexOf("\\E", i + 1);
                    int stop = end < 0 ? n : end + 2;
                    out.append(re2, i + 1, stop);
                    i = stop - 1;
                }
                continue;
            }
            if (inClass) {
                if (c == ']') {
                    inClass = false;
                    out.append(c);
                }
                else if (c == '[' && re2.startsWith("[:", i)) {
                    int end = re2.indexOf(":]", i + 2);
                    String name = end < 0 ? null : re2.substring(i + 2, end);
                    String java = name == null ? null : posix(name);
                    if (java == null) {
                        out.append("\\[");
                    }
                    else {
                        out.append(java);
                        i = end + 1;
                    }
                }
                else if (c == '[') {
                    out.append("\\[");
                }
                else if (c == '&' && i + 1 < n && re2.charAt(i + 1) == '&') {
                    out.append("&\\&");
                    i++;
                }
                else {
                    out.append(c);
                }
                continue;
            }
            if (c == '[') {
                inClass = true;
                out.append(c);
                if (i + 1 < n && re2.charAt(i + 1) == '^') {
                    out.append('^');
                    i++;
                }
                if (i + 1 < n && re2.charAt(i + 1) == ']') { // a leading ] is a literal in both
                    out.append("\\]");
                    i++;
                }
                continue;
            }
            if (c == '(' && re2.startsWith("(?P<", i)) {
                int end = re2.indexOf('>', i);
                if (end > 0) {
                    out.append('(');
                    i = end;
                    continue;
                }
            }
            if (c == '{' && !isRepetition(re2, i)) {
                out.append("\\{");
                continue;
            }
            out.append(c);
        }
        return out.toString();
    }

    private static boolean isRepetition(String s, int open) {
        int i = open + 1;
        int digits = 0;
        while (i < s.length() && Character.isDigit(s.charAt(i))) {
            i++;
            digits++;
        }
        if (digits == 0 || i >= s.length()) {
            return false;
        }
        if (s.charAt(i) == '}') {
            return true;
        }
        if (s.charAt(i) != ',') {
            return false;
        }
        i++;
        while (i < s.length() && Character.isDigit(s.charAt(i))) {
            i++;
        }
        return i < s.length() && s.charAt(i) == '}';
    }

    private static String posix(String name) {
        return switch (name) {
            case "alnum" -> "\\p{Alnum}";
            case "alpha" -> "\\p{Alpha}";
            case "ascii" -> "\\p{ASCII}";
            case "blank" -> "\\p{Blank}";
            case "cntrl" -> "\\p{Cntrl}";
            case "digit" -> "\\p{Digit}";
            case "graph" -> "\\p{Graph}";
            case "lower" -> "\\p{Lower}";
            case "print" -> "\\p{Print}";
            case "punct" -> "\\p{Punct}";
            case "space" -> "\\s";
            case "upper" -> "\\p{Upper}";
            case "word" -> "\\w";
            case "xdigit" -> "\\p{XDigit}";
            default -> null;
        };
    }
}
