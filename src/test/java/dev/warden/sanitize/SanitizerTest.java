package dev.warden.sanitize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SanitizerTest {

    final Sanitizer s = new Sanitizer(List.of("server-token-0123456789"), Map.of("/tmp/warden-ws-1/s-abc", "/workspace"));

    private Sanitizer.Clean clean(String text) {
        return s.clean(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void invalidUtf8BecomesReplacementCharacters() {
        Sanitizer.Clean c = s.clean(new byte[] {'o', 'k', (byte) 0xC3, (byte) 0x28, (byte) 0xFF, '\n'});
        assertEquals("ok\uFFFD(\uFFFD\n", c.text());
    }

    @Test
    void terminalEscapesAndControlCharactersAreStripped() {
        String raw = "\u001B[31mred\u001B[0m \u001B]0;title\u0007ok\u001B]8;;http://x\u001B\\link\u001B]8;;\u001B\\"
                + " bell\u0007 nul\u0000 bs\b del\u007F c1\u009B2J bidi\u202Eevil\u2066 tab\tnl\r\n";
        assertEquals("red oklink bell nul bs del c1 bidievil tab\tnl\n", clean(raw).text());
    }

    @Test
    void realLookingSecretsAreRedactedAndCounted() {
        String raw = String.join("\n",
                "aws AKIAIOSFODNN7EXAMPLE",
                "gh ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
                "gl glpat-abcdefghij0123456789",
                "slack xoxb-123456789012-abcdefghijkl",
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "url postgres://admin:hunter2secret@db.internal/app",
                "env DB_PASSWORD=correct-horse-battery",
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----",
                "mine server-token-0123456789");
        Sanitizer.Clean c = clean(raw);
        for (String secret : List.of("AKIAIOSFODNN7EXAMPLE", "ghp_0123", "glpat-", "xoxb-", "eyJhbGci", "hunter2secret",
                "correct-horse", "MIIEpAIBAAKCAQEA7", "server-token-0123456789")) {
            assertFalse(c.text().contains(secret), secret + " leaked: " + c.text());
        }
        assertEquals(9, c.redactions(), c.text());
        assertTrue(c.text().contains("postgres://admin:[REDACTED]@db.internal"), c.text());
        assertTrue(c.text().contains("DB_PASSWORD=[REDACTED]"), c.text());
    }

    @Test
    void moreTokenFormatsAndHeadersAreRedacted() {
        String raw = String.join("\n",
                "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "google AIzaSyA-1234567890abcdefghijklmnopqrstu",
                "hook https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
                "npm npm_abcdefghijklmnopqrstuvwxyz0123456789",
                "Authorization: Bearer abc.def-ghi_jkl.mno",
                "{\"password\": \"s3cr3t-value\"}");
        Sanitizer.Clean c = clean(raw);
        for (String secret : List.of("4eC39HqLyjWDarjtT1zdp7dc", "AIzaSyA", "XXXXXXXXXXXXXXXX", "npm_abc", "abc.def-ghi", "s3cr3t")) {
            assertFalse(c.text().contains(secret), secret + " leaked: " + c.text());
        }
        assertEquals(6, c.redactions(), c.text());
        assertTrue(c.text().contains("Authorization: Bearer [REDACTED]"), c.text());
    }

    @Test
    void hostPathsAreRewritten() {
        assertEquals("/workspace/file: No such file", clean("/tmp/warden-ws-1/s-abc/file: No such file").text());
    }

    @Test
    void ordinaryTextIsUntouched() {
        String text = "total 8\nimport os\nprint('héllo wörld ✓ 日本')\nkey = value\n";
        Sanitizer.Clean c = clean(text);
        assertEquals(text, c.text());
        assertEquals(0, c.redactions());
    }

    @Test
    void likelySecretsNameWhatTheRedactorWouldTakeWithoutItsValue() {
        List<String> hints = Sanitizer.likelySecrets("API_TOKEN=hunter22;curl https://bob:pa55word@example.com "
                + "ghp_" + "a".repeat(36) + " ls");
        assertTrue(hints.contains("API_TOKEN=…"), hints.toString());
        assertTrue(hints.contains("https://bob:…@"), hints.toString());
        assertTrue(hints.contains("ghp_…"), hints.toString());
        assertFalse(String.join(" ", hints).contains("hunter22") || String.join(" ", hints).contains("pa55word"));
        assertEquals(List.of(), Sanitizer.likelySecrets("make test"));
    }
}
