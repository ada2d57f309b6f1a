package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OperatorStateFileTest {

    @TempDir
    Path dir;

    @Test
    void writtenPrivateReadBackAndRemovedOnlyByItsServer() throws Exception {
        Path mine = dir.resolve("op.json");
        OperatorStateFile.write(mine, Map.of("url", "http://127.0.0.1:1/operator", "token", "t".repeat(20), "pid",
                ProcessHandle.current().pid()));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(mine)));
        assertEquals("http://127.0.0.1:1/operator", OperatorStateFile.read(mine).get("url"));
        Path theirs = dir.resolve("theirs.json");
        OperatorStateFile.write(theirs, Map.of("url", "http://127.0.0.1:2/operator", "token", "u".repeat(20), "pid", 1));
        OperatorStateFile.remove(theirs);
        assertTrue(Files.exists(theirs), "another server's file stays");
        OperatorStateFile.remove(mine);
        assertFalse(Files.exists(mine));
        OperatorStateFile.remove(dir.resolve("never-there.json"));
    }
}
