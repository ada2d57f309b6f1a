package dev.warden.approval;

import dev.warden.sanitize.Sanitizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Text an agent wrote (a held command, code, an action and its reason) as a person deciding on it is
 * shown it, the same on every channel (elicitation, operator page and API, CLI). {@code exact} is
 * what runs, never redacted and never cut: an approval of a redacted or shortened text approves
 * something nobody saw ({@code API_TOKEN=x;rm${IFS}-rf${IFS}.git;echo make test} redacted reads
 * {@code API_TOKEN=[REDACTED] make test}). {@code display} is the exact text with every invisible,
 * bidirectional or control character replaced by a visible escape ({@code \u202E}), since such a
 * character can make the text read differently from what runs. {@code escaped} counts each such
 * character by its escape; {@code secrets} names what looks like a secret ({@code API_TOKEN=…}),
 * which the person sees in full and is warned about. A pure function of the text.
 */
public record AgentText(String exact, String display, int chars, int lines, Map<String, Integer> escaped,
        List<String> secrets) {

    /** Where the CLI wraps a line (in visible characters); it never cuts. */
    public static final int WRAP = 100;

    public AgentText {
        escaped = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(escaped));
        secrets = List.copyOf(secrets);
    }

    public static AgentText of(String exact) {
        String s = exact == null ? "" : exact;
        Map<String, Integer> escaped = new LinkedHashMap<>();
        s.codePoints().filter(cp -> hidden(cp, false)).forEach(cp -> escaped.merge(escape(cp), 1, Integer::sum));
        long newlines = s.chars().filter(c -> c == '\n').count();
        int lines = s.isEmpty() ? 0 : (int) (newlines + (s.endsWith("\n") ? 0 : 1));
        return new AgentText(s, visible(s), s.codePointCount(0, s.length()), lines, escaped, Sanitizer.likelySecrets(s));
    }

    /**
     * The text with each invisible, bidirectional or control character (newline and tab excepted)
     * replaced by its escape, {@code \u202E} or {@code \U000E0041}: the raw character is gone.
     */
    public static String visible(String s) {
        return render(s, false);
    }

    /** As {@link #visible}, and newline and tab escaped too: for a field that must stay one line. */
    public static String visibleLine(String s) {
        return s == null ? null : render(s, true);
    }

    private static String render(String s, boolean oneLine) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        s.codePoints().forEach(cp -> {
            if (hidden(cp, oneLine)) {
                b.append(escape(cp));
            }
            else {
                b.appendCodePoint(cp);
            }
        });
        return b.toString();
    }

    /**
     * Whether a reader would not see this character for what it is: C0 and C1 controls (a carriage
     * return rewrites a terminal line), format characters (bidi embeddings, overrides and isolates
     * U+202A–U+202E and U+2066–U+2069 reorder what is read; zero-width characters, U+FEFF, the soft
     * hyphen, tag characters hide text), line and paragraph separators, spaces other than the space
     * (a no-break space looks like one but is part of a word to the shell), lone surrogates, private
     * use and unassigned code points, and the invisible fillers and variation selectors that have
     * other categories.
     */
    static boolean hidden(int cp, boolean oneLine) {
        if (cp == '\n' || cp == '\t') {
            return oneLine;
        }
        switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                    Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> {
                return true;
            }
            case Character.SPACE_SEPARATOR -> {
                return cp != ' ';
            }
            default -> {
                return cp == 0x034F || cp == 0x115F || cp == 0x1160 || cp == 0x17B4 || cp == 0x17B5
                        || (cp >= 0x180B && cp <= 0x180F) || cp == 0x2800 || cp == 0x3164 || cp == 0xFFA0
                        || (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF);
            }
        }
    }

    static String escape(int cp) {
        return cp <= 0xFFFF ? String.format("\\u%04X", cp) : String.format("\\U%08X", cp);
    }

    /** A markdown code fence this text cannot close: more backticks than its longest run (at least 3). */
    public String fence() {
        int longest = 0;
        int run = 0;
        for (int i = 0; i < display.length(); i++) {
            run = display.charAt(i) == '`' ? run + 1 : 0;
            longest = Math.max(longest, run);
        }
        return "`".repeat(Math.max(3, longest + 1));
    }

    /** The display form in a fenced block it cannot close. */
    public String fenced() {
        String f = fence();
        return f + "\n" + display + (display.endsWith("\n") ? "" : "\n") + f;
    }

    /**
     * What a person must know besides the text, in sentences every channel shows: its size, what
     * looks like a secret in it, and which characters are shown as escapes.
     */
    public List<String> notes() {
        List<String> n = new ArrayList<>();
        n.add(chars + (chars == 1 ? " character" : " characters") + " on " + lines + (lines == 1 ? " line" : " lines")
                + ", shown in full (nothing redacted or cut)");
        if (!secrets.isEmpty()) {
            n.add("contains what looks like a secret: " + String.join(", ", secrets.stream().map(AgentText::visibleLine)
                .toList()) + " (shown unredacted: check it before approving)");
        }
        if (!escaped.isEmpty()) {
            List<String> each = new ArrayList<>();
            escaped.forEach((esc, count) -> {
                int cp = Integer.parseInt(esc.substring(2), 16);
                String name = Character.getName(cp);
                each.add(esc + " (" + (name == null ? "unassigned" : name) + ")" + (count > 1 ? " ×" + count : ""));
            });
            int total = escaped.values().stream().mapToInt(Integer::intValue).sum();
            n.add("contains " + total + (total == 1 ? " invisible, bidirectional or control character, shown as an escape"
                    : " invisible, bidirectional or control characters, shown as escapes")
                    + " in place of the raw character: " + String.join(", ", each));
        }
        return n;
    }

    /**
     * The display form as a block for a terminal: every line prefixed with {@code │ }, a line longer
     * than {@code width} wrapped (never cut) with its continuations prefixed {@code ╎ }, an escape
     * never split. Text the agent wrote cannot reach the start of a line.
     */
    public List<String> block(int width) {
        List<String> out = new ArrayList<>();
        for (String line : exact.split("\n", -1)) {
            StringBuilder cur = new StringBuilder("│ ");
            int used = 0;
            for (int cp : line.codePoints().toArray()) {
                String token = hidden(cp, false) ? escape(cp) : new String(Character.toChars(cp));
                int w = hidden(cp, false) ? token.length() : 1;
                if (used > 0 && used + w > width) {
                    out.add(cur.toString());
                    cur = new StringBuilder("╎ ");
                    used = 0;
                }
                cur.append(token);
                used += w;
            }
            out.add(cur.toString());
        }
        if (out.size() > 1 && exact.endsWith("\n")) {
            out.remove(out.size() - 1); // the final newline ends the last line; it is not an empty one
        }
        return out;
    }
}
