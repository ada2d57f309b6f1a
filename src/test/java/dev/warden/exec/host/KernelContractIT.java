package dev.warden.exec.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.CallEgress;
import dev.warden.exec.Cancel;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.ExecutorContract;
import dev.warden.exec.Kernel;
import dev.warden.exec.KernelHost;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The executor contract with every program run as a cell of a kernel (a live python or bash in an L2
 * sandbox of its own): the escapes fail from inside a kernel as from a one-off run. A kernel that a
 * case ends (a memory or fork bomb, a flood past its file size) is started again for the next cell.
 * One case differs by design: a daemon a cell starts lives on with its kernel (as in a notebook), so
 * instead of "nothing outlives the call" it is "nothing outlives the kernel".
 */
class KernelContractIT extends ExecutorContract {

    SandboxHarness h;
    Kernel python;
    Kernel bash;

    @BeforeAll
    void start() throws IOException {
        h = new SandboxHarness();
    }

    @AfterAll
    void stop() {
        if (python != null) {
            python.close();
        }
        if (bash != null) {
            bash.close();
        }
        if (h != null) {
            h.close();
        }
    }

    private KernelHost host() {
        return (KernelHost) h.runtime.sandbox();
    }

    private Kernel kernel(String language, Kernel current) {
        if (current != null && current.alive()) {
            return current;
        }
        Map<String, String> env = "python".equals(language)
                ? Map.of("PYTHONDONTWRITEBYTECODE", "1", "PYTHONUNBUFFERED", "1") : Map.of();
        try {
            return host().startKernel(new ExecRequest(List.of(), h.workspace, "", null, env), language, 3_600_000);
        }
        catch (IOException e) {
            throw new IllegalStateException("the kernel did not start: " + e.getMessage(), e);
        }
    }

    private ExecOutcome cell(Kernel k, String code, long timeoutMs) {
        Kernel.CellResult r = k.run(new Kernel.Cell(code, new byte[0], h.limits(timeoutMs), new Cancel(), CallEgress.NONE,
                4, 1 << 20));
        return r.outcome();
    }

    @Override
    protected ExecOutcome python(String code, long timeoutMs) {
        python = kernel("python", python);
        return cell(python, code, timeoutMs);
    }

    @Override
    protected ExecOutcome bash(String script, long timeoutMs) {
        bash = kernel("bash", bash);
        return cell(bash, script, timeoutMs);
    }

    @Override
    protected Path workspace() {
        return h.workspace;
    }

    @Override
    protected int outputCap() {
        return h.config.limits().outputBytes();
    }

    /** Processes of the slots but the live kernels' own (their bwrap and interpreter) and pre-created sandboxes. */
    @Override
    protected List<String> leftovers() {
        return h.hostProcessesOfSlots().stream()
            .filter(p -> !p.contains("/usr/bin/bwrap ") && !p.contains("/.warden/spawn --request")
                    && !p.contains("warden-kernel"))
            .toList();
    }

    @Override
    protected String notApplicable(Case c) {
        return c == Case.PROCESS_TREE_GONE ? "a cell's daemon lives with its kernel; aKernelsProcessesEndWithIt" : null;
    }

    @Override
    protected boolean readOnlyRootMount() {
        return true;
    }

    @Override
    protected void assertUid(int uid) {
        assertTrue(uid >= h.config.sandbox().uidBase(), "a slot's uid: " + uid);
    }

    @Override
    protected void assertStatus(String status) {
        assertTrue(status.contains("NoNewPrivs:\t1"), status);
    }

    /** L2's fixed set, the python language's two, and the kernel's matplotlib backend. */
    @Override
    protected Set<String> allowedEnvKeys() {
        return Set.of("HOME", "LANG", "PATH", "TMPDIR", "USER", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED",
                "MPLBACKEND");
    }

    /** Ended at its limit (killed with the kernel, or timed out with every process it started), and the kernel can start processes again. */
    /** The python language's variables from config, which the kernel starts with. */
    @Override
    protected boolean setByTier(String key, String value) {
        return Set.of("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED").contains(key) && "1".equals(value);
    }

    @Override
    protected void assertForkBombOutcome(ExecOutcome o) {
        assertTrue(o instanceof ExecOutcome.TimedOut
                || o instanceof ExecOutcome.Killed k && k.reason().contains("processes"), "got " + o);
        assertEquals("0\n", out(python("import subprocess\nprint(subprocess.run(['true']).returncode)", 10_000)));
        assertEquals("ok\n", out(bash("/bin/echo ok", 10_000)));
    }

    @Test
    void aKernelsProcessesEndWithIt() throws Exception {
        String marker = "47" + (System.nanoTime() % 100000);
        ExecOutcome o = bash("(setsid sleep " + marker + " > /dev/null 2>&1 &); nohup sleep " + marker
                + "1 > /dev/null 2>&1 & disown; echo started", 10_000);
        assertEquals("started\n", out(o), err(o));
        long deadline = System.currentTimeMillis() + 5_000; // the setsid one may still be starting
        while (hostProcessesWith("sleep " + marker).size() < 2 && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(2, hostProcessesWith("sleep " + marker).size(), "the daemons live with the kernel");
        bash.close();
        deadline = System.currentTimeMillis() + 5_000;
        List<String> left = hostProcessesWith("sleep " + marker);
        while (!left.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
            left = hostProcessesWith("sleep " + marker);
        }
        assertEquals(List.of(), left, "outlived the kernel");
    }

    @Test
    void anInterruptedCellLeavesTheKernelsState() {
        assertEquals("", out(python("kept = 41", 10_000)));
        ExecOutcome o = python("import time\nwhile True: time.sleep(0.01)", 1_000);
        assertInstanceOf(ExecOutcome.TimedOut.class, o, () -> "got " + o);
        assertEquals("42\n", out(python("kept + 1", 10_000)));
    }

    @Test
    void aCellSeesItsOwnStdinAndOutputOnly() {
        python = kernel("python", python);
        Kernel.CellResult r = python.run(new Kernel.Cell("import sys\nprint(sys.stdin.read().upper())",
                "abc".getBytes(StandardCharsets.UTF_8), h.limits(10_000), new Cancel(), CallEgress.NONE, 4, 1 << 20));
        assertEquals("ABC\n", out(r.outcome()));
        assertEquals("", out(python("pass", 10_000)), "nothing of the cell before");
    }
}
