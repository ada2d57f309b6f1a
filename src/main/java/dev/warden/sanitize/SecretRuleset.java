package dev.warden.sanitize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A set of {@link SecretRule}s searched in one pass: a keyword automaton finds where each rule's
 * keywords occur, and a rule's pattern then runs only in windows around those places (or from there to
 * the end, for a rule that can span a whole block). Built once and shared; safe for concurrent use.
 */
final class SecretRuleset {

    private static final Logger log = LoggerFactory.getLogger(SecretRuleset.class);

    /** The gitleaks default rules built into the jar; see secrets/UPSTREAM next to it. */
    static final String GITLEAKS = "/secrets/gitleaks.toml";
    /** How far after a keyword a match may end (JWTs run long); a rule that can run to the end has no limit. */
    private static final int AFTER = 16384;
    /** Around a keyword, how far a rule whose match need not contain it is searched. */
    private static final int WINDOW = 1024;
    // gitleaks' generated rules open with an identifier prefix that only widens the match, never the
    // secret group; without it a rule does not try 50 lazy lengths at every position.
    private static final String LAZY_PREFIX = "[\\w.-]{0,50}?";

    /**
     * gitleaks rules whose match starts before their keyword, and by how much at most, or -1 when the
     * keyword need not be in the match (found by GitleaksRulesTest: a sample of each is missed otherwise).
     */
    private static final Map<String, Integer> LEADS = Map.ofEntries(
        Map.entry("azure-ad-client-secret", 8), // keyword "q~" is the 4th to 6th character
        Map.entry("lob-api-key", 16), Map.entry("lob-pub-api-key", 16), // live_ / test_ before the keyword
        Map.entry("new-relic-browser-api-token", 24), Map.entry("new-relic-insert-key", 24),
        Map.entry("new-relic-user-api-key", 24), Map.entry("openai-api-key", 128), // T3BlbkFJ mid-token
        Map.entry("slack-webhook-url", 12), Map.entry("hashicorp-tf-api-token", 20),
        // keyword anywhere near, or at a varying distance: searched in a window around it
        Map.entry("airtable-personnal-access-token", -1), Map.entry("facebook-access-token", -1),
        Map.entry("sourcegraph-access-token", -1), Map.entry("maxmind-license-key", -1),
        Map.entry("microsoft-teams-webhook", -1), Map.entry("sidekiq-sensitive-url", -1),
        Map.entry("typeform-api-token", -1));

    /** A rule of the file that is not used, and why. */
    record Skipped(String id, String reason) {
    }

    private final List<SecretRule> rules;
    private final List<Skipped> skipped;
    private final List<SecretRule.Allow> global;
    private final KeywordAutomaton automaton;
    private final int[][] rulesOfKeyword;
    private final int[] keywordLength;

    SecretRuleset(List<SecretRule> rules, List<SecretRule.Allow> global, List<Skipped> skipped) {
        this.rules = List.copyOf(rules);
        this.global = List.copyOf(global);
        this.skipped = List.copyOf(skipped);
        Map<String, List<Integer>> byWord = new LinkedHashMap<>();
        for (int r = 0; r < this.rules.size(); r++) {
            for (String k : this.rules.get(r).keywords()) {
                byWord.computeIfAbsent(k, x -> new ArrayList<>()).add(r);
            }
        }
        List<String> words = new ArrayList<>(byWord.keySet());
        this.keywordLength = words.stream().mapToInt(String::length).toArray();
        this.automaton = new KeywordAutomaton(words);
        this.rulesOfKeyword = new int[words.size()][];
        for (int i = 0; i < words.size(); i++) {
            rulesOfKeyword[i] = byWord.get(words.get(i)).stream().mapToInt(Integer::intValue).toArray();
        }
    }

    List<SecretRule> rules() {
        return rules;
    }

    List<Skipped> skipped() {
        return skipped;
    }

    /**
     * Adds to {@code spans} where secrets are in {@code text}: {start, end, rule index}.
     * A rule's match starts where one of its keywords does (gitleaks writes rules so: the keyword is
     * the token's prefix or the name before the value; Warden's own rules are written the same way), so
     * the pattern is tried anchored there ({@link Matcher#lookingAt}) and nowhere else: the cost follows
     * the number of keyword occurrences, not the length of the text times the number of rules.
     */
    void find(String text, List<int[]> spans) {
        int n = text.length();
        Matcher[] matchers = new Matcher[rules.size()];
        int[] nextFrom = new int[rules.size()]; // matches of one rule do not overlap, as with find()
        int[] previousEnd = new int[rules.size()];
        int[] scannedTo = new int[rules.size()];
        automaton.scan(text, (k, end) -> {
            int start = end - keywordLength[k];
            for (int r : rulesOfKeyword[k]) {
                if (start < nextFrom[r]) {
                    continue;
                }
                SecretRule rule = rules.get(r);
                Matcher m = matchers[r];
                if (m == null) {
                    m = matchers[r] = rule.pattern().matcher(text);
                    m.useTransparentBounds(true);
                    m.useAnchoringBounds(false);
                }
                if (rule.lead() < 0) { // the keyword may be outside the match: search around it
                    if (end <= scannedTo[r] - WINDOW) {
                        continue;
                    }
                    m.region(Math.max(nextFrom[r], start - WINDOW), Math.min(n, end + WINDOW));
                    scannedTo[r] = m.regionEnd();
                    while (m.find()) {
                        if (m.end() > m.start()) {
                            take(r, m, text, previousEnd[r], spans);
                            previousEnd[r] = m.end();
                            nextFrom[r] = m.end();
                        }
                    }
                    continue;
                }
                for (int from = Math.max(nextFrom[r], start - rule.lead()); from <= start; from++) {
                    m.region(from, rule.toEnd() ? n : Math.min(n, end + AFTER));
                    if (m.lookingAt()) {
                        if (m.end() > m.start()) {
                            take(r, m, text, previousEnd[r], spans);
                            previousEnd[r] = m.end();
                            nextFrom[r] = m.end();
                        }
                        break;
                    }
                }
            }
        });
    }

    private void take(int r, Matcher m, String text, int previousEnd, List<int[]> spans) {
        SecretRule rule = rules.get(r);
        int[] s = rule.secretSpan(m);
        if (s == null) {
            return;
        }
        String secret = text.substring(s[0], s[1]);
        if (rule.entropy() > 0 && SecretRule.shannonEntropy(secret) <= rule.entropy()) {
            return;
        }
        if (rule.upstream() && !global.isEmpty() || !rule.allowlists().isEmpty()) {
            int matchStart = m.start();
            for (int w = 0; w < rule.widen() && matchStart > previousEnd && isIdentifier(text.charAt(matchStart - 1)); w++) {
                matchStart--;
            }
            String match = text.substring(matchStart, m.end());
            String line = lineAround(text, matchStart, m.end());
            if (rule.upstream() && allowed(global, secret, match, line) || allowed(rule.allowlists(), secret, match, line)) {
                return;
            }
        }
        spans.add(new int[] {s[0], s[1], r});
    }

    private static boolean isIdentifier(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-';
    }

    private static boolean allowed(List<SecretRule.Allow> lists, String secret, String match, String line) {
        for (SecretRule.Allow a : lists) {
            if (a.allows(secret, match, line)) {
                return true;
            }
        }
        return false;
    }

    private static String lineAround(String text, int start, int end) {
        int a = text.lastIndexOf('\n', Math.max(0, start - 1)) + 1;
        int b = text.indexOf('\n', end);
        return text.substring(start > 0 ? a : 0, b < 0 ? text.length() : b);
    }

    /** Loads a gitleaks configuration; a rule that cannot run here is skipped, logged, and listed. */
    static SecretRuleset gitleaks(String resource, List<SecretRule> extra) {
        JsonNode root;
        try (InputStream in = SecretRuleset.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("secret ruleset " + resource + " is not in the jar");
            }
            root = new TomlMapper().readTree(in);
        }
        catch (IOException e) {
            throw new UncheckedIOException("secret ruleset " + resource + " does not parse", e);
        }
        List<SecretRule> rules = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        List<SecretRule.Allow> global = new ArrayList<>();
        Map<String, Pattern> cache = new HashMap<>();
        for (JsonNode a : root.path("allowlists")) {
            global.add(allow(a, cache));
        }
        if (root.has("allowlist")) {
            global.add(allow(root.path("allowlist"), cache));
        }
        for (JsonNode r : root.path("rules")) {
            String id = r.path("id").asText("?");
            String reason = null;
            try {
                if (!r.hasNonNull("regex")) {
                    reason = "matches file paths only";
                }
                else if (r.hasNonNull("path")) {
                    reason = "applies to files named " + r.path("path").asText() + ", and output has no file name";
                }
                else if (!r.path("keywords").isArray() || r.path("keywords").isEmpty()) {
                    reason = "has no keywords to prefilter on";
                }
                else {
                    String java = Re2Syntax.toJava(r.path("regex").asText());
                    String lean = withoutLazyPrefix(java);
                    int widen = lean.equals(java) ? 0 : 50;
                    java = lean;
                    List<String> keywords = new ArrayList<>();
                    r.path("keywords").forEach(k -> keywords.add(k.asText()));
                    List<SecretRule.Allow> allows = new ArrayList<>();
                    for (JsonNode a : r.path("allowlists")) {
                        allows.add(allow(a, cache));
                    }
                    rules.add(new SecretRule(id, Pattern.compile(java), r.path("secretGroup").asInt(0),
                        r.path("entropy").asDouble(0), keywords, allows, SecretRule.reachesEnd(java), true, widen, LEADS.getOrDefault(id, 0)));
                }
            }
            catch (IllegalArgumentException e) { // PatternSyntaxException among them
                reason = "does not translate to a Java pattern: " + e.getMessage().lines().findFirst().orElse("");
            }
            if (reason != null) {
                log.debug("secret rule {} skipped: {}", id, reason);
                skipped.add(new Skipped(id, reason));
            }
        }
        rules.addAll(extra);
        return new SecretRuleset(rules, global, skipped);
    }

    private static String withoutLazyPrefix(String java) {
        if (java.startsWith("(?i)" + LAZY_PREFIX)) {
            return "(?i)" + java.substring(4 + LAZY_PREFIX.length());
        }
        if (java.startsWith(LAZY_PREFIX)) {
            return java.substring(LAZY_PREFIX.length());
        }
        return java;
    }

    private static SecretRule.Allow allow(JsonNode a, Map<String, Pattern> cache) {
        List<Pattern> regexes = new ArrayList<>();
        for (JsonNode re : a.path("regexes")) {
            try {
                regexes.add(cache.computeIfAbsent(re.asText(), x -> Pattern.compile(Re2Syntax.toJava(x))));
            }
            catch (PatternSyntaxException e) {
                // one allowance less only means more is redacted
                log.debug("allowlist pattern {} skipped: {}", re.asText(), e.getDescription());
            }
        }
        List<String> stopwords = new ArrayList<>();
        a.path("stopwords").forEach(w -> stopwords.add(w.asText()));
        boolean needsPath = a.path("paths").size() > 0 || a.path("commits").size() > 0;
        return new SecretRule.Allow(regexes, a.path("regexTarget").asText("secret"), stopwords,
            "AND".equalsIgnoreCase(a.path("condition").asText("OR")), needsPath);
    }
}
