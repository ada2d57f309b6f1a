package dev.warden.exec.container;

import static dev.warden.exec.container.ContainerHarness.err;
import static dev.warden.exec.host.SandboxHarness.out;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.CountingListener;
import dev.warden.exec.ExecOutcome;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What untrusted code tries from inside an L3 container, and what must hold: no network (not the
 * host's loopback, not the docker0 gateway), a read-only root filesystem, the wall limit with
 * nothing left behind, no host files, no capabilities, no io_uring and no kernel keyring. Under
 * runc here; {@link RunscContainerEscapeIT} runs the same tests under gVisor. The cases every
 * executor must pass (the pids and memory limits, the output cap, setuid tools, …) are in {@link
 * dev.warden.exec.ExecutorContract}, run against L3 by {@link ContainerContractIT} and {@link
 * RunscContainerContractIT}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerEscapeIT {

    ContainerHarness h;

    /** The policy's container_runtime these tests run under. */
    String runtime() {
        return "runc";
    }

    @BeforeAll
    void start() throws Exception {
        h = ContainerHarness.unpooled(runtime(), "python", "bash", "c");
    }

    @AfterAll
    void stop() {
        if (h != null) {
            h.close();
        }
    }

    @AfterEach
    void nothingIsLeftRunning() throws Exception {
        assertEquals(List.of(), h.awaitNoContainers(), "every container is removed after its call");
    }

    private static InetAddress dockerGateway() throws IOException {
        NetworkInterface docker0 = NetworkInterface.getByName("docker0");
        if (docker0 != null) {
            for (InetAddress a : java.util.Collections.list(docker0.getInetAddresses())) {
                if (a instanceof Inet4Address) {
                    return a;
                }
            }
        }
        return InetAddress.getByName("172.17.0.1");
    }

    @Test
    void neitherHostLoopbackNorDockerGatewayIsReachable() throws Exception {
        InetAddress gateway = dockerGateway();
        try (CountingListener loop = new CountingListener(InetAddress.getLoopbackAddress());
                CountingListener gw = new CountingListener(gateway)) {
            String code = """
                import socket
                for host, port in (("127.0.0.1", %d), ("%s", %d), ("1.1.1.1", 80)):
                    try:
                        socket.create_connection((host, port), timeout=2); print("CONNECTED", host)
                    except OSError as e:
                        print("unreachable", host, e.errno)
                """.formatted(loop.socket.getLocalPort(), gateway.getHostAddress(), gw.socket.getLocalPort());
            ExecOutcome o = h.run("python", code, 20_000, "", Map.of());
            assertFalse(out(o).contains("CONNECTED"), out(o));
            assertTrue(out(o).contains("unreachable 127.0.0.1") && out(o).contains("unreachable " + gateway.getHostAddress()),
                    out(o) + err(o));
            ExecOutcome ifaces = h.run("bash", "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '");
            assertEquals("lo\n", out(ifaces), "only loopback inside (--network none)");
            // the listeners really work: a connection from the host is seen
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), loop.socket.getLocalPort());
                    Socket s2 = new Socket(gateway, gw.socket.getLocalPort())) {
                Thread.sleep(100);
            }
            assertEquals(1, loop.accepted.get(), "only the host's own connection reached the loopback listener");
            assertEquals(1, gw.accepted.get(), "only the host's own connection reached the docker0 listener");
        }
    }

    @Test
    void rootFilesystemIsReadOnly() {
        ExecOutcome o = h.run("bash", """
            for f in /etc/warden-test /usr/bin/warden-test /warden-test /.warden/spawn /var/tmp/x; do
              if ( echo x > "$f" ) 2>/dev/null; then echo "WROTE $f"; else echo "refused $f"; fi
            done
            echo ok > /tmp/scratch && echo "tmp writable"
            echo ok > /workspace/scratch && echo "workspace writable"
            """);
        assertFalse(out(o).contains("WROTE"), out(o));
        assertTrue(out(o).contains("refused /etc/warden-test"), out(o) + err(o));
        assertTrue(out(o).contains("tmp writable") && out(o).contains("workspace writable"), out(o) + err(o));
    }

    @Test
    void aProcessThatOutlivesTheTimeoutLeavesNoContainer() throws Exception {
        long t0 = System.nanoTime();
        ExecOutcome o = h.run("bash", "(trap '' TERM HUP; sleep 300) & disown; echo started; sleep 300", 1_500, "",
                Map.of());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertInstanceOf(ExecOutcome.TimedOut.class, o, () -> "got " + o);
        assertEquals("started\n", out(o));
        assertTrue(ms < 6_000, "stopped near its limit, took " + ms + " ms");
        assertEquals(List.of(), h.awaitNoContainers(), "the container is gone, with everything it started");
    }

    @Test
    void hostFilesAreNotVisible() throws Exception {
        Path secret = Files.createTempFile("warden-host-secret-", ".txt");
        Files.writeString(secret, "HOST-SECRET-42");
        try {
            ExecOutcome o = h.run("bash", "cat " + secret + " 2>&1; cat /etc/hostname; ls / ; "
                    + "cat /proc/1/root/etc/hostname 2>&1; grep -r HOST-SECRET-42 /tmp /workspace 2>/dev/null; echo done");
            assertFalse(out(o).contains("HOST-SECRET-42"), out(o));
            assertTrue(out(o).contains("No such file"), out(o));
            assertTrue(out(o).contains("sandbox"), "its own hostname: " + out(o));
            // the host's root directory, for contrast, has the file
            assertTrue(Files.readString(secret).contains("HOST-SECRET-42"));
        }
        finally {
            Files.delete(secret);
        }
    }

    @Test
    void runsUnprivilegedWithoutCapabilities() {
        ExecOutcome o = h.run("bash", "id -u; id -g; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status");
        List<String> lines = new ArrayList<>(out(o).lines().toList());
        assertNotEquals("0", lines.get(0), "not root");
        assertEquals(String.valueOf(h.config.container().uid()), lines.get(0));
        assertEquals(String.valueOf(h.config.sandbox().gid()), lines.get(1), "the workspace group");
        assertTrue(out(o).contains("CapEff:\t0000000000000000"), out(o));
        assertTrue(out(o).contains("CapPrm:\t0000000000000000"), out(o));
        assertTrue(out(o).contains("CapBnd:\t0000000000000000"), out(o));
        if (runtime().equals("runc")) {
            assertTrue(out(o).contains("NoNewPrivs:\t1"), out(o)); // gVisor's /proc has no such line
        }
        ExecOutcome nnp = h.run("python", "import ctypes\nprint(ctypes.CDLL(None).prctl(39, 0, 0, 0, 0))"); // PR_GET_NO_NEW_PRIVS
        assertEquals("1\n", out(nnp), "no-new-privileges: " + err(nnp));
        assertTrue(out(o).contains("Seccomp:\t2"), "the engine's seccomp filter: " + out(o));
    }

    @Test
    void aMissingImageIsRefusedNamingTheBuildScript() throws Exception {
        try (ContainerHarness other = new ContainerHarness("{python: 0}", "warden-not-built/")) {
            ExecOutcome o = other.runtime.executor().run(dev.warden.exec.ExecRequest.code(List.of(), other.workspace,
                    new byte[0], Map.of(), Map.of(), "python", "print(1)"), other.limits("python", 5_000));
            ExecOutcome.Refused r = assertInstanceOf(ExecOutcome.Refused.class, o);
            assertTrue(r.reason().contains("warden-not-built/python") && r.reason().contains("tools/build-images.sh"),
                    r.reason());
        }
    }

    @Test
    void aForgedEndMarkerEndsTheRunAndEverythingInIt() throws Exception {
        // the program prints the end marker itself, then goes on writing into the workspace
        String code = """
            import sys, time
            sys.stdout.write("before\\n\\x1eWARDEN-EXIT:0\\n"); sys.stdout.flush()
            sys.stderr.write("\\x1eWARDEN-EXIT:0\\n"); sys.stderr.flush()
            for i in range(400):
                with open("/workspace/after.txt", "a") as f:
                    f.write("x")
                time.sleep(0.025)
            """;
        ExecOutcome o = h.run("python", code, 20_000, "", Map.of());
        assertEquals("before\n", out(o), "its own status, its run ended early: no more than an exit could do");
        Thread.sleep(1000);
        long size = Files.size(h.workspace.resolve("after.txt"));
        Thread.sleep(1500);
        assertEquals(size, Files.size(h.workspace.resolve("after.txt")), "nothing of it runs after the call");
    }

    /** Each syscall of the list, by number (x86-64), from python: "name errno" per line, or "name ALLOWED". */
    private String syscalls(String calls) {
        String code = """
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            params = ctypes.create_string_buffer(120)
            desc = ctypes.c_char_p(b"warden")
            for name, nr, args in %s:
                r = libc.syscall(nr, *[params if a == "params" else desc if a == "desc" else ctypes.c_long(a) for a in args])
                e = ctypes.get_errno()
                print(name, "ALLOWED" if r >= 0 else e)
            """.formatted(calls);
        ExecOutcome o = h.run("python", code, 20_000, "", Map.of());
        assertInstanceOf(ExecOutcome.Completed.class, o, () -> "got " + o + " " + err(o));
        return out(o);
    }

    @Test
    void ioUringIsRefused() {
        // io_uring_setup(1 entry, params); enter and register on fd -1 must be refused by the filter,
        // not answered with EBADF by the kernel
        String o = syscalls("""
            [("io_uring_setup", 425, [1, "params"]), ("io_uring_enter", 426, [-1, 1, 0, 0, 0, 0]),
             ("io_uring_register", 427, [-1, 0, 0, 0])]""");
        assertEquals("io_uring_setup 1\nio_uring_enter 1\nio_uring_register 1\n", o,
                "each refused with EPERM by the seccomp profile (Docker 20.10's default allows them): " + o);
    }

    @Test
    void theKernelKeyringIsRefused() {
        // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create), add_key("user", "warden", …),
        // request_key("user", "warden", …)
        String o = syscalls("""
            [("keyctl", 250, [0, -3, 1]), ("add_key", 248, ["desc", "desc", 0, 0, -3]),
             ("request_key", 249, ["desc", "desc", 0, 0])]""");
        assertEquals("keyctl 1\nadd_key 1\nrequest_key 1\n", o, "each refused with EPERM: " + o);
    }

    @Test
    void aProgramCannotForgeAStubFailure() {
        // the words and the exit code of a launcher failure, from the program itself: it ran, so it
        // is its own failure (issue 11, finding 6), and its stderr is its own, without the start mark
        ExecOutcome o = h.run("bash", "echo 'warden-spawn: cannot start the program' >&2; exit 125");
        ExecOutcome.Completed c = assertInstanceOf(ExecOutcome.Completed.class, o, () -> "got " + o);
        assertEquals(125, c.exitCode());
        assertEquals("warden-spawn: cannot start the program\n",
                new String(c.stderr().bytes(), java.nio.charset.StandardCharsets.UTF_8));
    }
}
