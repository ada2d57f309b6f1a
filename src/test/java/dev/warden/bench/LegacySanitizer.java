package dev.warden.bench;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns raw program output into text safe to hand to a model and a terminal: valid UTF-8, no escape
 * sequences or control characters (which can rewrite what a person sees), secrets replaced by
 * {@code [REDACTED]}, host paths of the server replaced by what the program should see.
 */
/** The sanitizer as it was before the gitleaks ruleset (git 8411334), kept for bench/run.sh --sanitizer to compare against. */
final class LegacySanitizer {

    public static final String REDACTED = "[REDACTED]";

    /** Text and how many secrets were taken out of it. */
    public record Clean(String text, int redactions) {
    }

    // ESC [ ... final, ESC ] ... BEL|ST, ESC P/X/^/_ ... ST, and two-byte ESC sequences.
    private static final Pattern ESCAPES = Pattern.compile(
            "\u001B\\[[0-?]*[ -/]*[@-~]|\u001B\\][^\u0007\u001B]*(?:\u0007|\u001B\\\\)?|\u001B[PX^_][^\u001B]*(?:\u001B\\\\)?|\u001B[@-Z\\\\-_]|\u009B[0-?]*[ -/]*[@-~]");
    // C0 but tab and newline, DEL, C1, bidi overrides and isolates (they reorder what a reader sees).
    private static final Pattern CONTROLS = Pattern.compile("[\\x00-\\x08\\x0B-\\x1F\\x7F\\x80-\\x9F\\u202A-\\u202E\\u2066-\\u2069]");

    private static final List<Pattern> SECRET_PATTERNS = List.of(
            Pattern.compile("-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\\s\\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\\z)"),
            Pattern.compile("\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\\b"),
            Pattern.compile("\\bgh[pousr]_[A-Za-z0-9]{36,255}\\b"),
            Pattern.compile("\\bgithub_pat_[A-Za-z0-9_]{22,255}\\b"),
            Pattern.compile("\\bglpat-[A-Za-z0-9_-]{20,}\\b"),
            Pattern.compile("\\bxox[abposr]-[A-Za-z0-9-]{10,}\\b"),
            Pattern.compile("\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\b"),
            Pattern.compile("\\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}\\b"),
            Pattern.compile("\\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\\b"),
            Pattern.compile("\\bAIza[0-9A-Za-z_-]{35}\\b"),
            Pattern.compile("https://hooks\\.slack\\.com/services/[A-Za-z0-9/_-]+"),
            Pattern.compile("\\bnpm_[A-Za-z0-9]{36}\\b"),
            Pattern.compile("(?i)(?<=\\bauthorization:\\s{0,4}(?:bearer|basic|token)\\s{1,4})[A-Za-z0-9._~+/=-]{12,}"));
    // Only the secret part is replaced: the scheme and user, or the variable name, stay readable.
    private static final Pattern URL_PASSWORD = Pattern.compile("\\b([a-zA-Z][a-zA-Z0-9+.-]*://[^/\\s:@]+:)([^@\\s/]+)(@)");
    private static final Pattern SECRET_ASSIGNMENT = Pattern.compile(
            "(?i)\\b([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)[A-Z0-9_]*[\"']?\\s*[=:]\\s*[\"']?)([^\\s\"']{4,})");

    private final List<String> literalSecrets;
    private final Map<String, String> pathRewrites;

    /**
     * @param literalSecrets exact values to redact wherever they appear (the server's own secrets)
     * @param pathRewrites host path prefix to what replaces it, longest first when applied
     */
    LegacySanitizer(List<String> literalSecrets, Map<String, String> pathRewrites) {
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
        text = ESCAPES.matcher(text).replaceAll("");
        text = text.replace("\r\n", "\n");
        text = CONTROLS.matcher(text).replaceAll("");
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
        for (Pattern p : SECRET_PATTERNS) {
            text = replace(p, text, m -> REDACTED, count);
        }
        text = replace(URL_PASSWORD, text, m -> m.group(1) + REDACTED + m.group(3), count);
        text = replace(SECRET_ASSIGNMENT, text,
                m -> m.group(2).equals(REDACTED) ? m.group() : m.group(1) + REDACTED, count);
        return new Clean(text, count[0]);
    }

    /** Scrubs a message of Warden's own (never program output) of host paths; no redaction count. */
    public String message(String text) {
        return clean(text.getBytes(StandardCharsets.UTF_8)).text();
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

    private static String replace(Pattern p, String text, java.util.function.Function<Matcher, String> with, int[] count) {
        Matcher m = p.matcher(text);
        StringBuilder sb = null;
        while (m.find()) {
            String replacement = with.apply(m);
            if (replacement.equals(m.group())) {
                continue;
            }
            if (sb == null) {
                sb = new StringBuilder(text.length());
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(replacement));
            count[0]++;
        }
        if (sb == null) {
            return text;
        }
        m.appendTail(sb);
        return sb.toString();
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
