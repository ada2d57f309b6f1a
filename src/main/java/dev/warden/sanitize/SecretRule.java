package dev.warden.sanitize;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One way to recognise a secret, with gitleaks' semantics: the pattern runs only where one of the
 * keywords occurs (case-insensitive); what is redacted is capture group {@code secretGroup}, or when
 * that is 0 the first non-empty group, or the whole match; a candidate whose Shannon entropy is not
 * above {@code entropy} (when set) or that an allowlist lets through is not a secret.
 *
 * @param upstream a rule of the gitleaks file, to which its global allowlist applies (Warden's own
 *                 rules keep what they always redacted)
 * @param widen how many identifier characters ({@code [\w.-]}) before a match gitleaks' pattern would
 *              have taken into it (a leading {@code [\w.-]{0,50}?} removed for speed): an allowlist that
 *              looks at the whole match sees them again
 * @param lead how many characters before its keyword a match may start (0: at the keyword; -1: the
 *             keyword need not be in the match, which is searched for in a window around it)
 * @param toEnd the pattern can run to the end of the text (a PEM block cut off by truncation), so it
 *              is searched from its keyword onwards, not in a bounded window around it
 */
record SecretRule(String id, Pattern pattern, int secretGroup, double entropy, List<String> keywords,
        List<Allow> allowlists, boolean toEnd, boolean upstream, int widen, int lead) {

    SecretRule {
        keywords = keywords.stream().map(k -> k.toLowerCase(Locale.ROOT)).distinct().toList();
        allowlists = List.copyOf(allowlists);
        if (keywords.isEmpty()) {
            throw new IllegalArgumentException(id + ": a rule needs a keyword (it is the prefilter)");
        }
    }

    /** A hand-written rule of Warden's own: no entropy floor, no allowlist. */
    static SecretRule of(String id, String regex, int secretGroup, String... keywords) {
        Pattern p = Pattern.compile(regex);
        return new SecretRule(id, p, secretGroup, 0, List.of(keywords), List.of(), reachesEnd(regex), false, 0, 0);
    }

    /** The same, letting through a value that {@code notSecret} finds (a variable name, a file name). */
    static SecretRule of(String id, String regex, int secretGroup, Pattern notSecret, String... keywords) {
        SecretRule r = of(id, regex, secretGroup, keywords);
        return new SecretRule(id, r.pattern(), secretGroup, 0, r.keywords(),
            List.of(new Allow(List.of(notSecret), "secret", List.of(), false, false)), r.toEnd(), false, 0, 0);
    }

    static boolean reachesEnd(String javaRegex) {
        return javaRegex.contains("[\\s\\S]") || javaRegex.contains("\\z") || javaRegex.contains("(?s");
    }

    /** Where the secret of this match is, or null when the match has none (an empty group). */
    int[] secretSpan(Matcher m) {
        if (secretGroup > 0) {
            return secretGroup <= m.groupCount() && m.start(secretGroup) >= 0 && m.end(secretGroup) > m.start(secretGroup)
                ? new int[] {m.start(secretGroup), m.end(secretGroup)} : null;
        }
        for (int g = 1; g <= m.groupCount(); g++) {
            if (m.start(g) >= 0 && m.end(g) > m.start(g)) {
                return new int[] {m.start(g), m.end(g)};
            }
        }
        return m.end() > m.start() ? new int[] {m.start(), m.end()} : null;
    }

    /**
     * A gitleaks allowlist: with {@code and} false any one criterion lets a finding through, with it true
     * all the criteria it has must. Paths and commits never match program output (there is no file), so
     * an allowlist made only of them, or one that needs them, never applies.
     *
     * @param target what the regexes look at: "secret", "match" or "line"
     */
    record Allow(List<Pattern> regexes, String target, List<String> stopwords, boolean and, boolean needsPath,
            KeywordAutomaton stopwordAutomaton) {

        Allow(List<Pattern> regexes, String target, List<String> stopwords, boolean and, boolean needsPath) {
            // gitleaks' generic rule has ~1,400 stop words: one automaton pass instead of 1,400 contains()
            this(List.copyOf(regexes), target, stopwords.stream().map(w -> w.toLowerCase(Locale.ROOT)).toList(), and, needsPath,
                stopwords.isEmpty() || stopwords.stream().anyMatch(w -> w.chars().anyMatch(c -> c >= 128))
                    ? null : new KeywordAutomaton(stopwords));
        }

        boolean allows(String secret, String match, String line) {
            if (and && needsPath) {
                return false;
            }
            String subject = switch (target) {
                case "match" -> match;
                case "line" -> line;
                default -> secret;
            };
            Boolean byRegex = regexes.isEmpty() ? null : regexes.stream().anyMatch(p -> p.matcher(subject).find());
            Boolean byWord = null;
            if (!stopwords.isEmpty()) {
                if (stopwordAutomaton != null) {
                    boolean[] found = {false};
                    stopwordAutomaton.scan(secret, (k, end) -> found[0] = true);
                    byWord = found[0];
                }
                else {
                    String lower = secret.toLowerCase(Locale.ROOT);
                    byWord = stopwords.stream().anyMatch(lower::contains);
                }
            }
            if (byRegex == null && byWord == null) {
                return false;
            }
            if (and) {
                return (byRegex == null || byRegex) && (byWord == null || byWord);
            }
            return Boolean.TRUE.equals(byRegex) || Boolean.TRUE.equals(byWord);
        }
    }

    static double shannonEntropy(String s) {
        if (s.isEmpty()) {
            return 0;
        }
        int[] ascii = new int[128];
        boolean onlyAscii = true;
        for (int i = 0; i < s.length() && onlyAscii; i++) {
            char c = s.charAt(i);
            if (c < 128) {
                ascii[c]++;
            }
            else {
                onlyAscii = false;
            }
        }
        if (onlyAscii) {
            double h = 0;
            for (int c : ascii) {
                if (c > 0) {
                    double p = (double) c / s.length();
                    h -= p * (Math.log(p) / Math.log(2));
                }
            }
            return h;
        }
        java.util.Map<Integer, Integer> counts = new java.util.HashMap<>();
        s.codePoints().forEach(c -> counts.merge(c, 1, Integer::sum));
        double n = s.codePointCount(0, s.length());
        double h = 0;
        for (int c : counts.values()) {
            double p = c / n;
            h -= p * (Math.log(p) / Math.log(2));
        }
        return h;
    }
}
