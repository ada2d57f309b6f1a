package dev.warden.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LiveOutputTest {

    private static void write(LiveOutput l, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        l.write(b, 0, b.length);
    }

    private static String tail(LiveOutput l, int lines) {
        return new String(l.tail(lines), StandardCharsets.UTF_8);
    }

    @Test
    void theLastLinesWithoutTheTrailingNewline() {
        LiveOutput l = new LiveOutput();
        assertEquals("", tail(l, 2));
        write(l, "one\ntwo\nthree\n");
        assertEquals("two\nthree", tail(l, 2));
        assertEquals("three", tail(l, 1));
        write(l, "fo");
        assertEquals("three\nfo", tail(l, 2));
        assertEquals(16, l.written());
    }

    @Test
    void boundedWhateverIsWritten() {
        LiveOutput l = new LiveOutput();
        for (int i = 0; i < 10_000; i++) {
            write(l, "line " + i + "\n");
        }
        assertEquals("line 9998\nline 9999", tail(l, 2));
        byte[] huge = new byte[5000];
        java.util.Arrays.fill(huge, (byte) 'x');
        huge[4999] = 'y';
        l.write(huge, 0, huge.length);
        assertEquals(LiveOutput.KEEP, tail(l, 3).length(), "one long line: the last KEEP bytes of it");
        assertEquals('y', tail(l, 1).charAt(LiveOutput.KEEP - 1));
    }
}
