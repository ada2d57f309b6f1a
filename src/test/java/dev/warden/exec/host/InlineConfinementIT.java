package dev.warden.exec.host;

import dev.warden.exec.ExecOutcome;
import static dev.warden.exec.host.SandboxHarness.err;
import static dev.warden.exec.host.SandboxHarness.exit;
import static dev.warden.exec.host.SandboxHarness.out;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * L1 runs without namespaces, so these attack the kernel confinement directly: the executor is
 * given programs the policy would never send it, and must still hold them read-only, in the
 * workspace, without network or children. Network, environment and the other cases every
 * executor must pass are in {@link dev.warden.exec.ExecutorContract}, run against L1 by {@link InlineContractIT}.
 */
class InlineConfinementIT {

    static SandboxHarness h;

    @BeforeAll
    static void start() throws IOException {
        h = new SandboxHarness();
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    @Test
    void readsTheWorkspace() throws IOException {
        Files.writeString(h.workspace.resolve("note.txt"), "hello");
        Files.setAttribute(h.workspace.resolve("note.txt"), "unix:mode", 0664);
        ExecOutcome o = h.inline(5_000, "cat", "note.txt");
        assertEquals("hello", out(o));
    }

    @Test
    void symlinkPlantedInTheWorkspaceLeadsNowhere() throws IOException {
        Path secret = Files.createTempFile("warden-inline-secret-", ".txt");
        try {
            Files.writeString(secret, "INLINE-SECRET-99");
            Files.setAttribute(secret, "unix:mode", 0644);
            ExecOutcome plant = h.sandbox(5_000, "/bin/ln", "-sf", secret.toString(), "link");
            assertEquals(0, exit(plant), err(plant));
            ExecOutcome o = h.inline(5_000, "cat", "link");
            assertFalse(out(o).contains("INLINE-SECRET-99"));
            assertTrue(err(o).contains("Permission denied"), err(o));
            assertNotEquals(0, exit(h.inline(5_000, "cat", "/etc/passwd")));
        }
        finally {
            Files.deleteIfExists(secret);
        }
    }

    @Test
    void cannotWriteAnywhere() {
        ExecOutcome o = h.inline(5_000, "/usr/bin/python3", "-c",
                "open('/workspace-write-test','w')" );
        assertNotEquals(0, exit(o));
        ExecOutcome ws = h.inline(5_000, "/usr/bin/python3", "-c", "open('written.txt','w').write('x')");
        assertNotEquals(0, exit(ws));
        assertFalse(Files.exists(h.workspace.resolve("written.txt")));
    }

    @Test
    void cannotForkChildren() {
        ExecOutcome o = h.inline(5_000, "/usr/bin/python3", "-c", "import os\ntry:\n  os.fork(); print('forked')\nexcept OSError as e: print('no fork', e.errno)");
        assertTrue(out(o).contains("no fork"), out(o) + err(o));
    }

}
