package dev.warden.exec.host;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import static dev.warden.exec.host.SandboxHarness.err;
import static dev.warden.exec.host.SandboxHarness.exit;
import static dev.warden.exec.host.SandboxHarness.out;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each test really attempts an escape from the L2 sandbox and then checks the host, not the
 * sandbox's word for it. After every test: no process of a sandbox uid is left on the host and the
 * sandbox still runs a program. The cases every executor must pass (writes outside the workspace,
 * host secrets, network, uid and capabilities, setuid tools, fork and memory bombs, the wall limit,
 * the output cap, daemons, the environment) are in {@link dev.warden.exec.ExecutorContract}, run
 * against L2 by {@link SandboxContractIT}; these are the sandbox's own.
 */
class SandboxEscapeIT {

    static SandboxHarness h;

    @BeforeAll
    static void start() throws IOException {
        h = new SandboxHarness();
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    @AfterEach
    void hostIsUnharmedAndSandboxStillAnswers() throws Exception {
        // pre-created sandboxes (bwrap and a waiting stub) are expected; anything else is a leak
        // One listing decides: a background refill can start a new sandbox between two listings, and
        // a stub caught mid-exec has no command line yet. A leak is what stays for the whole 3 s.
        long deadline = System.currentTimeMillis() + 3000;
        java.util.List<String> left = leftovers();
        while (!left.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
            left = leftovers();
        }
        assertEquals(java.util.List.of(), left, "left on the host");
        ExecOutcome o = h.sandbox(10_000, "/bin/echo", "still-here");
        assertEquals("still-here\n", out(o));
        Process p = new ProcessBuilder("/bin/true").start();
        assertEquals(0, p.waitFor(), "the host can still start processes");
    }

    private static java.util.List<String> leftovers() {
        return h.hostProcessesOfSlots().stream()
            .filter(p -> !p.contains("/usr/bin/bwrap ") && !p.contains("/.warden/spawn --request"))
            .toList();
    }

    /** The secret itself is the contract's (ExecutorContract.hostSecretsCannotBeRead); here: the host tree is not there at all. */
    @Test
    void theHostTreeIsNotMounted() throws Exception {
        Path secret = Files.createTempFile("warden-host-secret-", ".txt");
        try {
            Files.writeString(secret, "HOST-SECRET-4711");
            Files.setAttribute(secret, "unix:mode", 0644); // world-readable on the host: only the mount view stops it
            ExecOutcome o = h.sandbox(10_000, "/bin/sh", "-c",
                    "cat " + secret + " /etc/shadow /root/.bashrc 2>&1; ls / ; ls /home 2>&1; echo done");
            assertFalse(out(o).contains("HOST-SECRET-4711"), out(o));
            assertTrue(out(o).contains("No such file"), out(o));
            assertTrue(out(o).contains("done"), out(o));
            assertFalse(out(o).lines().anyMatch(l -> l.equals("root") || l.equals("home") || l.equals("var")), out(o));
        }
        finally {
            Files.deleteIfExists(secret);
        }
    }

    @Test
    void hostProcessesAreInvisible() {
        ExecOutcome o = h.sandbox(10_000, "/bin/sh", "-c", "ls /proc | grep -c '^[0-9]'");
        int visible = Integer.parseInt(out(o).trim());
        assertTrue(visible <= 4, "saw " + visible + " processes");
        ExecOutcome kill = h.sandbox(10_000, "/bin/kill", "-9", Long.toString(ProcessHandle.current().pid()));
        assertNotEquals(0, exit(kill)); // and this JVM is evidently still alive to assert it
    }

    @Test
    void tmpfsWritesCountAgainstTheLimitsToo() {
        // files under the file-size limit, but together more than the private /tmp holds
        ExecOutcome o = h.sandbox(20_000, "/bin/sh", "-c",
                "for i in 1 2 3 4 5 6; do dd if=/dev/zero of=/tmp/fill$i bs=1M count=32 2>&1; done; df -m /tmp | tail -1");
        assertTrue(out(o).contains("No space left") || o instanceof ExecOutcome.Killed, out(o));
    }

    @Test
    void fiftyMegabyteFloodIsCutAtTheOutputLimit() {
        long start = System.nanoTime();
        ExecOutcome o = h.sandbox(30_000, "/usr/bin/python3", "-c",
                "import sys\nchunk = b'x' * 1048576\nfor _ in range(50): sys.stdout.buffer.write(chunk)");
        long ms = (System.nanoTime() - start) / 1_000_000;
        ExecOutcome.Completed c = assertInstanceOf(ExecOutcome.Completed.class, o);
        assertTrue(c.stdout().truncated());
        assertEquals(h.config.limits().outputBytes(), c.stdout().bytes().length);
        assertTrue(ms < 10_000, "took " + ms + " ms");
    }

    /** su, unshare -r and mount are the contract's (ExecutorContract.setuidToolsGiveNoRoot); here: no nested user namespace. */
    @Test
    void nestedUserNamespacesAreDisabled() {
        assertFalse(h.sandbox(10_000, "/usr/bin/unshare", "-U", "true") instanceof ExecOutcome.Completed c && c.exitCode() == 0,
                "nested user namespaces are disabled");
    }

    @Test
    void filesAreWrittenInsideTheSandboxAsTheSlotUid() throws Exception {
        // a directory swapped for a link to /etc between Warden's check and the write must not let
        // root write into the host's /etc: the write happens inside, where /etc is the sandbox's own
        ExecOutcome plant = h.sandbox(5_000, "/bin/ln", "-s", "/etc", "swapped");
        assertEquals(0, exit(plant), err(plant));
        String marker = "warden-files-" + System.nanoTime();
        ExecOutcome o = h.runtime.sandbox().run(new ExecRequest(java.util.List.of("/bin/sh", "-c", "stat -c '%u' ok/" + marker),
                h.workspace, "", null, java.util.Map.of(), orderedFiles("ok/" + marker, "data", "swapped/" + marker, "x")),
                h.limits(5_000));
        assertFalse(Files.exists(Path.of("/etc", marker)), "root wrote through the link into the host's /etc");
        assertTrue(err(o).contains("files: cannot write 'swapped/" + marker + "'"), o + " " + err(o));
        assertNotEquals(0, exit(o));
        ExecOutcome owner = h.sandbox(5_000, "/usr/bin/stat", "-c", "%u %g %a", "ok/" + marker);
        String[] f = out(owner).trim().split(" ");
        assertTrue(Integer.parseInt(f[0]) >= h.runtime.firstUid(), "written by the slot uid, not root: " + out(owner));
        assertEquals(Integer.toString(h.config.sandbox().gid()), f[1]);
        assertEquals("data", Files.readString(h.workspace.resolve("ok/" + marker)));
    }

    private static java.util.Map<String, String> orderedFiles(String... kv) {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void fileSizeLimitStopsAHugeFile() {
        ExecOutcome o = h.sandbox(20_000, "/usr/bin/python3", "-c",
                "f = open('big', 'wb')\nfor _ in range(200): f.write(b'x' * 1048576)");
        // SIGXFSZ kills most programs; python ignores it and gets EFBIG instead. Either way the file stops.
        boolean killed = o instanceof ExecOutcome.Killed k && k.reason().contains("file");
        boolean refused = o instanceof ExecOutcome.Completed c && c.exitCode() != 0 && err(o).contains("File too large");
        assertTrue(killed || refused, o + " " + err(o));
        assertTrue(h.workspace.resolve("big").toFile().length() <= (long) h.config.limits().fileSizeMb() * 1024 * 1024);
    }
}
