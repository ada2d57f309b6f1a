package dev.warden.exec.host;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecutorContract;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * L1, the inline read-only executor, against the executor contract. L1 has no namespaces and no
 * cgroup: the kernel holds it with a dropped uid, RLIMIT_NPROC 1 (no child at all), RLIMIT_AS,
 * RLIMIT_FSIZE 0, Landlock (read the workspace and system files, write nothing, no TCP) and the
 * syscall filter. So some cases hold differently, and three do not apply (see {@link #notApplicable}).
 */
class InlineContractIT extends ExecutorContract {

    SandboxHarness h;

    @BeforeAll
    void start() throws IOException {
        h = new SandboxHarness();
    }

    @AfterAll
    void stop() {
        if (h != null) {
            h.close();
        }
    }

    @Override
    protected String notApplicable(Case c) {
        return switch (c) {
            case ONLY_LOOPBACK -> "L1 has no network namespace: it sees the host's interfaces, and Landlock refuses "
                    + "every TCP connect and bind instead (NETWORK holds)";
            case PROCESS_TREE_GONE -> "L1 cannot fork at all (RLIMIT_NPROC 1, InlineConfinementIT.cannotForkChildren): "
                    + "no child can exist to outlive the call, and bash would wait out its fork retries";
            case NO_ROOT -> "L1 cannot fork, so no setuid tool can be started from a shell; its uid is checked by "
                    + "UNPRIVILEGED, and the filter and no_new_privs hold as in L2";
            default -> null;
        };
    }

    @Override
    protected ExecOutcome python(String code, long timeoutMs) {
        return h.inline(timeoutMs, "/usr/bin/python3", "-c", code);
    }

    @Override
    protected ExecOutcome bash(String script, long timeoutMs) {
        return h.inline(timeoutMs, "/bin/bash", "-c", script);
    }

    @Override
    protected Path workspace() {
        return h.workspace;
    }

    @Override
    protected int outputCap() {
        return h.config.limits().outputBytes();
    }

    /** Processes running as one of this server's uids (the waiting launcher is still root until its request). */
    @Override
    protected List<String> leftovers() throws IOException {
        int first = h.runtime.firstUid();
        int count = h.runtime.uidCount();
        List<String> found = new java.util.ArrayList<>();
        try (var dirs = java.nio.file.Files.list(Path.of("/proc"))) {
            for (Path p : dirs.filter(d -> d.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    for (String l : java.nio.file.Files.readAllLines(p.resolve("status"))) {
                        if (l.startsWith("Uid:")) {
                            int uid = Integer.parseInt(l.split("\\s+")[1]);
                            if (uid >= first && uid < first + count) {
                                found.add(p.getFileName() + " uid " + uid + " "
                                        + java.nio.file.Files.readString(p.resolve("cmdline")).replace('\0', ' '));
                            }
                        }
                    }
                }
                catch (IOException | RuntimeException gone) {
                    // ended while we looked
                }
            }
        }
        return found;
    }

    /** No /tmp of its own: Landlock refuses every write, there too. */
    @Override
    protected boolean privateTmp() {
        return false;
    }

    @Override
    protected boolean seesOwnStatus() {
        return false; // Landlock allows reading the workspace and system trees only, not /proc
    }

    @Override
    protected void assertUid(int uid) {
        assertTrue(uid >= h.runtime.firstUid() && uid < h.runtime.firstUid() + h.runtime.uidCount(),
                "a slot's inline uid: " + uid);
    }

    @Override
    protected Set<String> allowedEnvKeys() {
        return Set.of("HOME", "LANG", "PATH");
    }

    /** No cgroup: RLIMIT_AS refuses the allocation (MemoryError) instead of a kill. */
    @Override
    protected void assertMemoryOutcome(ExecOutcome o) {
        ExecOutcome.Completed c = assertInstanceOf(ExecOutcome.Completed.class, o, () -> "got " + o);
        assertNotEquals(0, c.exitCode());
        assertTrue(err(o).contains("MemoryError"), err(o));
    }
}
