package dev.warden.exec.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecutorContract;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** L2, the bubblewrap sandbox, against every case of the executor contract: all of them apply. */
class SandboxContractIT extends ExecutorContract {

    SandboxHarness h;

    @BeforeAll
    void start() throws IOException {
        h = harness();
    }

    /** The sandbox runtime the contract runs against. */
    SandboxHarness harness() throws IOException {
        return new SandboxHarness();
    }

    @AfterAll
    void stop() {
        if (h != null) {
            h.close();
        }
    }

    @Override
    protected ExecOutcome python(String code, long timeoutMs) {
        return h.sandbox(timeoutMs, "/usr/bin/python3", "-c", code);
    }

    @Override
    protected ExecOutcome bash(String script, long timeoutMs) {
        return h.sandbox(timeoutMs, "/bin/bash", "-c", script);
    }

    @Override
    protected Path workspace() {
        return h.workspace;
    }

    @Override
    protected int outputCap() {
        return h.config.limits().outputBytes();
    }

    /** Processes in this server's slots but pre-created sandboxes (bwrap and a waiting stub), which are expected. */
    @Override
    protected List<String> leftovers() {
        return h.hostProcessesOfSlots().stream()
            .filter(p -> !p.contains("/usr/bin/bwrap ") && !p.contains("/.warden/spawn --request"))
            .toList();
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

    @Override
    protected Set<String> allowedEnvKeys() {
        return Set.of("HOME", "LANG", "PATH", "TMPDIR", "USER");
    }

    /** Exactly the fixed set, no value of the server's anywhere, and nothing of it in the namespace's init. */
    @Override
    protected void assertEnvironment(String env) {
        Set<String> keys = new TreeSet<>();
        env.lines().forEach(l -> keys.add(l.substring(0, l.indexOf('='))));
        assertEquals(Set.of("HOME", "LANG", "PATH", "TMPDIR", "USER"), keys, env);
        for (var e : System.getenv().entrySet()) {
            if (e.getValue().length() >= 6 && !Set.of("PATH", "LANG").contains(e.getKey())) {
                assertFalse(env.contains(e.getValue()), "leaked " + e.getKey());
            }
        }
        ExecOutcome proc = h.sandbox(10_000, "/bin/sh", "-c", "cat /proc/1/environ | tr '\\0' '\\n'");
        assertFalse(out(proc).contains("JAVA_HOME") || out(proc).contains("MAVEN"), out(proc));
    }

    @Override
    protected void assertMemoryOutcome(ExecOutcome o) {
        super.assertMemoryOutcome(o);
        ExecOutcome.Killed k = (ExecOutcome.Killed) o;
        assertTrue(k.usage().peakMemoryKb() <= (long) h.config.limits().memoryMb() * 1024 + 1024, k.usage().toString());
    }
}
