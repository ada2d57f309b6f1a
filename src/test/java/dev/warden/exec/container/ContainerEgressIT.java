package dev.warden.exec.container;

import static dev.warden.exec.container.ContainerHarness.err;
import static dev.warden.exec.host.SandboxHarness.out;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.CallEgress;
import dev.warden.exec.EgressEscapes;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.FakeEgress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * L3 with egress: each container reaches the proxy (a {@link FakeEgress} here) through the stub's
 * relay on its own 127.0.0.1:3128, and nothing else; its port goes with it. Under runc here;
 * {@link RunscContainerEgressIT} runs the same tests under gVisor (whose runsc must be registered
 * with --host-uds=open to reach the socket).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerEgressIT {

    FakeEgress fake;
    ContainerHarness h;

    String runtime() {
        return "runc";
    }

    @BeforeAll
    void start() throws Exception {
        fake = new FakeEgress();
        h = ContainerHarness.unpooled(runtime(), fake, "python", "bash", "javascript");
    }

    @AfterAll
    void stop() {
        if (h != null) {
            h.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    @Test
    void pythonsUrllibReachesTheProxyAndThePortGoesWithTheContainer() throws Exception {
        ExecOutcome o = h.run("python", "import urllib.request\n"
                + "print(urllib.request.urlopen('http://example.test/x').read().decode())");
        assertEquals("GET http://example.test/x HTTP/1.1\n", out(o), err(o));
        assertEquals(List.of(), h.awaitNoContainers());
        assertEquals(List.of(), fake.openPorts(), "closed with the container");
        assertTrue(fake.closedPorts().stream().allMatch(n -> n.startsWith("l3-warden-")), fake.closedPorts().toString());
    }

    @Test
    void nodesFetchReachesTheProxy() {
        ExecOutcome o = h.run("javascript",
                "fetch('http://example.test/x').then(r => r.text()).then(t => console.log(t))");
        // Node 18 of the image: the preload's CONNECT tunnel (its undici has no proxy agent to offer)
        assertEquals("CONNECT example.test:80 HTTP/1.1 | GET /x HTTP/1.1\n", out(o), err(o));
        assertEquals("", err(o), "no warning of the preload's");
    }

    @Test
    void theCallUsesItsContainersPort() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        CallEgress egress = port -> {
            events.add("use " + port.dir().getFileName());
            return () -> events.add("done");
        };
        ExecOutcome o = h.runtime.executor().run(ExecRequest.code(List.of(), h.workspace,
                new byte[0], Map.of(), Map.of(), "bash", "curl -sS http://example.test/x || echo no-curl")
                .withEgress(egress), h.limits("bash", 30_000));
        assertFalse(out(o).isEmpty(), err(o));
        h.awaitNoContainers();
        assertEquals(2, events.size(), events.toString());
        assertTrue(events.get(0).matches("use l3-warden-\\d+-\\d+"), events.toString());
        assertEquals("done", events.get(1));
    }

    @Test
    void rawTcpAndEverythingElseOutFails() throws Exception {
        List<String> hosts = EgressEscapes.outsideAddresses();
        ExecOutcome o = h.run("python", EgressEscapes.program(hosts, 9),
                120_000, "", Map.of());
        String text = out(o);
        assertFalse(text.contains("OUT"), text);
        assertTrue(text.contains("udp refused") && text.contains("dns refused") && text.contains("relay answers"),
                text + err(o));
        assertTrue(text.endsWith("relay answers\n"), text);
    }
}
