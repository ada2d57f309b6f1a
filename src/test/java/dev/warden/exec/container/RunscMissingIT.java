package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The policy asks for gVisor (container_runtime: runsc) and the engine has no runsc: every L3 call
 * is refused with the reason, never run under runc instead. The engine here is the local one's
 * answers to /_ping and /info with runsc taken out of its runtimes, served on a socket of the
 * test's own; nothing else is answered, so a container create would fail (and is counted) rather
 * than run anything.
 */
class RunscMissingIT {

    @Test
    void askingForRunscWithoutItIsRefusedWithTheReason() throws Exception {
        String info = EngineSocket.of("unix:///var/run/docker.sock").info();
        assertTrue(ContainerRuntime.runtimesOf(info).contains("runc"), "the local engine answers /info: " + info);
        String without = info.replaceAll("\"runsc\":\\{[^{}]*\\},?", "").replace(",}", "}");
        assertEquals(java.util.Set.of("runc"), ContainerRuntime.runtimesOf(without).stream()
            .filter(r -> !r.startsWith("io.containerd")).collect(java.util.stream.Collectors.toSet()), without);
        Path dir = Files.createTempDirectory("warden-it-engine-");
        Path sock = dir.resolve("docker.sock");
        AtomicInteger others = new AtomicInteger();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            Thread t = new Thread(() -> serve(server, without, others));
            t.setDaemon(true);
            t.start();
            try (ContainerHarness h = new ContainerHarness("{python: 0}", "warden/", "runsc",
                    "  docker_host: unix://" + sock + "\n")) {
                ExecOutcome o = h.runtime.executor().run(ExecRequest.code(List.of(), h.workspace, new byte[0], Map.of(),
                        Map.of(), "python", "print(1)"), h.limits("python", 5_000));
                ExecOutcome.Refused r = assertInstanceOf(ExecOutcome.Refused.class, o, () -> "got " + o);
                assertTrue(r.reason().contains("container_runtime: runsc") && r.reason().contains("no runtime named runsc")
                        && r.reason().contains("tools/install-docker.sh"), r.reason());
                assertTrue(h.runtime.unavailable("python").isPresent(), "the language is not offered in containers");
                assertEquals(0, others.get(), "no container was asked for");
            }
        }
        finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }

    /** HTTP/1.0 answers to /_ping and /info; anything else is answered 500, and a container create counted. */
    private static void serve(ServerSocketChannel server, String info, AtomicInteger others) {
        while (server.isOpen()) {
            try (SocketChannel ch = server.accept()) {
                ByteBuffer buf = ByteBuffer.allocate(65536);
                String head = "";
                while (!head.contains("\r\n\r\n") && ch.read(buf) > 0) {
                    head = new String(buf.array(), 0, buf.position(), StandardCharsets.ISO_8859_1);
                }
                String path = head.isEmpty() ? "" : head.split(" ", 3)[1];
                int status = 200;
                String body;
                if (path.endsWith("/_ping")) {
                    body = "OK";
                }
                else if (path.endsWith("/info")) {
                    body = info;
                }
                else {
                    if (path.contains("/containers/create")) {
                        others.incrementAndGet();
                    }
                    status = 500;
                    body = "{\"message\":\"not served by this test\"}";
                }
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                ch.write(ByteBuffer.wrap(("HTTP/1.0 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: "
                        + b.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)));
                ch.write(ByteBuffer.wrap(b));
            }
            catch (IOException e) {
                return;
            }
        }
    }
}
