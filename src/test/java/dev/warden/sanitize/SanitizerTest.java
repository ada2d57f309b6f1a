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

    /** Issue 11, finding 5: plain formats the old hand-written patterns let through (each with its secret). */
    static final List<String[]> PLAIN_FORMATS = List.of(
            new String[] {"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQVYBGWFjJr5b5YUDNrNvE7yuSBZoghNoBafRvl6fJ2gQ/fcg0DPKTy5Ty4rRkZ3VGp+2\n=Xk3d\n-----END PGP PRIVATE KEY BLOCK-----",
                "lQVYBGWFjJr5b5YUDNrNvE7yuSBZoghNoBafRvl6fJ2gQ"},
            new String[] {"DefaultEndpointsProtocol=https;AccountName=prodstore;AccountKey=pU3KGCUwux1tEyze1iN7LtkeP3IfyxlxF0SU1kk8nVw0YL4xIB5p/tqg7ui5mX9cfCmZ/a/lkyU81lSvTfrXFA==;EndpointSuffix=core.windows.net",
                "pU3KGCUwux1tEyze1iN7LtkeP3"},
            new String[] {"machine api.example.com login deploy password Tr0ub4dor&3xyz", "Tr0ub4dor&3xyz"},
            new String[] {"machine git.example.com\n  login alice\n  password hunter2-but-longer\n", "hunter2-but-longer"},
            new String[] {"> GET /v1/items HTTP/1.1\n> x-api-key: JA76rNicHTp8hkqdlm7tOtHWnsCGRlrwZbqcabUG\n", "JA76rNicHTp8hkqdlm7tOtHWnsCGRlrwZbqcabUG"},
            new String[] {"{\n  \"auths\": {\n    \"registry.example.com\": {\n      \"auth\": \"Y2ktYm90OkptR0VwN0NnUTBQQlFGSTE0ekd0U25vdg==\"\n    }\n  }\n}",
                "Y2ktYm90OkptR0VwN0NnUTBQQlFGSTE0ekd0U25vdg=="},
            new String[] {"huggingface-cli login --token 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", "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"},
            new String[] {"using 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 for mail", "J1TWDtkwtDDb-xHKas1VOqg6YYZYn9ZhyiA4uoRgnat"},
            new String[] {"Key                  Value\ntoken                hvs.mUdjAWtGSU8po_799NksnRH9ucAUsdMlHUvTCQCyEZDz-TddJ8HyS5SUkCnD8zRA9a9SkpXz9w3QlY7Zkuvqdt7s8S",
                "mUdjAWtGSU8po_799NksnRH9"},
            new String[] {"twine upload -u __token__ -p pypi-AgEIcHlwaS5vcmctqcbnr3yBdGBLEPH1qhT61qtc4xatws8phP9nhFyJfm5di4PzJ59FHz5r1pY4OjE2jBMpt dist/*",
                "AgEIcHlwaS5vcmctqcbnr3yBdGBLEPH1qhT61qtc4xatws8phP9nhFyJfm5di4PzJ59FHz5r1pY4OjE2jBMpt"},
            new String[] {"doctl auth init -t dop_v1_b484e73cf575dcad6ba2b0aee0ca923732881584d8c4fa2815d2802827283e0a", "b484e73cf575dcad6ba2b0aee0ca9237"},
            new String[] {"db:\n  password: \"correct horse battery staple\"\n", "correct horse battery staple"},
            new String[] {"[client]\npassword = my very secret pass phrase\n", "my very secret pass phrase"},
            new String[] {"client = Anthropic(api_key='sk-ant-api03-zrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNBTxaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcDkdfrUnW5gcF_Ha6ili8GjHEAD6AA')",
                "zrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNBTxaQWk8JzFalHlsZf"},
            new String[] {"SLACK_APP=xapp-1-A05YE4SCMEJ-5449920707413-f99eee3692f09e2e8c662248b483b7ffc050fec94dbca3a0aac36098b2cc2bd8",
                "f99eee3692f09e2e8c662248b483b7ffc050fec94dbca3a0aac36098b2cc2bd8"},
            new String[] {"shopify store auth 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", "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"},
            new String[] {"twilio api:core --api-key SK8c79fc35526f7eaed46725a2a7b860dc", "SK8c79fc35526f7eaed46725a2a7b860dc"},
            new String[] {"gitlab-runner register --token glrt-0AWIRh-JUqBlIFXZ53Nc", "glrt-0AWIRh-JUqBlIFXZ53Nc"},
            new String[] {"doppler configure set token dp.pt.icBTW5ZE9LFaez7770H2DCpYgojjHRg80USP2W5DfJX", "icBTW5ZE9LFaez7770H2DCpYgojjHRg80USP2W5DfJX"},
            new String[] {"Authorization: lin_api_caYioK6cPTt9iOqHOBSWhgetH8LmyqoYMaaItDr9", "caYioK6cPTt9iOqHOBSWhgetH8LmyqoYMaaItDr9"},
            new String[] {"postman login --with-api-key PMAK-a7f770d9106fd287db7f1adb-c60926f6967e7893f57fd14c1604d115ce", "c60926f6967e7893f57fd14c1604d115ce"},
            new String[] {"databricks configure --token dapia325a65e19cbae530282bd36cb9d21f6", "a325a65e19cbae530282bd36cb9d21f6"},
            new String[] {"# created: 2024-01-01\nAGE-SECRET-KEY-1HUV5H7P60EZCZAYRSVY4H34ZS53NQYPWX7ACSMLGLTQNF055AH9VE206YZ", "HUV5H7P60EZCZAYRSVY4H34ZS53NQYPWX7"});

    @Test
    void theTwentyThreePlainFormatsOfTheFindingAreRedacted() {
        assertEquals(23, PLAIN_FORMATS.size());
        for (String[] f : PLAIN_FORMATS) {
            Sanitizer.Clean c = clean(f[0]);
            assertFalse(c.text().contains(f[1]), "leaked: " + c.text());
            assertTrue(c.redactions() >= 1, c.text());
            assertTrue(c.text().contains(Sanitizer.REDACTED), c.text());
        }
    }

    @Test
    void onlyTheSecretIsRedactedNotItsLine() {
        assertEquals("db:\n  password: \"[REDACTED]\"\n", clean("db:\n  password: \"correct horse battery staple\"\n").text());
        assertEquals("machine api.example.com login deploy password [REDACTED]",
                clean("machine api.example.com login deploy password Tr0ub4dor&3xyz").text());
        assertEquals("> x-api-key: [REDACTED]\n", clean("> x-api-key: JA76rNicHTp8hkqdlm7tOtHWnsCGRlrwZbqcabUG\n").text());
        Sanitizer.Clean c = clean("DefaultEndpointsProtocol=https;AccountName=prodstore;AccountKey=pU3KGCUwux1tEyze1iN7LtkeP3IfyxlxF0SU1kk8nVw0YL4xIB5p/tqg7ui5mX9cfCmZ/a/lkyU81lSvTfrXFA==;EndpointSuffix=core.windows.net");
        assertEquals("DefaultEndpointsProtocol=https;AccountName=prodstore;AccountKey=[REDACTED];EndpointSuffix=core.windows.net", c.text());
        assertEquals(1, c.redactions());
    }

    @Test
    void aTruncatedPrivateKeyIsRedactedToTheEnd() {
        Sanitizer.Clean c = clean("key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDc");
        assertEquals("key:\n[REDACTED]", c.text());
        assertEquals(1, c.redactions());
    }

    @Test
    void ordinaryProgramOutputIsNotRedacted() {
        List<String> outputs = List.of(
                """
                Traceback (most recent call last):
                  File "/workspace/app.py", line 42, in <module>
                    main(token_file="tokens.txt", api_key_env="API_KEY")
                  File "/workspace/app.py", line 17, in main
                    raise KeyError(f"missing key {name!r} in config")
                KeyError: "missing key 'secret_name' in config"
                """,
                """
                total 48
                drwxr-xr-x  5 agent agent 4096 Mar  3 10:12 .
                -rw-r--r--  1 agent agent 1832 Mar  3 10:11 credentials.example.json
                -rw-------  1 agent agent  411 Mar  3 10:11 id_ed25519.pub
                -rwxr-xr-x  1 agent agent 9120 Mar  3 10:12 rotate-secrets.sh
                lrwxrwxrwx  1 agent agent   11 Mar  3 10:12 passwords -> /dev/null
                """,
                """
                commit 8411334c1f0e9b2d7a6c5e4f3a2b1c0d9e8f7a6b
                Author: Ada Lovelace <ada@example.com>
                Date:   Tue Mar 3 10:12:44 2026 +0000

                    Rotate the API token handling; the auth key now comes from the keyring
                """,
                """
                {"id": 1234, "name": "build", "status": "passed", "key": "build-linux-x64", "duration_ms": 5321,
                 "tokenizer": "cl100k_base", "auth_method": "oidc", "access": "read-only", "secret_ref": null,
                 "password_policy": {"min_length": 12, "require_symbols": true}}
                """,
                """
                <img alt="dot" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==">
                """,
                """
                $ npm test
                > app@1.0.0 test
                > jest --coverage
                PASS src/auth.test.js
                  ✓ rejects a missing token (3 ms)
                  ✓ hashes the password with bcrypt (41 ms)
                Tests: 2 passed, 2 total
                """);
        for (String out : outputs) {
            Sanitizer.Clean c = clean(out);
            assertEquals(out, c.text());
            assertEquals(0, c.redactions(), c.text());
        }
    }

    @Test
    void gitleaksFalsePositivesAreNotRedacted() {
        for (String fp : List.of(
                "msgstr \"Näytä asiakirjamallikansio.\"",
                "TODAYINASIAASACKOFRICEFELLOVER",
                "- (id)hf_requiredCharacteristicTypesForDisplayMetadata;",
                "const api_org_controller = require('../../controllers/api/index').organizations;",
                "public static final String API_ORG_EXIST = \"APIOrganizationExist\";")) {
            Sanitizer.Clean c = clean(fp);
            assertEquals(fp, c.text());
            assertEquals(0, c.redactions());
        }
    }
}
