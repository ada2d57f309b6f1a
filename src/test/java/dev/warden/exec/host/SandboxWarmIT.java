package dev.warden.exec.host;

import static dev.warden.exec.host.SandboxHarness.err;
import static dev.warden.exec.host.SandboxHarness.out;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Warm interpreters on real sandboxes: after a python call the session's next sandbox runs the next
 * one in an interpreter already started, which sees what a cold start sees (environment, rlimits,
 * umask, directory, ids, seccomp and capabilities, argv, globals, stdin after the code); a call of
 * another shape (other limits, files) starts cold. How each run started is its usage's start.
 */
class SandboxWarmIT {

    static SandboxHarness h;

    static final Map<String, String> ENV = Map.of("PYTHONDONTWRITEBYTECODE", "1", "PYTHONUNBUFFERED", "1");

    static final String PROBE = """
            import os, sys, resource
            print(sorted(globals()), sys.argv, __name__, sys.orig_argv[-1][:20], sys.path)
            print(sorted(os.environ.items()))
            print([(n, resource.getrlimit(getattr(resource, n))) for n in sorted(dir(resource)) if n.startswith("RLIMIT_")])
            um = os.umask(0); os.umask(um); print(um, os.getcwd(), os.getgid(), os.getgroups(), os.getpid())
            print([l for l in open("/proc/self/status").read().splitlines() if l.split(":")[0] in
                   ("Seccomp", "NoNewPrivs", "CapEff", "CapBnd", "CapPrm")])
            print(sorted(sys.modules), sorted(os.listdir("/proc/self/fd")))
            print(repr(sys.stdin.read()))
            """;

    @BeforeAll
    static void start() throws IOException {
        h = new SandboxHarness();
    }

    @AfterAll
    static void stop() {
        if (h != null) {
            h.close();
        }
    }

    private static ExecRequest python(String code, String stdin, Map<String, String> files) {
        return ExecRequest.code(List.of("/usr/bin/python3", "-c", code), h.workspace,
                stdin.getBytes(StandardCharsets.UTF_8), ENV, files, "python", code);
    }

    private static ExecOutcome run(ExecRequest r, Limits l) {
        return h.runtime.sandbox().run(r, l);
    }

    /** A run in a warm interpreter: tried until the session's next sandbox (made after the run before) is one. */
    private static ExecOutcome warm(ExecRequest r, Limits l) throws InterruptedException {
        ExecOutcome o = null;
        for (int i = 0; i < 10; i++) {
            Thread.sleep(500);
            o = run(r, l);
            if (SandboxExecutor.WARM_INTERPRETER.equals(o.usage().start())) {
                return o;
            }
        }
        assertEquals(SandboxExecutor.WARM_INTERPRETER, o.usage().start(), "never warm");
        return o;
    }

    @Test
    void aWarmRunSeesWhatAColdRunSees() throws InterruptedException {
        Limits l = h.limits(20_000);
        run(python("pass", "", Map.of()), l); // shapes the session's next sandbox
        ExecOutcome cold = run(python(PROBE, "in\nput", Map.of("marker.txt", "x")), l);
        assertNotEquals(SandboxExecutor.WARM_INTERPRETER, cold.usage().start(), "a call with files starts cold");
        ExecOutcome warm = warm(python(PROBE, "in\nput", Map.of()), l);
        // the relay's port is the slot's (28000 + slot), and so is the uid here (the harness's workspace has no
        // tenant, whose uid every sandbox of a session shares: warm.test.mjs compares those): the two runs may
        // have had different slots
        String c = out(cold).replaceAll("127\\.0\\.0\\.1:28\\d\\d\\d", "RELAY");
        String w = out(warm).replaceAll("127\\.0\\.0\\.1:28\\d\\d\\d", "RELAY");
        assertEquals(c, w, err(warm));
        assertEquals(err(cold), err(warm));
        assertEquals("'in\\nput'", w.strip().lines().reduce((a, b) -> b).orElseThrow());
    }

    @Test
    void aRunWithOtherLimitsStartsColdUnderItsOwn() throws InterruptedException {
        Limits l = h.limits(20_000);
        warm(python("pass", "", Map.of()), l); // the next sandbox has an interpreter of this shape now
        Thread.sleep(500);
        Limits other = new Limits(20_000, l.cpuMs() + 5_000, l.memoryMb(), l.pids(), l.outputBytes(), l.fileSizeMb(),
                l.openFiles() / 2, l.tmpMb());
        ExecOutcome o = run(python("import resource; print(resource.getrlimit(resource.RLIMIT_CPU)[0], "
                + "resource.getrlimit(resource.RLIMIT_NOFILE)[0])", "", Map.of()), other);
        assertNotEquals(SandboxExecutor.WARM_INTERPRETER, o.usage().start());
        assertEquals(other.cpuSeconds() + " " + other.openFiles() + "\n", out(o), err(o));
    }

    @Test
    void anUncaughtExceptionIsPythonsOwn() throws InterruptedException {
        Limits l = h.limits(20_000);
        String code = "def f():\n    raise ValueError('v')\nf()";
        ExecOutcome cold = run(python(code, "", Map.of("marker.txt", "x")), l);
        ExecOutcome warm = warm(python(code, "", Map.of()), l);
        assertEquals("Traceback (most recent call last):\n  File \"<string>\", line 3, in <module>\n"
                + "  File \"<string>\", line 2, in f\nValueError: v\n", err(warm));
        assertEquals(err(cold), err(warm));
        assertEquals(((ExecOutcome.Completed) cold).exitCode(), ((ExecOutcome.Completed) warm).exitCode());
    }
}
