package dev.warden.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A launcher's message on its way to the server's log: one line, nothing that acts on a terminal, capped. */
class LauncherMessageTest {

    @Test
    void controlCharactersAreEscapedIntoOneLine() {
        String s = ProcessRun.forLog("warden-spawn: x\n2026-01-01 ERROR forged\r\u001b[31mred\u2028\\".getBytes(StandardCharsets.UTF_8));
        assertEquals("warden-spawn: x\\n2026-01-01 ERROR forged\\u000d\\u001b[31mred\\u2028\\\\", s);
    }

    @Test
    void longTextIsCapped() {
        String s = ProcessRun.forLog("\n".repeat(10_000).concat("x").repeat(3).getBytes(StandardCharsets.UTF_8));
        assertTrue(s.length() <= ProcessRun.LOG_TEXT_MAX + 1, s.length() + "");
        assertTrue(s.endsWith("…"));
        assertFalse(s.contains("\n"));
    }

    @Test
    void theStartMarkIsRecognisedOnlyAtTheStart() {
        byte[] mark = ProcessRun.EXEC_MARK;
        byte[] marked = new byte[mark.length + 2];
        System.arraycopy(mark, 0, marked, 0, mark.length);
        assertTrue(ProcessRun.startsWithMark(new Output(marked, false)));
        byte[] late = new byte[mark.length + 2];
        System.arraycopy(mark, 0, late, 2, mark.length);
        assertFalse(ProcessRun.startsWithMark(new Output(late, false)));
        assertFalse(ProcessRun.startsWithMark(Output.EMPTY));
    }
}
