package dev.warden.egress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.sun.net.httpserver.HttpServer;
import dev.warden.exec.CallEgress;
import dev.warden.exec.EgressPort;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The proxy itself, through a port's unix socket as a sandbox's relay would use it, against a real local server. */
class EgressProxyTest {

    @TempDir
    Path tmp;

    private HttpServer web;
    private int webPort;
    private EgressProxy proxy;

    @BeforeEach
    void start() throws IOException {
        web = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        web.createContext("/", ex -> {
            byte[] body = ex.getRequestURI().getPath().equals("/big") ? new byte[200_000]
                    : ("hello " + ex.getRequestHeaders().getFirst("Host")).getBytes(StandardCharsets.UTF_8);
            if (ex.getRequestURI().getPath().equals("/redirect")) {
                ex.getResponseHeaders().add("Location", "http://elsewhere.test/");
                ex.sendResponseHeaders(302, -1);
                ex.close();
                return;
            }
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        web.start();
        webPort = web.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        web.stop(0);
        if (proxy != null) {
            proxy.close();
        }
    }

    private NetworkPolicy policy(String yaml) throws IOException {
        return NetworkPolicy.parse(new ObjectMapper(new YAMLFactory()).readTree(yaml), "standard");
    }

    private CallNetwork call(NetworkPolicy p) {
        return p.forCall("ex_test", List.of(), List.of(), Resolver.system(p.hosts()), Addresses.of(Set.of()));
    }

    private static String exchange(Path sock, String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            OutputStream out = Channels.newOutputStream(ch);
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = Channels.newInputStream(ch);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            in.transferTo(got);
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void anAllowedHostIsReachedAndCountedAndAnotherIsRefusedWithAReason() throws IOException {
        NetworkPolicy p = policy("allow: ['127.0.0.1:" + webPort + "']\nhosts: {web.test: 127.0.0.1}\n");
        proxy = new EgressProxy(p, tmp.resolve("net"));
        EgressPort port = proxy.open("l2-0");
        CallNetwork call = call(p);
        try (CallEgress.Use u = call.use(port)) {
            String ok = exchange(port.dir().resolve(EgressPort.SOCKET), "GET http://web.test:" + webPort
                    + "/x HTTP/1.1\r\nHost: web.test:" + webPort + "\r\nConnection: close\r\n\r\n");
            has(ok, "HTTP/1.1 200", "hello web.test:" + webPort);
            String no = exchange(port.dir().resolve(EgressPort.SOCKET),
                    "GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n");
            has(no, "HTTP/1.1 403", "example.org is not allowed by Warden's network policy");
        }
        NetworkReport r = call.report();
        assertEquals(1, r.allowed().size());
        assertEquals("web.test", r.allowed().get(0).get("host"));
        assertEquals(webPort, r.allowed().get(0).get("port"));
        assertTrue((Long) r.allowed().get(0).get("bytes_in") > 10);
        assertEquals(1, r.denied().size());
        assertEquals("example.org", r.denied().get(0).get("host"));
        assertEquals("127.0.0.1", r.attempts().get(0).get("address"));
        assertEquals(true, r.attempts().get(0).get("allowed"));
        // the server's totals (its metrics): the same bytes as the call's report, and the refusal
        assertEquals((Long) r.allowed().get(0).get("bytes_in"), proxy.bytesIn());
        assertEquals((Long) r.allowed().get(0).get("bytes_out"), proxy.bytesOut());
        assertEquals(1, proxy.refusals());
    }

    @Test
    void aTunnelReachesTheCheckedAddress() throws IOException {
        NetworkPolicy p = policy("allow: ['127.0.0.1:" + webPort + "']\nhosts: {web.test: 127.0.0.1}\n");
        proxy = new EgressProxy(p, tmp.resolve("net"));
        EgressPort port = proxy.open("l2-0");
        CallNetwork call = call(p);
        try (CallEgress.Use u = call.use(port)) {
            String got = exchange(port.dir().resolve(EgressPort.SOCKET), "CONNECT web.test:" + webPort
                    + " HTTP/1.1\r\nHost: web.test:" + webPort + "\r\n\r\nGET /t HTTP/1.1\r\nHost: tunnel\r\n"
                    + "Connection: close\r\n\r\n");
            has(got, "HTTP/1.1 200", "hello tunnel");
        }
        assertTrue((Long) call.report().allowed().get(0).get("bytes_out") > 20);
        // a tunnel's bytes count in the server's totals too, both ways
        assertEquals((Long) call.report().allowed().get(0).get("bytes_out"), proxy.bytesOut());
        assertEquals((Long) call.report().allowed().get(0).get("bytes_in"), proxy.bytesIn());
        assertEquals(0, proxy.refusals());
    }

    @Test
    void aNameThatResolvesToAPrivateAddressIsRefusedUnlessTheAddressIsNamed() throws IOException {
        NetworkPolicy p = policy("allow: [meta.test, inner.test]\nhosts: {meta.test: 169.254.169.254, inner.test: 10.1.2.3}\n");
        proxy = new EgressProxy(p, tmp.resolve("net"));
        EgressPort port = proxy.open("l2-0");
        CallNetwork call = call(p);
        try (CallEgress.Use u = call.use(port)) {
            has(exchange(port.dir().resolve(EgressPort.SOCKET), "CONNECT meta.test:443 HTTP/1.1\r\nHost: meta.test:443\r\n\r\n"),
                "HTTP/1.1 403", "cloud metadata");
            has(exchange(port.dir().resolve(EgressPort.SOCKET), "GET http://inner.test/ HTTP/1.1\r\nHost: inner.test\r\n\r\n"),
                "HTTP/1.1 403", "10.1.2.3, a private address");
        }
        assertEquals(2, call.report().denied().size());
    }

    @Test
    void aRedirectIsPassedBackAndItsTargetJudgedAgain() throws IOException {
        NetworkPolicy p = policy("allow: ['127.0.0.1:" + webPort + "']\n");
        proxy = new EgressProxy(p, tmp.resolve("net"));
        EgressPort port = proxy.open("l2-0");
        CallNetwork call = call(p);
        try (CallEgress.Use u = call.use(port)) {
            String got = exchange(port.dir().resolve(EgressPort.SOCKET), "GET http://127.0.0.1:" + webPort
                    + "/redirect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            has(got, "HTTP/1.1 302", "http://elsewhere.test/");
        }
    }

    @Test
    void theByteLimitCutsATransfer() throws IOException {
        NetworkPolicy p = policy("allow: ['127.0.0.1:" + webPort + "']\nlimits: {max_bytes: 50000}\n");
        proxy = new EgressProxy(p, tmp.resolve("net"));
        EgressPort port = proxy.open("l2-0");
        CallNetwork call = call(p);
        try (CallEgress.Use u = call.use(port)) {
            String got = exchange(port.dir().resolve(EgressPort.SOCKET), "GET http://127.0.0.1:" + webPort
                    + "/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertTrue(got.length() < 200_000, "cut short: " + got.length());
        }
        assertEquals(1, call.report().denied().size());
        has((String) call.report().denied().get(0).get("reason"), "byte limit");
    }

    @Test
    void theConnectionLimitRefusesTheNextOne() throws IOException {
        NetworkPolicy p = policy("allow: ['127.0.0.1:" + webPort + "']\nlimits: {max_connections: 1}\n");
        proxy = new EgressProxy(p, tmp.resolve("net"));
        EgressPort port = proxy.open("l2-0");
        CallNetwork call = call(p);
        String req = "GET http://127.0.0.1:" + webPort + "/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        try (CallEgress.Use u = call.use(port)) {
            has(exchange(port.dir().resolve(EgressPort.SOCKET), req), "HTTP/1.1 200");
            has(exchange(port.dir().resolve(EgressPort.SOCKET), req), "HTTP/1.1 403", "limit of 1 connections");
        }
    }

    @Test
    void nothingConnectsWhileNoCallUsesThePort() throws IOException {
        NetworkPolicy p = policy("allow: ['127.0.0.1:" + webPort + "']\n");
        proxy = new EgressProxy(p, tmp.resolve("net"));
        EgressPort port = proxy.open("l2-0");
        CallNetwork call = call(p);
        call.use(port).close();
        has(exchange(port.dir().resolve(EgressPort.SOCKET), "GET http://127.0.0.1:" + webPort
                + "/ HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 403", "no call");
        port.close();
        assertFalse(Files.exists(port.dir()));
    }

    @Test
    void anAddressOfThisMachineIsRefusedEvenThoughItIsPublic() {
        CallNetwork call = NetworkPolicy.closed().forCall("ex", List.of(new CallNetwork.Entry(
                HostPattern.parse("host.test").orElseThrow(), "test")), List.of(),
                h -> List.of(InetAddress.getByName("8.8.8.8")), Addresses.of(Set.of(addr("8.8.8.8"))));
        CallNetwork.Verdict v = call.open("host.test", 443);
        has(((CallNetwork.Refused) v).reason(), "Warden's own machine");
    }

    @Test
    void eachPortHoldsTheCaBundleRunsTrustWithTheOperatorsCertificates() throws IOException {
        Path extra = tmp.resolve("corp.pem");
        Files.writeString(extra, "-----BEGIN CERTIFICATE-----\nCORPORATE\n-----END CERTIFICATE-----\n");
        proxy = new EgressProxy(policy("ca_certificates: ['" + extra + "']\n"), tmp.resolve("net"));
        EgressPort port = proxy.open("l3-x");
        String ca = Files.readString(port.dir().resolve("ca.pem"));
        has(ca, "CORPORATE");
        if (Files.isReadable(EgressFiles.HOST_BUNDLE)) {
            assertTrue(ca.startsWith(Files.readString(EgressFiles.HOST_BUNDLE)), "the host's bundle first");
        }
    }

    @Test
    void throughTheHostsOwnProxyBothWaysGoVerbatimAndAreStillJudgedHere() throws Exception {
        java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        org.eclipse.jetty.server.Server upstream = new org.eclipse.jetty.server.Server();
        org.eclipse.jetty.server.ServerConnector c = new org.eclipse.jetty.server.ServerConnector(upstream);
        c.setHost("127.0.0.1");
        upstream.addConnector(c);
        org.eclipse.jetty.server.handler.ConnectHandler tunnels = new org.eclipse.jetty.server.handler.ConnectHandler(
                new org.eclipse.jetty.proxy.ProxyHandler.Forward());
        upstream.setHandler(new org.eclipse.jetty.server.Handler.Wrapper(tunnels) {
            @Override
            public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response,
                    org.eclipse.jetty.util.Callback callback) throws Exception {
                seen.add(request.getMethod() + " " + request.getHttpURI().getAuthority());
                return super.handle(request, response, callback);
            }
        });
        upstream.start();
        try {
            NetworkPolicy p = policy("allow: ['127.0.0.1:" + webPort + "']\nhosts: {web.test: 127.0.0.1}\nupstream_proxy: '127.0.0.1:"
                    + c.getLocalPort() + "'\n");
            proxy = new EgressProxy(p, tmp.resolve("net"));
            EgressPort port = proxy.open("l2-0");
            CallNetwork call = call(p);
            try (CallEgress.Use u = call.use(port)) {
                has(exchange(port.dir().resolve(EgressPort.SOCKET), "GET http://localhost:" + webPort
                        + "/x HTTP/1.1\r\nHost: localhost:" + webPort + "\r\nConnection: close\r\n\r\n"), "HTTP/1.1 200", "hello localhost");
                has(exchange(port.dir().resolve(EgressPort.SOCKET), "CONNECT localhost:" + webPort + " HTTP/1.1\r\nHost: localhost:"
                        + webPort + "\r\n\r\nGET /t HTTP/1.1\r\nHost: tunnel\r\nConnection: close\r\n\r\n"), "hello tunnel");
                has(exchange(port.dir().resolve(EgressPort.SOCKET), "GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n"),
                        "HTTP/1.1 403");
            }
            assertEquals(List.of("GET localhost:" + webPort, "CONNECT localhost:" + webPort), seen,
                    "both went through the upstream, by name; the one refused here never left");
        }
        finally {
            upstream.stop();
        }
    }

    @Test
    void whatIsNotAHostAndPortIsRefusedNeverOpened() throws IOException {
        NetworkPolicy p = policy("allow: ['*.test:*']\n");
        proxy = new EgressProxy(p, tmp.resolve("net"));
        EgressPort port = proxy.open("l2-0");
        CallNetwork call = call(p);
        try (CallEgress.Use u = call.use(port)) {
            for (String target : List.of("/var/run/docker.sock", "unix:/var/run/docker.sock", "web.test:0", "web.test:99999")) {
                String got = exchange(port.dir().resolve(EgressPort.SOCKET), "CONNECT " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
                assertFalse(got.startsWith("HTTP/1.1 200"), target + ": " + got);
            }
        }
        assertTrue(call.report().allowed().isEmpty(), call.report().toString());
    }

    @Test
    void aFloodOfRefusalsNeitherGrowsTheLedgerNorTheResultWithoutEndNorWaitsOnDns() {
        java.util.concurrent.atomic.AtomicInteger lookups = new java.util.concurrent.atomic.AtomicInteger();
        CallNetwork call = NetworkPolicy.closed().forCall("ex", List.of(new CallNetwork.Entry(
                HostPattern.parse("ok.test").orElseThrow(), "test")), List.of(), h -> {
                    lookups.incrementAndGet();
                    return List.of(addr("93.184.216.34"));
                }, Addresses.of(Set.of()));
        for (int i = 0; i < 5000; i++) {
            call.open("h" + i + ".example.org", 443);
        }
        assertEquals(0, lookups.get(), "names nothing could allow are not looked up");
        NetworkReport r = call.report();
        assertEquals(NetworkReport.DENIED_MAX + 1, r.denied().size());
        has((String) r.denied().get(NetworkReport.DENIED_MAX).get("reason"), "4950 more refused");
        assertTrue(r.attempts().size() <= CallNetwork.LEDGER_MAX + 1, "ledger " + r.attempts().size());
    }

    @Test
    void manyPortsOpenAtOnceEachStillAnswers() throws IOException {
        NetworkPolicy p = policy("allow: ['127.0.0.1:" + webPort + "']\n");
        proxy = new EgressProxy(p, tmp.resolve("net"));
        List<EgressPort> ports = new java.util.ArrayList<>();
        for (int i = 0; i < 120; i++) { // 16 slots and a hundred containers: more than a thread per port once held
            ports.add(proxy.open("l3-" + i));
        }
        for (EgressPort port : List.of(ports.get(0), ports.get(60), ports.get(119))) {
            CallNetwork call = call(p);
            try (CallEgress.Use u = call.use(port)) {
                has(exchange(port.dir().resolve(EgressPort.SOCKET), "GET http://127.0.0.1:" + webPort
                        + "/x HTTP/1.1\r\nHost: 127.0.0.1:" + webPort + "\r\nConnection: close\r\n\r\n"), "HTTP/1.1 200");
            }
        }
        ports.forEach(EgressPort::close);
    }

    @Test
    void wardensOwnPortsAreRefusedEvenWhereTheAddressIsNamed() throws IOException {
        Addresses own = Addresses.of(Set.of());
        own.ownPort(webPort);
        NetworkPolicy p = policy("allow: ['127.0.0.1:" + webPort + "']\n");
        CallNetwork call = p.forCall("ex", List.of(), List.of(), Resolver.system(p.hosts()), own);
        has(((CallNetwork.Refused) call.open("127.0.0.1", webPort)).reason(), "Warden's own service");
    }

    private static void has(String text, String... parts) {
        for (String part : parts) {
            assertTrue(text.contains(part), () -> "expected \"" + part + "\" in:\n" + text);
        }
    }

    private static InetAddress addr(String s) {
        return HostPattern.literal(s);
    }
}
