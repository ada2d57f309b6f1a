package dev.warden.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The escape and limit cases every executor must pass, run against each tier by a subclass (L1
 * inline, L2 sandbox, L3 container, L3 under gVisor). Each case really attempts the escape or the
 * overrun and then looks at the host, not at the executor's word for it. A case that cannot apply
 * to a tier is skipped there with the reason ({@link #notApplicable}); a tier that holds more than
 * the contract asks says so in its hooks, or in its own IT.
 *
 * <p>After every case: nothing of the executor is left on the host ({@link #leftovers}), and the
 * host can still start a process.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ExecutorContract {

    /** The cases, for {@link #notApplicable}. */
    protected enum Case {
        WRITE_OUTSIDE, READ_HOST_SECRETS, NETWORK, ONLY_LOOPBACK, UNPRIVILEGED, NO_ROOT, FORK_BOMB, MEMORY, WALL_TIME,
        OUTPUT_CAP, PROCESS_TREE_GONE, MINIMAL_ENV
    }

    // ---- what a tier provides ----------------------------------------------------------------------

    /** Runs a python program (python3 -c code, or the python language) with this wall limit. */
    protected abstract ExecOutcome python(String code, long timeoutMs);

    /** Runs a bash script (bash -c script, or the bash language) with this wall limit. */
    protected abstract ExecOutcome bash(String script, long timeoutMs);

    /** The session workspace on the host. */
    protected abstract Path workspace();

    /** The output cap of a run. */
    protected abstract int outputCap();

    /** What of this executor is still on the host (processes, containers); empty when nothing leaked. */
    protected abstract List<String> leftovers() throws Exception;

    /** Why a case does not apply to this tier, or null when it does. */
    protected String notApplicable(Case c) {
        return null;
    }

    /** How long, beyond its wall limit, a run may take to be stopped and answered (a container's start counts). */
    protected long stopSlackMs() {
        return 3_000;
    }

    /** How soon after the answer everything the run started must be gone from the host. */
    protected long processTreeGoneWithinMs() {
        return 200; // the namespace's init exits with the program, and the kernel ends the rest
    }

    /** Whether the root filesystem is a read-only mount (a write there fails with EROFS), as in L2. */
    protected boolean readOnlyRootMount() {
        return false;
    }

    /** Whether the run has a private writable /tmp of its own (L2, L3). */
    protected boolean privateTmp() {
        return true;
    }

    /** Whether the output cap is exact (under gVisor a flood loses bytes before they reach Warden). */
    protected boolean exactOutputCap() {
        return true;
    }

    /** More that a tier asserts about its uid (e.g. that it is its slot's). */
    protected void assertUid(int uid) {
    }

    /** Whether the run can read its own /proc/self/status (not under L1's Landlock). */
    protected boolean seesOwnStatus() {
        return true;
    }

    /** More that a tier asserts about its /proc/self/status lines (CapEff, CapPrm, NoNewPrivs). */
    protected void assertStatus(String status) {
    }

    /** The environment keys a run may see, or null when the image decides them (L3). */
    protected Set<String> allowedEnvKeys() {
        return null;
    }

    /** Whether the tier itself sets this variable to this value (the language's env in config), so it is no leak. */
    protected boolean setByTier(String key, String value) {
        return false;
    }

    /** More that a tier asserts about its run's environment, given {@code env}'s output. */
    protected void assertEnvironment(String env) {
    }

    /** How the tier reports a fork bomb; the contract only asks that it ends, near its limit, with the host intact. */
    protected void assertForkBombOutcome(ExecOutcome o) {
        assertTrue(o instanceof ExecOutcome.TimedOut || o instanceof ExecOutcome.Killed
                || o instanceof ExecOutcome.Completed, o.toString());
    }

    /** How the tier reports a memory bomb: killed by the memory limit, with its usage. */
    protected void assertMemoryOutcome(ExecOutcome o) {
        ExecOutcome.Killed k = assertInstanceOf(ExecOutcome.Killed.class, o, () -> "got " + o);
        assertTrue(k.reason().contains("memory"), k.reason());
    }

    // ---- helpers -----------------------------------------------------------------------------------

    /** The run's stdout, whatever way it ended. */
    public static String out(ExecOutcome o) {
        if (o instanceof ExecOutcome.Completed c) {
            return new String(c.stdout().bytes(), StandardCharsets.UTF_8);
        }
        if (o instanceof ExecOutcome.TimedOut t) {
            return new String(t.stdout().bytes(), StandardCharsets.UTF_8);
        }
        if (o instanceof ExecOutcome.Killed k) {
            return new String(k.stdout().bytes(), StandardCharsets.UTF_8);
        }
        return "";
    }

    protected static String err(ExecOutcome o) {
        if (o instanceof ExecOutcome.Completed c) {
            return new String(c.stderr().bytes(), StandardCharsets.UTF_8);
        }
        if (o instanceof ExecOutcome.Refused r) {
            return r.reason();
        }
        return "";
    }

    private void applies(Case c) {
        String why = notApplicable(c);
        Assumptions.assumeTrue(why == null, () -> c + " does not apply to this tier: " + why);
    }

    /** Host processes whose command line contains the marker (from any uid). */
    public static List<String> hostProcessesWith(String marker) {
        List<String> found = new ArrayList<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path p : dirs.filter(d -> d.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = Files.readString(p.resolve("cmdline")).replace('\0', ' ');
                    if (cmd.contains(marker) && ProcessHandle.current().pid() != Long.parseLong(p.getFileName().toString())) {
                        found.add(p.getFileName() + " " + cmd);
                    }
                }
                catch (IOException | RuntimeException gone) {
                    // ended while we looked
                }
            }
        }
        catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return found;
    }

    @AfterEach
    void nothingIsLeftAndTheHostStillRuns() throws Exception {
        // One listing decides, after up to 15 s: removal and reaping run just after the answer.
        long deadline = System.currentTimeMillis() + 15_000;
        List<String> left = leftovers();
        while (!left.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
            left = leftovers();
        }
        assertEquals(List.of(), left, "left on the host");
        assertEquals("still-here\n", out(bash("echo still-here", 20_000)), "the executor still answers");
        Process p = new ProcessBuilder("/bin/true").start();
        assertEquals(0, p.waitFor(), "the host can still start processes");
    }

    // ---- the cases ---------------------------------------------------------------------------------

    @Test
    void writesOutsideTheWorkspaceNeverReachTheHost() throws Exception {
        applies(Case.WRITE_OUTSIDE);
        String marker = "warden-contract-" + System.nanoTime();
        Path outside = workspace().getParent();
        ExecOutcome o = python("""
            import os
            for f in ("/tmp/%1$s", "/usr/%1$s", "/%1$s", "/etc/%1$s", "/workspace/../%1$s", "%2$s/%1$s"):
                try:
                    with open(f, "w") as h:
                        h.write("x")
                    print("WROTE", f)
                except OSError as e:
                    print("refused", f, e.errno, e.strerror)
            """.formatted(marker, outside), 10_000);
        String text = out(o);
        for (String f : new String[] {"/usr/", "/", "/etc/"}) {
            assertTrue(text.contains("refused " + f + marker), f + ": " + text + err(o));
        }
        assertFalse(text.contains("WROTE " + outside), text);
        if (privateTmp()) {
            assertTrue(text.contains("WROTE /tmp/" + marker), "the private /tmp is writable inside: " + text);
        }
        if (readOnlyRootMount()) {
            assertTrue(text.contains("Read-only file system"), "the root is a read-only mount: " + text);
        }
        for (String dir : new String[] {"/tmp", "/usr", "/", "/etc", outside.toString(), "/workspace"}) {
            assertFalse(Files.exists(Path.of(dir, marker)), "reached the host: " + dir + "/" + marker);
        }
    }

    @Test
    void hostSecretsCannotBeRead() throws Exception {
        applies(Case.READ_HOST_SECRETS);
        Path secret = Files.createTempFile("warden-host-secret-", ".txt");
        String shadow = Files.readAllLines(Path.of("/etc/shadow")).get(0);
        try {
            Files.writeString(secret, "HOST-SECRET-4711");
            Files.setAttribute(secret, "unix:mode", 0644); // world-readable on the host: only the confinement stops it
            ExecOutcome o = python("""
                for f in ("%s", "/etc/shadow", "/root/.bashrc", "/proc/1/root/etc/shadow"):
                    try:
                        print(open(f).read())
                    except OSError as e:
                        print("refused", f, e.errno)
                print("done")
                """.formatted(secret), 10_000);
            assertFalse(out(o).contains("HOST-SECRET-4711"), out(o));
            assertFalse(out(o).contains(shadow), "the host's /etc/shadow: " + out(o));
            assertTrue(out(o).contains("refused " + secret), out(o) + err(o));
            assertTrue(out(o).contains("done"), out(o) + err(o));
            assertTrue(Files.readString(secret).contains("HOST-SECRET-4711"), "the host itself still reads it");
        }
        finally {
            Files.deleteIfExists(secret);
        }
    }

    @Test
    void aConnectionToAHostLoopbackListenerNeverArrives() throws Exception {
        applies(Case.NETWORK);
        try (CountingListener listener = new CountingListener(InetAddress.getLoopbackAddress())) {
            int port = listener.port();
            ExecOutcome o = python("""
                import socket
                for host in ("127.0.0.1", "localhost", "::1", "1.1.1.1"):
                    try:
                        socket.create_connection((host, %d), timeout=2); print("CONNECTED", host)
                    except OSError as e:
                        print("refused", host, e.errno)
                """.formatted(port), 20_000);
            assertFalse(out(o).contains("CONNECTED"), out(o));
            assertTrue(out(o).contains("refused 127.0.0.1"), out(o) + err(o));
            // and the host listener really works: a host connection is seen
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                Thread.sleep(100);
            }
            assertEquals(1, listener.accepted.get(), "only the host's own connection arrived");
        }
    }

    @Test
    void noNetworkInterfaceButLoopback() {
        applies(Case.ONLY_LOOPBACK);
        ExecOutcome o = python("print(open('/proc/net/dev').read())", 10_000);
        Set<String> ifaces = new TreeSet<>();
        out(o).lines().skip(2).filter(l -> !l.isBlank()).forEach(l -> ifaces.add(l.trim().split(":")[0]));
        assertEquals(Set.of("lo"), ifaces, out(o) + err(o));
    }

    @Test
    void runsUnprivilegedWithoutCapabilities() {
        applies(Case.UNPRIVILEGED);
        ExecOutcome o = python("""
            import os
            print(os.getuid())
            try:
                for l in open('/proc/self/status'):
                    if l.startswith(('CapEff:', 'CapPrm:', 'NoNewPrivs:')):
                        print(l.strip())
            except OSError as e:
                print("no status", e.errno)
            """, 10_000);
        List<String> lines = out(o).lines().toList();
        assertFalse(lines.isEmpty(), () -> "got " + o + " " + err(o));
        int uid = Integer.parseInt(lines.get(0).trim());
        assertNotEquals(0, uid, "not root");
        assertUid(uid);
        if (!seesOwnStatus()) {
            assertTrue(out(o).contains("no status"), out(o));
            return;
        }
        assertTrue(out(o).contains("CapEff:\t0000000000000000"), out(o));
        assertTrue(out(o).contains("CapPrm:\t0000000000000000"), out(o));
        if (out(o).contains("NoNewPrivs:")) { // gVisor's /proc has no such line
            assertTrue(out(o).contains("NoNewPrivs:\t1"), out(o));
        }
        assertStatus(out(o));
    }

    @Test
    void setuidToolsGiveNoRoot() {
        applies(Case.NO_ROOT);
        ExecOutcome o = bash("su -c id root </dev/null 2>&1 | head -1; (unshare -r id 2>&1 || true) | head -1; "
                + "mount -t tmpfs x /tmp 2>&1; echo end", 10_000);
        assertFalse(out(o).contains("uid=0"), out(o));
        assertTrue(out(o).contains("end"), out(o) + err(o));
    }

    @Test
    void aForkBombIsContained() throws Exception {
        applies(Case.FORK_BOMB);
        long start = System.nanoTime();
        ExecOutcome o = bash("bomb() { bomb | bomb & }; bomb; sleep 60", forkBombWallMs());
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertForkBombOutcome(o);
        assertTrue(ms < forkBombWallMs() + 10_000, "took " + ms + " ms");
        Process p = new ProcessBuilder("true").start();
        assertEquals(0, p.waitFor(), "the host can still start processes");
    }

    /** The fork bomb's wall limit. */
    protected long forkBombWallMs() {
        return 5_000;
    }

    @Test
    void aMemoryBombIsStoppedByTheMemoryLimit() {
        applies(Case.MEMORY);
        ExecOutcome o = python("x = []\nwhile True:\n    x.append(bytearray(16 * 1024 * 1024))\n", 30_000);
        assertMemoryOutcome(o);
    }

    @Test
    void anInfiniteLoopIsStoppedAtTheWallLimit() {
        applies(Case.WALL_TIME);
        long start = System.nanoTime();
        ExecOutcome o = python("while True: pass", 1_000);
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertInstanceOf(ExecOutcome.TimedOut.class, o, () -> "got " + o);
        assertTrue(ms < 1_000 + stopSlackMs(), "took " + ms + " ms");
    }

    @Test
    void outputIsCappedAndTheRestDrained() {
        applies(Case.OUTPUT_CAP);
        int cap = outputCap();
        // in writes of 64 KiB: the runsc of Debian 12 returns short from one larger write to the container's
        // stdout, and what Python then writes after it is lost (README, Containers)
        ExecOutcome o = python("import sys\nfor _ in range(%d * 3 // 65536):\n    sys.stdout.write('x' * 65536)\n"
                .formatted(cap) + "    sys.stdout.flush()\nsys.stderr.write('done')", 30_000);
        ExecOutcome.Completed c = assertInstanceOf(ExecOutcome.Completed.class, o, () -> "got " + o);
        if (exactOutputCap()) {
            assertEquals(cap, c.stdout().bytes().length);
            assertTrue(c.stdout().truncated());
        }
        else {
            assertTrue(c.stdout().bytes().length <= cap, "never more than the cap: " + c.stdout().bytes().length);
        }
        assertEquals("done", err(o), "what comes after the flood arrives");
    }

    @Test
    void aDaemonizedChildDoesNotOutliveTheCall() throws Exception {
        applies(Case.PROCESS_TREE_GONE);
        String marker = "31" + (System.nanoTime() % 100000);
        ExecOutcome o = bash("(setsid sleep " + marker + " > /dev/null 2>&1 &); nohup sleep " + marker
                + "1 > /dev/null 2>&1 & disown; (trap '' TERM HUP; exec sleep " + marker + "2) > /dev/null 2>&1 & "
                + "echo started", 10_000);
        assertEquals("started\n", out(o), err(o));
        long deadline = System.currentTimeMillis() + processTreeGoneWithinMs();
        List<String> left = hostProcessesWith("sleep " + marker);
        while (!left.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
            left = hostProcessesWith("sleep " + marker);
        }
        assertEquals(List.of(), left, "outlived the call");
    }

    @Test
    void theEnvironmentIsMinimal() {
        applies(Case.MINIMAL_ENV);
        ExecOutcome o = python("import os\nfor k, v in os.environ.items(): print(k + '=' + v)", 10_000);
        String env = out(o);
        Set<String> keys = new TreeSet<>();
        env.lines().forEach(l -> keys.add(l.substring(0, l.indexOf('='))));
        if (allowedEnvKeys() != null) {
            assertTrue(allowedEnvKeys().containsAll(keys), "unexpected keys: " + keys);
        }
        for (var e : System.getenv().entrySet()) {
            if (!Set.of("PATH", "LANG", "HOME").contains(e.getKey()) && !setByTier(e.getKey(), e.getValue())) {
                assertFalse(env.lines().anyMatch(l -> l.equals(e.getKey() + "=" + e.getValue())), "leaked " + e.getKey());
            }
        }
        assertFalse(keys.contains("JAVA_HOME") && env.contains(System.getProperty("java.home")), env);
        assertEnvironment(env);
    }
}
