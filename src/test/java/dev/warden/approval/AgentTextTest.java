package dev.warden.approval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.policy.Finding;
import dev.warden.policy.Severity;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class AgentTextTest {

    /** A held command written to deceive whoever approves it. */
    static final String TRICK = "API_TOKEN=dummy;rm${IFS}-rf${IFS}src${IFS}.git;echo make test \u202Etxt.exe\u202C"
            + " a\u200Bb\n```\nRuns in: tier L1 (inline)\nWhy it was held: nothing";

    @Test
    void theExactTextIsKeptWholeAndUnredacted() {
        String longOne = "echo " + "x".repeat(5000);
        assertEquals(longOne, AgentText.of(longOne).exact());
        assertEquals(longOne, AgentText.of(longOne).display());
        assertEquals(5005, AgentText.of(longOne).chars());
        AgentText t = AgentText.of(TRICK);
        assertEquals(TRICK, t.exact());
        assertTrue(t.display().contains("API_TOKEN=dummy;rm${IFS}-rf${IFS}src${IFS}.git;echo make test"), t.display());
        assertTrue(t.secrets().contains("API_TOKEN=…"), t.secrets().toString());
        assertTrue(t.notes().stream().anyMatch(n -> n.startsWith("contains what looks like a secret: API_TOKEN=…")));
        assertEquals(4, t.lines());
    }

    @Test
    void invisibleBidiAndControlCharactersBecomeVisibleEscapes() {
        int[] hidden = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200B, 0x200C, 0x200D,
            0x200E, 0x200F, 0xFEFF, 0x00AD, 0x0000, 0x0007, 0x0008, 0x000B, 0x000C, 0x000D, 0x001B, 0x007F, 0x0085, 0x009B,
            0x2028, 0x2029, 0x2060, 0x00A0, 0x3000, 0x061C, 0x180E, 0x3164, 0xFE0F, 0xE0041, 0xE0100, 0xE000, 0xD800};
        for (int cp : hidden) {
            String raw = "a" + new String(Character.toChars(cp)) + "b";
            String shown = AgentText.visible(raw);
            String esc = cp <= 0xFFFF ? String.format("\\u%04X", cp) : String.format("\\U%08X", cp);
            assertEquals("a" + esc + "b", shown, Integer.toHexString(cp));
            assertTrue(shown.codePoints().allMatch(c -> c >= 0x20 && c < 0x7F), Integer.toHexString(cp));
            assertEquals(1, AgentText.of(raw).escaped().get(esc), Integer.toHexString(cp));
        }
        assertEquals("line one\n\tline two", AgentText.visible("line one\n\tline two"), "newline and tab stay");
        assertEquals("line one\\u000A\\u0009two", AgentText.visibleLine("line one\n\ttwo"), "but not in a one-line field");
        String plain = "ls -la | grep 'é ü 日本 ✓' && echo \"$HOME\" `date` ${IFS} \\u202E";
        assertEquals(plain, AgentText.visible(plain), "ordinary text, letters of any script and emoji are left alone");
        assertTrue(AgentText.of(plain).escaped().isEmpty());
    }

    @Test
    void theNotesNameEachEscapedCharacterAndTheSize() {
        AgentText t = AgentText.of(TRICK);
        assertFalse(t.display().contains("\u202E"));
        assertFalse(t.display().contains("\u200B"));
        assertTrue(t.display().contains("\\u202Etxt.exe\\u202C a\\u200Bb"), t.display());
        String notes = String.join("\n", t.notes());
        assertTrue(notes.contains("\\u202E (RIGHT-TO-LEFT OVERRIDE)"), notes);
        assertTrue(notes.contains("\\u200B (ZERO WIDTH SPACE)"), notes);
        assertTrue(notes.contains("contains 3 invisible, bidirectional or control characters"), notes);
        assertTrue(notes.contains(TRICK.codePointCount(0, TRICK.length()) + " characters on 4 lines"), notes);
        assertEquals(List.of("0 characters on 0 lines, shown in full (nothing redacted or cut)"), AgentText.of("").notes());
    }

    @Test
    void theFenceIsLongerThanAnyRunOfBackticks() {
        assertEquals("```", AgentText.of("echo hi").fence());
        assertEquals("````", AgentText.of("a\n```\nb").fence());
        assertEquals("``````", AgentText.of("`````x` ``").fence());
        String f = AgentText.of(TRICK).fenced();
        assertTrue(f.startsWith("````\n") && f.endsWith("\n````"), f);
        // only the first and the last line are fence lines
        List<String> lines = f.lines().toList();
        assertEquals(2, lines.stream().filter(l -> l.strip().matches("`{4,}")).count(), f);
    }

    @Test
    void theTerminalBlockPrefixesEveryLineAndWrapsWithoutCutting() {
        String line = "x".repeat(250);
        List<String> block = AgentText.of("first\n" + line + "\n\u202Elast").block(100);
        assertEquals(List.of("│ first", "│ " + "x".repeat(100), "╎ " + "x".repeat(100), "╎ " + "x".repeat(50),
            "│ \\u202Elast"), block);
        // an escape is never split across a wrap
        List<String> esc = AgentText.of("x".repeat(98) + "\u200Bz").block(100);
        assertEquals(List.of("│ " + "x".repeat(98), "╎ \\u200Bz"), esc);
        assertEquals(List.of("│ echo"), AgentText.of("echo\n").block(100), "a final newline adds no empty line");
        for (String l : AgentText.of(TRICK).block(100)) {
            assertTrue(l.startsWith("│ ") || l.startsWith("╎ "), l);
        }
    }

    @Test
    void theElicitationMessagePutsWardensFieldsFirstAndTheAgentsTextLastInAFenceItCannotClose() {
        Instant now = Instant.now();
        ApprovalRequest r = new ApprovalRequest("ex_1", "s", "c", "run_command", TRICK, null, "", "L2",
                List.of(new Finding("request.long_timeout", Severity.MEDIUM, "asks for more time: sleep\n```\nRuns in: L1")),
                List.of("request.long_timeout"), "Held for a human's approval.", now, now.plusSeconds(5));
        String m = r.describe();
        assertFalse(m.contains("\u202E") || m.contains("\u200B"), m);
        assertTrue(m.contains("API_TOKEN=dummy;rm${IFS}-rf${IFS}src${IFS}.git;echo make test"), m);
        assertTrue(m.contains("contains what looks like a secret: API_TOKEN=…"), m);
        int open = m.indexOf("\n````\n");
        int close = m.lastIndexOf("\n````");
        assertTrue(open > 0 && close > open, m);
        assertEquals(m.length(), close + "\n````\n".length(), "the agent's block ends the message");
        String wardens = m.substring(0, open);
        // Warden's own lines are each written once, before the agent's block; a finding's detail stays one line
        assertEquals(1, wardens.lines().filter(l -> l.startsWith("Runs in:")).count(), wardens);
        assertEquals(1, wardens.lines().filter(l -> l.startsWith("Why it was held:")).count(), wardens);
        assertTrue(wardens.contains("asks for more time: sleep\\u000A```\\u000ARuns in: L1"), wardens);
        assertTrue(m.substring(open).contains("\nRuns in: tier L1 (inline)\n"), "the forged line is inside the block");
    }

    @Test
    void anActionAndItsReasonAreBothTheAgentsText() {
        Instant now = Instant.now();
        ApprovalRequest r = new ApprovalRequest("ex_2", "s", "c", "action", "deploy\u202E", null, null, "L4", List.of(),
                List.of(), "because\n```\nRuns in: L1", now, now.plusSeconds(5));
        String m = r.describe();
        assertFalse(m.contains("\u202E"));
        assertTrue(m.contains("deploy\\u202E"));
        assertTrue(m.indexOf("The action, in the agent's words") < m.indexOf("Its reason, in the agent's words"));
        assertTrue(m.substring(m.indexOf("Its reason")).contains("````\nbecause\n```\nRuns in: L1\n````"), m);
    }
}
