package dev.warden.exec.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.ConfigLoader;
import dev.warden.exec.CallEgress;
import dev.warden.exec.CountingListener;
import dev.warden.exec.EgressPort;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.EgressEscapes;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.FakeEgress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * L2 with egress: each slot's sandbox reaches the proxy (a {@link FakeEgress} here) through the
 * stub's relay on its own loopback (its slot's port), and nothing else. Every case of the executor contract runs
 * again on these sandboxes (the relay must not change any of them: the fork bomb, the daemons, the
 * loopback-only network, the minimal environment plus the proxy's variables), with no pre-created
 * sandbox, so any process left in a slot after a run, a relay included, is a leak.
 */
class SandboxEgressIT extends SandboxContractIT {

    static final String ECHO = "GET http://example.test/x HTTP/1.1";
    private FakeEgress fake;

    @Override
    SandboxHarness harness() throws IOException {
        fake = new FakeEgress();
        Path overlay = Files.createTempFile("warden-it-config-", ".yaml");
        try {
            Files.writeString(overlay, "sandbox:\n  warm_per_session: 0\n");
            return new SandboxHarness(new ConfigLoader().load(overlay), fake);
        }
        finally {
            Files.delete(overlay);
        }
    }

    @AfterAll
    void stopFake() {
        if (fake != null) {
            fake.close();
        }
    }

    /** Nothing pre-created here: every process in a slot after a run is a leak, a relay too. */
    @Override
    protected List<String> leftovers() {
        return h.hostProcessesOfSlots();
    }

    @Override
    protected Set<String> allowedEnvKeys() {
        Set<String> keys = new TreeSet<>(super.allowedEnvKeys());
        keys.addAll(EgressPort.env().keySet());
        return keys;
    }

    @Override
    protected boolean setByTier(String key, String value) {
        return value.equals(EgressPort.env().get(key));
    }

    @Override
    protected void assertEnvironment(String env) {
        Set<String> keys = new TreeSet<>();
        env.lines().forEach(l -> keys.add(l.substring(0, l.indexOf('='))));
        assertEquals(allowedEnvKeys(), keys, env);
        // the relay on the sandbox's loopback: its slot's port in the session's network namespace
        assertTrue(java.util.regex.Pattern.compile("(?m)^HTTPS_PROXY=http://127\\.0\\.0\\.1:280\\d\\d$").matcher(env).find(), env);
    }

    @Test
    void everySlotHasItsOwnPortOpenWhileTheRuntimeIs() {
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < h.config.sandbox().slots(); i++) {
            expected.add("l2-" + i);
        }
        expected.sort(null);
        assertEquals(expected, fake.openPorts());
    }

    @Test
    void curlReachesTheProxyThroughTheRelay() {
        ExecOutcome o = h.sandbox(20_000, "/usr/bin/curl", "-sS", "http://example.test/x");
        assertEquals(ECHO, out(o), err(o));
    }

    @Test
    void pythonsUrllibUsesTheProxyWithNoCodeOfItsOwn() {
        ExecOutcome o = python("import urllib.request\n"
                + "print(urllib.request.urlopen('http://example.test/x').read().decode())", 20_000);
        assertEquals(ECHO + "\n", out(o), err(o));
    }

    @Test
    void nodesFetchUsesTheProxyThroughThePreloadSilently() {
        ExecOutcome o = h.sandbox(30_000, "/usr/bin/node", "-e",
                "fetch('http://example.test/x').then(r => r.text()).then(t => console.log(t))");
        // Node 20's EnvHttpProxyAgent tunnels plain http too
        assertEquals("CONNECT example.test:80 HTTP/1.1 | GET /x HTTP/1.1\n", out(o), err(o));
        assertEquals("", err(o), "no warning of the preload's");
    }

    @Test
    void theCallUsesItsSlotsPortUntilTheRunIsOver() {
        List<String> events = new CopyOnWriteArrayList<>();
        CallEgress egress = port -> {
            events.add("use " + port.dir().getFileName());
            return () -> events.add("done");
        };
        ExecOutcome o = h.runtime.sandbox().run(new ExecRequest(List.of("/usr/bin/curl", "-sS", "http://example.test/x"),
                h.workspace, "", null, Map.of()).withEgress(egress), h.limits(20_000));
        assertEquals(ECHO, out(o), err(o));
        assertEquals(2, events.size(), events.toString());
        assertTrue(events.get(0).matches("use l2-\\d+"), events.toString());
        assertEquals("done", events.get(1));
    }

    @Test
    void aRunEndsWithItsProgramWhateverTheRelayHolds() {
        // a connection left open through the relay, and the program exits: the answer does not wait
        long t0 = System.nanoTime();
        ExecOutcome o = python("import os, socket\nport = int(os.environ['HTTP_PROXY'].rsplit(':', 1)[1])\n"
                + "s = socket.create_connection(('127.0.0.1', port))\n"
                + "s.sendall(b'GET http://example.test/slow HTTP/1.1\\r\\n')\nprint('bye')", 20_000);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals("bye\n", out(o), err(o));
        assertTrue(ms < 5_000, "took " + ms + " ms");
    }

    @Test
    void theRelayIsConfinedAndOutOfTheProgramsReach() {
        ExecOutcome o = bash("""
            for p in /proc/[0-9]*; do
              if [ "$(cat $p/comm 2>/dev/null)" = warden-relay ]; then
                grep -E '^(NoNewPrivs|Seccomp):' $p/status
                cat $p/environ > /dev/null 2>&1 && echo environ-readable || echo environ-refused
                ls $p/fd > /dev/null 2>&1 && echo fds-readable || echo fds-refused
              fi
            done
            """, 10_000);
        assertEquals("NoNewPrivs:\t1\nSeccomp:\t2\nenviron-refused\nfds-refused\n", out(o), err(o));
    }

    @Test
    void theProxysSocketIsTheSameDoorAndItsDirectoryIsReadOnly() {
        ExecOutcome o = python("""
            import os, socket
            s = socket.socket(socket.AF_UNIX)
            s.connect('/.warden/net/proxy.sock')
            s.sendall(b'GET http://direct.test/ HTTP/1.1\\r\\nHost: direct.test\\r\\n\\r\\n')
            print(s.recv(4096).decode().split('\\r\\n\\r\\n')[1])
            for attempt in (lambda: open('/.warden/net/x', 'w'), lambda: os.mkdir('/.warden/net/d'),
                            lambda: os.unlink('/.warden/net/proxy.sock'), lambda: os.symlink('/tmp', '/.warden/net/l'),
                            lambda: open('/.warden/net/node-proxy.cjs', 'a')):
                try:
                    attempt(); print('WRITABLE')
                except OSError as e:
                    print('refused', e.errno)
            """, 10_000);
        assertTrue(out(o).startsWith("GET http://direct.test/ HTTP/1.1\n"), out(o) + err(o));
        assertFalse(out(o).contains("WRITABLE"), out(o));
        // EROFS, or EACCES first for the root-owned preload
        assertEquals(5, out(o).lines().filter(l -> l.equals("refused 30") || l.equals("refused 13")).count(), out(o));
    }

    @Test
    void onlyTheRelayAnswersEveryOtherWayOutFails() throws Exception {
        try (CountingListener listener = new CountingListener(InetAddress.getByName("0.0.0.0"))) {
            int seenBefore = fake.seen().size();
            ExecOutcome o = python(EgressEscapes.program(EgressEscapes.outsideAddresses(), listener.port()), 120_000);
            assertInstanceOf(ExecOutcome.Completed.class, o, () -> "got " + o);
            assertFalse(out(o).contains("OUT"), out(o));
            assertTrue(out(o).contains("udp refused") && out(o).contains("dns refused")
                    && out(o).contains("icmp refused"), out(o) + err(o));
            assertTrue(out(o).endsWith("relay answers\n"), out(o) + err(o));
            assertEquals(0, listener.accepted.get(), "nothing reached the host's listener");
            assertEquals(seenBefore, fake.seen().size(), "an empty connection through the relay is no request");
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), listener.port())) {
                Thread.sleep(100);
            }
            assertEquals(1, listener.accepted.get(), "the host's listener works");
        }
    }
}
