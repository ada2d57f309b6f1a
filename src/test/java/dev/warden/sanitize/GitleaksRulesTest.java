package dev.warden.sanitize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The built-in gitleaks rules against gitleaks' own samples (src/test/resources/secrets/gitleaks-samples.tsv,
 * made by tools/gitleaks-samples.py from the same upstream commit as the ruleset).
 */
class GitleaksRulesTest {

    record Sample(String kind, String rule, String text) {
    }

    static List<Sample> samples() throws IOException {
        List<Sample> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                GitleaksRulesTest.class.getResourceAsStream("/secrets/gitleaks-samples.tsv"), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null;) {
                if (line.startsWith("#") || line.isBlank()) {
                    continue;
                }
                String[] f = line.split("\t", 3);
                out.add(new Sample(f[0], f[1], unescape(f[2])));
            }
        }
        return out;
    }

    static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char e = s.charAt(++i);
                b.append(switch (e) {
                    case 't' -> '\t';
                    case 'n' -> '\n';
                    case 'r' -> '\r';
                    default -> e;
                });
            }
            else {
                b.append(c);
            }
        }
        return b.toString();
    }

    static Set<String> rulesFiring(String text) {
        List<int[]> spans = new ArrayList<>();
        Sanitizer.RULES.find(text, spans);
        return spans.stream().map(s -> Sanitizer.RULES.rules().get(s[2]).id()).collect(Collectors.toCollection(TreeSet::new));
    }

    private static final Sanitizer SANITIZER = new Sanitizer(List.of(), Map.of());

    @Test
    void everyRuleCompilesButTheFileNameOnes() {
        List<SecretRuleset.Skipped> skipped = Sanitizer.RULES.skipped();
        // gitleaks.toml has 222 rules; the only ones not used are those scoped to a file name (output has none).
        // A change that makes a rule fail to translate shows up here as a larger number.
        assertEquals(List.of("freemius-secret-key", "hashicorp-tf-password", "kubernetes-secret-yaml", "nuget-config-password",
                "pkcs12-file"), skipped.stream().map(SecretRuleset.Skipped::id).sorted().toList(), skipped.toString());
        long upstream = Sanitizer.RULES.rules().stream().filter(SecretRule::upstream).count();
        assertEquals(222 - skipped.size(), upstream);
    }

    @Test
    void eachTruePositiveSampleIsFoundByItsRuleAndRedacted() throws IOException {
        List<Sample> tps = samples().stream().filter(s -> s.kind().equals("tp")).toList();
        assertTrue(tps.size() >= 100, "only " + tps.size() + " samples");
        List<String> missed = new ArrayList<>();
        List<String> notRedacted = new ArrayList<>();
        for (Sample s : tps) {
            if (!rulesFiring(s.text()).contains(s.rule())) {
                missed.add(s.rule() + ": " + s.text());
            }
            Sanitizer.Clean c = SANITIZER.clean(s.text().getBytes(StandardCharsets.UTF_8));
            if (c.redactions() == 0 || !c.text().contains(Sanitizer.REDACTED)) {
                notRedacted.add(s.rule() + ": " + s.text());
            }
        }
        assertEquals(List.of(), missed, missed.size() + " of " + tps.size() + " not found by their own rule");
        assertEquals(List.of(), notRedacted, notRedacted.size() + " of " + tps.size() + " not redacted");
    }

    @Test
    void falsePositiveSamplesDoNotFireTheirRule() throws IOException {
        List<Sample> fps = samples().stream().filter(s -> s.kind().equals("fp")).toList();
        assertTrue(fps.size() >= 50, "only " + fps.size() + " samples");
        List<String> fired = new ArrayList<>();
        for (Sample s : fps) {
            if (rulesFiring(s.text()).contains(s.rule())) {
                fired.add(s.rule() + ": " + s.text());
            }
        }
        assertEquals(List.of(), fired, fired.size() + " of " + fps.size() + " fired");
    }
}
