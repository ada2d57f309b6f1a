package dev.warden.instance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstanceTest {

    @TempDir
    Path root;

    @Test
    void twoLiveServersNeverShareADirectory() {
        try (Instance a = Instance.claim(root, null, "stdio", 0); Instance b = Instance.claim(root, null, "stdio", 0)) {
            assertEquals("stdio-1", a.id());
            assertEquals("stdio-2", b.id());
            StartupFailure e = assertThrows(StartupFailure.class, () -> Instance.claim(root, "stdio-1", "stdio", 0));
            assertTrue(e.getMessage().contains("already running as instance stdio-1"), e.getMessage());
            assertEquals(List.of("stdio-1", "stdio-2"), Instance.live(root).stream().map(Instance.Live::id).toList());
        }
    }

    @Test
    void aStoppedServersDirectoryIsIgnoredThenTakenOverWithItsAuditFile() throws Exception {
        Path dir;
        try (Instance a = Instance.claim(root, null, "http", 8765)) {
            assertEquals("http-8765", a.id());
            a.publish(Map.of("url", "http://127.0.0.1:8765/operator", "token", "t".repeat(20)));
            Instance.Live live = Instance.liveAt(a.dir());
            assertEquals("http://127.0.0.1:8765/operator", live.url());
            assertEquals(ProcessHandle.current().pid(), live.pid());
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(a.dir().resolve(Instance.STATE_FILE))));
            dir = a.dir();
            Files.writeString(dir.resolve("audit.jsonl"), "{}\n");
        }
        assertNull(Instance.liveAt(dir), "no lock holder: not running");
        assertTrue(Instance.live(root).isEmpty());
        assertTrue(Files.exists(dir.resolve("audit.jsonl")), "the audit file stays");
        try (Instance again = Instance.claim(root, null, "http", 8765)) {
            assertEquals(dir, again.dir());
        }
    }

    @Test
    void aBadNameAndAnUnwritableRootAreClearStartupFailures() throws Exception {
        StartupFailure bad = assertThrows(StartupFailure.class, () -> Instance.claim(root, "../x", "stdio", 0));
        assertTrue(bad.getMessage().contains("not a usable instance name"), bad.getMessage());
        Path file = Files.writeString(root.resolve("a-file"), "");
        StartupFailure unwritable = assertThrows(StartupFailure.class, () -> Instance.claim(file, null, "stdio", 0));
        assertTrue(unwritable.getMessage().startsWith("cannot create the state directory " + file), unwritable.getMessage());
    }
}
