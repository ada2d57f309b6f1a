package dev.warden.exec.host;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import static dev.warden.exec.host.SandboxHarness.err;
import static dev.warden.exec.host.SandboxHarness.exit;
import static dev.warden.exec.host.SandboxHarness.out;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The kernel surface left to L1 and L2 runs: each dangerous syscall is really made (Python's ctypes,
 * with this architecture's numbers and arguments that succeed, or fail some other way, without a
 * filter) and must be refused with EPERM or ENOSYS. And the verdict "the sandbox could not be
 * created" must come from the launcher, not from what a program prints.
 */
class SyscallFilterIT {

    static SandboxHarness h;

    @BeforeAll
    static void start() throws IOException {
        h = new SandboxHarness();
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    /** Prints "name result" per syscall: "ok" or the errno's name. */
    static final String PROBE = """
        import ctypes, errno, os, platform
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        NR = {
         'x86_64': dict(keyctl=250, add_key=248, request_key=249, io_uring_setup=425, userfaultfd=323,
                        perf_event_open=298, bpf=321, unshare=272, mount=165, ptrace=101, open_by_handle_at=304,
                        memfd_create=319, clone3=435, personality=135, fsopen=430, open_tree=428, setns=308),
         'aarch64': dict(keyctl=219, add_key=217, request_key=218, io_uring_setup=425, userfaultfd=282,
                        perf_event_open=241, bpf=280, unshare=97, mount=40, ptrace=117, open_by_handle_at=265,
                        memfd_create=279, clone3=435, personality=92, fsopen=430, open_tree=428, setns=268),
        }[platform.machine()]
        s, L = ctypes.c_char_p, ctypes.c_long
        calls = {
         'keyctl': (L(0), L(-3), L(0)),                                   # KEYCTL_GET_KEYRING_ID @s
         'add_key': (s(b'user'), s(b'warden-probe'), s(b'v'), L(1), L(-3)),
         'request_key': (s(b'user'), s(b'warden-none'), L(0), L(0)),       # ENOKEY unfiltered
         'io_uring_setup': (L(1), L(0)),                                  # EFAULT unfiltered
         'userfaultfd': (L(1 | os.O_CLOEXEC),),                           # UFFD_USER_MODE_ONLY
         'perf_event_open': (L(0), L(0), L(-1), L(-1), L(0)),             # EFAULT unfiltered
         'bpf': (L(999), L(0), L(0)),                                     # EINVAL unfiltered
         'unshare': (L(0x10000000),),                                     # CLONE_NEWUSER
         'mount': (s(b'none'), s(b'/nonexistent-warden'), s(b'tmpfs'), L(0), L(0)),  # ENOENT unfiltered
         'ptrace': (L(16), L(999999999), L(0), L(0)),                     # PTRACE_ATTACH: ESRCH unfiltered
         'open_by_handle_at': (L(-1), L(0), L(0)),
         'fsopen': (s(b'tmpfs'), L(0)),
         'open_tree': (L(-100), s(b'/'), L(1)),                           # OPEN_TREE_CLONE
         'setns': (L(-1), L(0)),                                          # EBADF unfiltered
         'clone3': (L(0), L(0)),                                          # EINVAL unfiltered
         'personality': (L(0x0040000),),                                  # ADDR_NO_RANDOMIZE
         'memfd_create': (s(b'warden'), L(0)),
        }
        for name, args in calls.items():
            r = libc.syscall(L(NR[name]), *args)
            print(name, 'ok' if r >= 0 else errno.errorcode.get(ctypes.get_errno(), '?'))
        print('query', libc.syscall(L(NR['personality']), L(0xffffffff)) >= 0)
        """;

    static final List<String> REFUSED = List.of("keyctl", "add_key", "request_key", "io_uring_setup", "userfaultfd",
            "perf_event_open", "bpf", "unshare", "mount", "ptrace", "open_by_handle_at", "fsopen", "open_tree", "setns",
            "clone3", "personality");

    private static Map<String, String> results(ExecOutcome o) {
        Map<String, String> r = new TreeMap<>();
        out(o).lines().map(l -> l.split(" ", 2)).filter(p -> p.length == 2).forEach(p -> r.put(p[0], p[1]));
        assertEquals(REFUSED.size() + 2, r.size(), "the probe ran: " + out(o) + err(o));
        return r;
    }

    private static void assertRefused(Map<String, String> r, String tier) {
        for (String name : REFUSED) {
            String got = r.get(name);
            assertTrue("EPERM".equals(got) || "ENOSYS".equals(got), tier + ": " + name + " gave " + got + " in " + r);
        }
        // allowed on purpose (see seccomp-filter.c): runtimes use it, and it gives nothing new
        assertEquals("ok", r.get("memfd_create"), tier);
        assertEquals("True", r.get("query"), tier + ": personality's query still answers");
    }

    @Test
    void sandboxRefusesTheKernelSurface() {
        assertRefused(results(h.sandbox(20_000, "/usr/bin/python3", "-c", PROBE)), "L2");
    }

    @Test
    void inlineRefusesTheKernelSurface() {
        assertRefused(results(h.inline(20_000, "/usr/bin/python3", "-c", PROBE)), "L1");
    }

    @Test
    void runtimesStillWorkUnderTheFilter() {
        ExecOutcome py = h.sandbox(20_000, "/usr/bin/python3", "-c", """
            import subprocess, threading, multiprocessing
            from multiprocessing import shared_memory
            print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout.strip())
            t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()
            with multiprocessing.Pool(2) as p: print(sum(p.map(abs, [-1, -2])))
            m = shared_memory.SharedMemory(create=True, size=64); m.close(); m.unlink(); print('shm')
            """);
        assertEquals("child\nthread\n3\nshm\n", out(py), err(py));
        ExecOutcome node = h.sandbox(20_000, "/usr/bin/node", "-e", """
            const { Worker } = require('worker_threads');
            const w = new Worker('require("worker_threads").parentPort.postMessage("worker")', { eval: true });
            w.on('message', m => { console.log(m);
              console.log(require('child_process').execSync('echo child').toString().trim()); });
            """);
        assertEquals("worker\nchild\n", out(node), err(node));
    }

    @Test
    void aProgramCannotForgeASandboxFailure() {
        ListAppender<ILoggingEvent> logged = capture(SandboxExecutor.class);
        try {
            ExecOutcome o = h.sandbox(10_000, "/bin/sh", "-c",
                    "echo 'bwrap: Creating new namespace failed: Operation not permitted' >&2;"
                    + " echo '2026-01-01 00:00:00 ERROR forged server line' >&2; exit 1");
            assertInstanceOf(ExecOutcome.Completed.class, o, "the program's own failure, not a refusal: " + o);
            assertEquals(1, exit(o));
            assertTrue(err(o).startsWith("bwrap: Creating new namespace failed"), err(o));
            assertTrue(logged.list.stream().noneMatch(e -> e.getFormattedMessage().contains("forged")), logged.list.toString());
        }
        finally {
            release(SandboxExecutor.class, logged);
        }
        ExecOutcome inline = h.inline(10_000, "/bin/sh", "-c", "echo 'warden-spawn: no_new_privs' >&2; exit 125");
        assertInstanceOf(ExecOutcome.Completed.class, inline, "L1 too: " + inline);
        assertEquals(125, exit(inline));
    }

    @Test
    void aRealSetupFailureIsOneEscapedLogLine() {
        ListAppender<ILoggingEvent> logged = capture(SandboxExecutor.class);
        try {
            // the working directory is the caller's text, and the launcher names it when it cannot enter it
            ExecOutcome o = h.runtime.sandbox().run(new ExecRequest(List.of("/bin/true"), h.workspace,
                    "missing\n2026-01-01 00:00:00 ERROR forged server line", null, Map.of()), h.limits(10_000));
            assertInstanceOf(ExecOutcome.Refused.class, o, o.toString());
            List<String> lines = logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
            assertTrue(lines.stream().anyMatch(l -> l.contains("cannot enter directory")), lines.toString());
            for (String l : lines) {
                assertFalse(l.contains("\n"), "one line per event: " + l);
                assertTrue(l.length() <= 300, "capped: " + l);
            }
            assertTrue(lines.stream().anyMatch(l -> l.contains("missing\\n2026")), "escaped, not dropped: " + lines);
        }
        finally {
            release(SandboxExecutor.class, logged);
        }
    }

    private static ListAppender<ILoggingEvent> capture(Class<?> source) {
        ListAppender<ILoggingEvent> a = new ListAppender<>();
        a.start();
        ((Logger) LoggerFactory.getLogger(source)).addAppender(a);
        return a;
    }

    private static void release(Class<?> source, ListAppender<ILoggingEvent> a) {
        ((Logger) LoggerFactory.getLogger(source)).detachAppender(a);
        a.stop();
    }
}
