package dev.warden.exec.host;

import dev.warden.exec.ExecOutcome;
import static dev.warden.exec.host.SandboxHarness.err;
import static dev.warden.exec.host.SandboxHarness.out;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Warden as systemd runs it: inside a session keyring that holds a key. A test JVM has none of its
 * own, so the server side runs in a child JVM started by {@code keyctl session}, after a key was
 * added to that session ({@link Server}); its L1 and L2 runs then try to read the key, plant one and
 * clear the keyring, and the server's keyring is checked from outside the runs afterwards.
 */
class SessionKeyringIT {

    static final String KEY = "warden-it-key";
    static final String SECRET = "S3CRET-KEYRING-VALUE";

    /** Tries everything a run could do with the session keyring it was given. */
    static final String ATTACK = """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        x86 = os.uname().machine == 'x86_64'
        ADD_KEY, KEYCTL = (248, 250) if x86 else (217, 219)
        SESSION = -3
        try:
            print('PROCKEYS', open('/proc/keys').read().replace('\\n', ' | '))
        except OSError as e:
            print('PROCKEYS unreadable', e.errno)
        kid = libc.syscall(KEYCTL, 10, SESSION, b'user', b'%s', 0)          # KEYCTL_SEARCH
        if kid >= 0:
            buf = ctypes.create_string_buffer(256)
            n = libc.syscall(KEYCTL, 11, kid, buf, 256)                    # KEYCTL_READ
            print('READ', buf.raw[:max(n, 0)].decode())
        if libc.syscall(ADD_KEY, b'user', b'planted-by-run', b'x', 1, SESSION) >= 0:
            print('PLANTED')
        if libc.syscall(KEYCTL, 7, SESSION) == 0:                            # KEYCTL_CLEAR
            print('CLEARED')
        print('DONE')
        """.formatted(KEY);

    @Test
    void runsGetAFreshEmptySessionKeyring() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder("keyctl", "session", "-", "sh", "-c",
                "keyctl add user " + KEY + " " + SECRET + " @s >/dev/null && exec \"$0\" -cp \"$1\" \"$2\"",
                java, System.getProperty("java.class.path"), Server.class.getName());
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p = pb.start();
        p.getOutputStream().close();
        String report = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child server finished");
        assertEquals(0, p.exitValue(), report);
        List<String> lines = report.lines().toList();
        assertFalse(report.contains(SECRET), "a run read the server's key: " + report);
        assertFalse(lines.stream().anyMatch(l -> !l.startsWith("HOST ") && l.contains(KEY)),
                "a run saw the server's key: " + report);
        // the runs themselves may not touch a keyring at all (the syscall filter); the bare launcher may
        // plant and clear in its own fresh one, and the server's keyring must not notice either
        assertFalse(lines.contains("L1 PLANTED") || lines.contains("L2 PLANTED"), report);
        assertFalse(lines.contains("L1 CLEARED") || lines.contains("L2 CLEARED"), report);
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("HOST ") && l.contains("planted-by-run")), report);
        assertTrue(lines.contains("L1 DONE") && lines.contains("L2 DONE") && lines.contains("LAUNCHER DONE"),
                "every run reported: " + report);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("HOST ") && l.contains(KEY)),
                "the server's session really held the key: " + report);
    }

    /** The server side, in the keyring session: runs the attack in L1 and L2, then lists its own keyring. */
    static final class Server {

        public static void main(String[] args) throws Exception {
            try (SandboxHarness h = new SandboxHarness()) {
                report("L2", h.sandbox(30_000, "/usr/bin/python3", "-c", ATTACK));
                report("L1", h.inline(30_000, "/usr/bin/python3", "-c", ATTACK));
                // The L1 launcher's own keyring, without the Landlock domain that hides /proc/keys from
                // the program and the syscall filter that refuses keyctl: what the keyring itself holds
                Path launcher = h.state.resolve("bin").resolve("warden-spawn");
                Process direct = new ProcessBuilder(launcher.toString(), "--session-keyring",
                        "--uid", Integer.toString(h.runtime.firstUid()), "--gid", Integer.toString(h.config.sandbox().gid()),
                        "--", "/usr/bin/python3", "-c", ATTACK).redirectErrorStream(true).start();
                direct.getOutputStream().close();
                String out = new String(direct.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                direct.waitFor();
                out.lines().forEach(l -> System.out.println("LAUNCHER " + l));
                Process host = new ProcessBuilder("keyctl", "show", "@s").redirectErrorStream(true).start();
                String keys = new String(host.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                host.waitFor();
                System.out.println("HOST " + keys.replace('\n', ' '));
            }
            System.out.flush();
            System.exit(0);
        }

        private static void report(String tier, ExecOutcome o) {
            (out(o) + err(o)).lines().forEach(l -> System.out.println(tier + " " + l));
            if (!(o instanceof ExecOutcome.Completed)) {
                System.out.println(tier + " OUTCOME " + o);
            }
        }
    }
}
