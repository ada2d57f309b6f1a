package dev.warden.sanitize;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns raw program output into text safe to hand to a model and a terminal: valid UTF-8, no escape
 * sequences or control characters (which can rewrite what a person sees), secrets replaced by
 * {@code [REDACTED]}, host paths of the server replaced by what the program should see.
 */
public final class Sanitizer {

    public static final String REDACTED = "[REDACTED]";

    /** Text and how many secrets were taken out of it. */
    public record Clean(String text, int redactions) {
    }

    // ESC [ ... final, ESC ] ... BEL|ST, ESC P/X/^/_ ... ST, and two-byte ESC sequences.
    private static final Pattern ESCAPES = Pattern.compile(
            "\u001B\\[[0-?]*[ -/]*[@-~]|\u001B\\][^\u0007\u001B]*(?:\u0007|\u001B\\\\)?|\u001B[PX^_][^\u001B]*(?:\u001B\\\\)?|\u001B[@-Z\\\\-_]|\u009B[0-?]*[ -/]*[@-~]");
    // C0 but tab and newline, DEL, C1, bidi overrides and isolates (they reorder what a reader sees).
    private static final Pattern CONTROLS = Pattern.compile("[\\x00-\\x08\\x0B-\\x1F\\x7F\\x80-\\x9F\\u202A-\\u202E\\u2066-\\u2069]");

    // Warden's own rules, beside the gitleaks ones: the formats it has always redacted (whole PEM blocks,
    // AWS example keys gitleaks allowlists, NAME=value assignments, URL passwords) and plain formats
    // gitleaks leaves to file-path rules or does not cover (.netrc, API-key headers, Docker auth,
    // Azure connection strings, quoted passwords with spaces).
    // What NAME=value rules let through: an UPPER_SNAKE variable name, $VAR or ${VAR}, a file name,
    // a literal of a language (api_key_env="API_KEY", token_file="tokens.txt", password = None).
    private static final Pattern NOT_A_VALUE = Pattern.compile(
            "^(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|\\$\\{?\\w+\\}?|[\\w-]+\\.(?:txt|json|ya?ml|toml|ini|cfg|conf|env|pem|key|crt|log|py|js|ts|sh)"
                    + "|(?i:true|false|null|none|nil|undefined)[,;]?)$");

    static final List<SecretRule> WARDEN_RULES = List.of(
            SecretRule.of("warden.private-key",
                    "-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\\s\\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\\z)", 0,
                    "-----begin "),
            SecretRule.of("warden.aws-key-id", "\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\\b", 0,
                    "akia", "asia", "agpa", "aida", "aroa", "anpa"),
            SecretRule.of("warden.github", "\\bgh[pousr]_[A-Za-z0-9]{36,255}\\b", 0, "ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
            SecretRule.of("warden.github-pat", "\\bgithub_pat_[A-Za-z0-9_]{22,255}\\b", 0, "github_pat_"),
            SecretRule.of("warden.gitlab", "\\bglpat-[A-Za-z0-9_-]{20,}\\b", 0, "glpat-"),
            SecretRule.of("warden.slack", "\\bxox[abposr]-[A-Za-z0-9-]{10,}\\b", 0, "xox"),
            SecretRule.of("warden.jwt", "\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\b", 0, "eyj"),
            SecretRule.of("warden.openai-anthropic", "\\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}\\b", 0, "sk-"),
            SecretRule.of("warden.stripe", "\\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\\b", 0,
                    "sk_live_", "sk_test_", "rk_live_", "rk_test_"),
            SecretRule.of("warden.google-api-key", "\\bAIza[0-9A-Za-z_-]{35}\\b", 0, "aiza"),
            SecretRule.of("warden.slack-webhook", "https://hooks\\.slack\\.com/services/[A-Za-z0-9/_-]+", 0, "https://hooks.slack.com"),
            SecretRule.of("warden.npm", "\\bnpm_[A-Za-z0-9]{36}\\b", 0, "npm_"),
            SecretRule.of("warden.authorization",
                    "(?i)\\bauthorization:\\s{0,4}(?:bearer|basic|token)\\s{1,4}([A-Za-z0-9._~+/=-]{12,})", 1, "authorization"),
            // Only the secret part is replaced: the scheme and user, or the variable name, stay readable.
            SecretRule.of("warden.url-password", "(?<=\\b[a-zA-Z][a-zA-Z0-9+.-]{0,30})://[^/\\s:@]+:([^@\\s/]+)@", 1, "://"),
            // the name may go on after the keyword only after an underscore: TOKEN_FILE, not TOKENIZER
            SecretRule.of("warden.assignment",
                    "(?i)(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)S?(?:_[A-Z0-9_]*)?[\"']?\\s*[=:]\\s*[\"']?([^\\s\"']{4,})",
                    1, NOT_A_VALUE, "password", "passwd", "secret", "token", "apikey", "api_key", "accesskey", "access_key",
                    "privatekey", "private_key", "credential"),
            // a quoted password may hold spaces: password: "correct horse battery staple"
            SecretRule.of("warden.quoted-password",
                    "(?i)(?:password|passwd|passphrase|pwd|secret)[\\w.-]*[\"']?[ \\t]*[=:][ \\t]*(?:\"([^\"\\n]{1,256})\"|'([^'\\n]{1,256})')",
                    0, NOT_A_VALUE, "password", "passwd", "passphrase", "pwd", "secret"),
            // YAML and INI write it unquoted, to the end of the line
            SecretRule.of("warden.line-password",
                    "(?im)(?<=^[ \\t-]{0,40}[\\w.-]{0,80})(?:password|passwd|passphrase)[\\w.-]*[ \\t]*[:=][ \\t]*([^\\s\"'][^\\n]*?)[ \\t]*$",
                    1, NOT_A_VALUE, "password", "passwd", "passphrase"),
            // .netrc: machine host login user password secret (one line or several)
            SecretRule.of("warden.netrc",
                    "(?i)\\b(?:machine|default|login)\\s+(?:\\S+\\s+){0,3}?password\\s+(\\S+)", 1, "machine", "default", "login"),
            SecretRule.of("warden.api-key-header",
                    "(?i)\\b(?:x-api-key|x-apikey|api-key|apikey|x-auth-token|x-access-token|private-token|x-goog-api-key"
                            + "|ocp-apim-subscription-key|x-vault-token|x-functions-key|x-shopify-access-token)[\"']?[ \\t]*:[ \\t]*[\"']?([^\\s\"',;]{8,})",
                    1, "x-api-key", "x-apikey", "api-key", "apikey", "x-auth-token", "x-access-token", "private-token",
                    "x-goog-api-key", "ocp-apim-subscription-key", "x-vault-token", "x-functions-key", "x-shopify-access-token"),
            // ~/.docker/config.json: "auth" is base64 of user:password
            SecretRule.of("warden.docker-auth", "\"(?:auth|identitytoken|registrytoken)\"\\s*:\\s*\"([^\"\\s]{8,})\"", 1,
                    "\"auth\"", "\"identitytoken\"", "\"registrytoken\""),
            // Azure storage and service bus connection strings, SAS signatures
            SecretRule.of("warden.azure-key",
                    "(?i)\\b(?:AccountKey|SharedAccessKey|sig)=([A-Za-z0-9+/%]{16,}(?:={1,2}|%3D){0,2})", 1,
                    "accountkey=", "sharedaccesskey=", "sig="));

    /** The gitleaks default rules plus Warden's own, compiled once for every Sanitizer. */
    static final SecretRuleset RULES = SecretRuleset.gitleaks(SecretRuleset.GITLEAKS, WARDEN_RULES);

    private final List<String> literalSecrets;
    private final Map<String, String> pathRewrites;

    /**
     * @param literalSecrets exact values to redact wherever they appear (the server's own secrets)
     * @param pathRewrites host path prefix to what replaces it, longest first when applied
     */
    public Sanitizer(List<String> literalSecrets, Map<String, String> pathRewrites) {
        List<String> secrets = new ArrayList<>(literalSecrets.stream().filter(s -> s != null && s.length() >= 8).toList());
        secrets.sort(Comparator.comparingInt(String::length).reversed());
        this.literalSecrets = List.copyOf(secrets);
        this.pathRewrites = Map.copyOf(pathRewrites);
    }

    public Clean clean(byte[] raw) {
        return clean(raw, Map.of());
    }

    /** @param extraRewrites per-call host paths (the session workspace) to rewrite as well */
    public Clean clean(byte[] raw, Map<String, String> extraRewrites) {
        String text = decode(raw);
        if (hasControls(text)) {
            text = ESCAPES.matcher(text).replaceAll("");
            text = text.replace("\r\n", "\n");
            text = CONTROLS.matcher(text).replaceAll("");
        }
        text = rewritePaths(text, extraRewrites);
        text = rewritePaths(text, pathRewrites);
        int[] count = {0};
        for (String secret : literalSecrets) {
            int idx;
            while ((idx = text.indexOf(secret)) >= 0) {
                text = text.substring(0, idx) + REDACTED + text.substring(idx + secret.length());
                count[0]++;
            }
        }
        text = redact(text, count);
        return new Clean(text, count[0]);
    }

    /** Scrubs a message of Warden's own (never program output) of host paths; no redaction count. */
    public String message(String text) {
        return clean(text.getBytes(StandardCharsets.UTF_8)).text();
    }

    /**
     * What in {@code text} looks like a secret, each as a hint that names it without its value
     * ({@code API_TOKEN=…}, {@code ghp_…}). For an approval, which shows the exact text unredacted
     * (a person must see what runs) and marks what the redactor would have taken out.
     */
    public static List<String> likelySecrets(String text) {
        List<int[]> spans = new ArrayList<>();
        RULES.find(text, spans);
        List<String> hints = new ArrayList<>();
        for (int[] span : spans) {
            int from = span[0];
            // the name or prefix in front of the secret (API_TOKEN=, https://bob:), never the secret itself
            while (from > 0 && span[0] - from < 30 && " \t\n;\"'`(,".indexOf(text.charAt(from - 1)) < 0) {
                from--;
            }
            String secret = text.substring(span[0], span[1]);
            String hint = from < span[0] ? text.substring(from, span[0]) + "…"
                    : secret.startsWith("-----BEGIN") && secret.indexOf('\n') > 0
                            ? secret.substring(0, secret.indexOf('\n')) + "…"
                            : secret.substring(0, Math.min(4, secret.length() / 3)) + "…";
            if (span[1] < text.length() && text.charAt(span[1]) == '@') {
                hint += "@";
            }
            hints.add(hint);
        }
        return hints.stream().distinct().toList();
    }

    private static String rewritePaths(String text, Map<String, String> rewrites) {
        if (rewrites.isEmpty()) {
            return text;
        }
        List<Map.Entry<String, String>> ordered = new ArrayList<>(rewrites.entrySet());
        ordered.sort(Comparator.comparingInt((Map.Entry<String, String> e) -> e.getKey().length()).reversed());
        for (Map.Entry<String, String> e : ordered) {
            if (!e.getKey().isEmpty()) {
                text = text.replace(e.getKey(), e.getValue());
            }
        }
        return text;
    }

    /**
     * Replaces every secret the rules find with {@link #REDACTED}. Overlapping finds (a token that both a
     * gitleaks rule and an assignment rule see) are one redaction; what lies inside an earlier
     * {@code [REDACTED]} is not found again.
     */
    private static String redact(String text, int[] count) {
        List<int[]> spans = new ArrayList<>();
        RULES.find(text, spans);
        if (spans.isEmpty()) {
            return text;
        }
        List<int[]> done = new ArrayList<>();
        for (int i = text.indexOf(REDACTED); i >= 0; i = text.indexOf(REDACTED, i + REDACTED.length())) {
            done.add(new int[] {i, i + REDACTED.length()});
        }
        spans.sort(Comparator.<int[]>comparingInt(s -> s[0]).thenComparingInt(s -> -s[1]));
        StringBuilder sb = new StringBuilder(text.length());
        int at = 0; // text before this is written or redacted
        int d = 0;
        for (int[] span : spans) {
            if (span[1] <= at) {
                continue; // inside the previous redaction
            }
            while (d < done.size() && done.get(d)[1] <= span[0]) {
                d++;
            }
            if (d < done.size() && done.get(d)[0] <= span[0] && span[1] <= done.get(d)[1]) {
                continue; // an earlier [REDACTED]
            }
            if (span[0] < at) {
                at = span[1]; // overlaps the previous redaction, which grows: still one
                continue;
            }
            sb.append(text, at, span[0]).append(REDACTED);
            count[0]++;
            at = span[1];
        }
        sb.append(text, at, text.length());
        return sb.toString();
    }

    /** Whether the text has anything ESCAPES or CONTROLS would remove; most output has not. */
    private static boolean hasControls(String text) {
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (c < 0x20 ? c != '\n' && c != '\t' : c >= 0x7F && (c <= 0x9F || c >= 0x202A && c <= 0x202E || c >= 0x2066 && c <= 0x2069)) {
                return true;
            }
        }
        return false;
    }

    private static String decode(byte[] raw) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
        try {
            return d.decode(ByteBuffer.wrap(raw)).toString();
        }
        catch (CharacterCodingException e) {
            return new String(raw, StandardCharsets.UTF_8); // unreachable with REPLACE
        }
    }
}
