package dev.warden.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Leftovers of a Warden killed with -9: its marked directories go at the next start, nothing else does. */
class LeftoversIT {

    Path tmp;

    @BeforeEach
    void setUp() throws IOException {
        tmp = Files.createTempDirectory("leftovers-it-");
    }

    @AfterEach
    void tearDown() {
        WorkspaceDirs.delete(tmp);
    }

    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    private Path dir(String name, Long pid) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(name));
        Files.createDirectories(d.resolve("s-00/sub"));
        Files.writeString(d.resolve("s-00/sub/file"), "data");
        if (pid != null) {
            Files.writeString(d.resolve(".warden-pid"), pid.toString());
        }
        return d;
    }

    @Test
    void onlyMarkedDirectoriesOfDeadWardensGo() throws Exception {
        long dead = deadPid();
        Path state = dir("warden-state-123", dead);
        Path ws = dir("warden-ws-456", dead);
        Path alive = dir("warden-state-789", ProcessHandle.current().parent().orElseThrow().pid());
        Path unmarked = dir("warden-ws-1000", null);
        Path otherName = dir("warden-state-x1", dead);
        Path mounted = dir("warden-ws-2000", dead);
        Path mountPoint = mounted.resolve("s-00");
        // what a dead server left bound there (a project): its own files, outside the leftover
        Path project = Files.createDirectories(tmp.resolve("a-project"));
        Files.writeString(project.resolve("precious.txt"), "mine");
        Files.delete(mountPoint.resolve("sub/file"));
        Files.delete(mountPoint.resolve("sub"));
        assertEquals(0, new ProcessBuilder("mount", "--bind", project.toString(), mountPoint.toString())
                .inheritIO().start().waitFor());
        try {
            Leftovers.sweep(tmp);
            assertFalse(Files.exists(state));
            assertFalse(Files.exists(ws));
            assertTrue(Files.exists(alive.resolve("s-00/sub/file")), "its Warden still runs");
            assertTrue(Files.exists(unmarked.resolve("s-00/sub/file")), "not marked: not ours to judge");
            assertTrue(Files.exists(otherName.resolve("s-00")), "not a name Warden gives");
            // a mount below it is unmounted first, and only then the leftover goes: never deleted through
            assertFalse(Files.exists(mounted), "the dead server's leftover, unmounted, goes");
            assertEquals("mine", Files.readString(project.resolve("precious.txt")), "what was bound there is untouched");
        }
        finally {
            new ProcessBuilder("umount", mountPoint.toString()).inheritIO().start().waitFor();
        }
    }

    @Test
    void markWritesThisProcessesPid() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("warden-state-1"));
        Leftovers.mark(d);
        assertEquals(Long.toString(ProcessHandle.current().pid()), Files.readString(d.resolve(".warden-pid")));
        Leftovers.sweep(tmp);
        assertTrue(Files.exists(d), "our own directory stays");
    }
}
