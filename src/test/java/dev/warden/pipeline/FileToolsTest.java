package dev.warden.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** How read_file names what it read: its MIME type, and whether it is text. */
class FileToolsTest {

    @Test
    void theMimeTypeComesFromTheNameElseFromTheBytes() {
        assertEquals("image/png", FileTools.mime("plots/a.PNG", new byte[] {(byte) 0x89, 'P', 'N', 'G'}));
        assertEquals("text/csv", FileTools.mime("out.csv", "a,b\n".getBytes(StandardCharsets.UTF_8)));
        assertEquals("text/plain", FileTools.mime("Makefile", "all:\n".getBytes(StandardCharsets.UTF_8)));
        assertEquals("application/octet-stream", FileTools.mime("blob", new byte[] {0, 1, 2}));
        assertEquals("text/plain", FileTools.mime("dir.d/noext", "x".getBytes(StandardCharsets.UTF_8)),
                "a dot in a directory's name is no extension");
    }

    @Test
    void textIsUtf8WithoutNulAndACharacterCutAtTheEndStillCounts() {
        assertTrue(FileTools.text("héllo\n".getBytes(StandardCharsets.UTF_8)));
        byte[] cut = "ab€".getBytes(StandardCharsets.UTF_8);
        assertTrue(FileTools.text(java.util.Arrays.copyOf(cut, cut.length - 1)), "the read may have cut the last character");
        assertFalse(FileTools.text(new byte[] {'a', 0, 'b'}));
        assertFalse(FileTools.text(new byte[] {(byte) 0xff, (byte) 0xfe, 'x'}));
        assertTrue(FileTools.text(new byte[0]));
    }
}
