package dev.warden.exec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A stand-in for Warden's egress proxy, for tests: a directory per port (populated as the real one
 * is) and a tiny HTTP server on its proxy.sock. Any request is answered 200 with its request line
 * as the body ("GET http://example.test/x HTTP/1.1"); a CONNECT is answered 200, then the request
 * that comes through the tunnel is answered the same way, with the CONNECT line before it
 * ("CONNECT example.test:80 HTTP/1.1 | GET /x HTTP/1.1"). Every request line seen is kept.
 */
public final class FakeEgress implements EgressPorts, AutoCloseable {

    private final Path root;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-egress");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Port> open = new ConcurrentHashMap<>();
    private final List<String> closed = new CopyOnWriteArrayList<>();
    private final List<String> seen = new CopyOnWriteArrayList<>();

    public FakeEgress() throws IOException {
        root = Files.createTempDirectory("warden-fake-egress-");
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** The request lines the proxy saw, in order (a tunnel's as "CONNECT … | GET …"). */
    public List<String> seen() {
        return List.copyOf(seen);
    }

    /** The names of the ports open now. */
    public List<String> openPorts() {
        List<String> names = new ArrayList<>(open.keySet());
        Collections.sort(names);
        return names;
    }

    /** The names of the ports closed so far. */
    public List<String> closedPorts() {
        return List.copyOf(closed);
    }

    @Override
    public EgressPort open(String name) throws IOException {
        Path dir = root.resolve(name);
        Files.createDirectory(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        java.nio.file.Path host = java.nio.file.Path.of("/etc/ssl/certs/ca-certificates.crt");
        EgressPort.populate(dir, java.nio.file.Files.isReadable(host) ? java.nio.file.Files.readAllBytes(host) : new byte[0]);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        Path socket = dir.resolve(EgressPort.SOCKET);
        server.bind(UnixDomainSocketAddress.of(socket), 64);
        // runs are other uids: they may connect, not replace it
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        Port port = new Port(name, dir, server);
        open.put(name, port);
        threads.execute(port::accept);
        return port;
    }

    @Override
    public void close() {
        open.values().forEach(Port::close);
        threads.shutdownNow();
        try (var all = Files.walk(root)) {
            all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (IOException ignored) {
            // a temporary directory
        }
    }

    private final class Port implements EgressPort {
        private final String name;
        private final Path dir;
        private final ServerSocketChannel server;

        Port(String name, Path dir, ServerSocketChannel server) {
            this.name = name;
            this.dir = dir;
            this.server = server;
        }

        @Override
        public Path dir() {
            return dir;
        }

        void accept() {
            while (server.isOpen()) {
                try {
                    SocketChannel c = server.accept();
                    threads.execute(() -> serve(c));
                }
                catch (IOException | java.util.concurrent.RejectedExecutionException e) {
                    return;
                }
            }
        }

        @Override
        public void close() {
            if (open.remove(name) == null) {
                return;
            }
            closed.add(name);
            try {
                server.close();
                Files.deleteIfExists(dir.resolve(SOCKET));
                Files.deleteIfExists(dir.resolve(NODE_PRELOAD_FILE));
                Files.deleteIfExists(dir.resolve(EgressPort.CA_FILE));
                Files.deleteIfExists(dir);
            }
            catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private void serve(SocketChannel c) {
        try (c) {
            String line = requestLine(c);
            if (line == null) {
                return;
            }
            if (line.startsWith("CONNECT ")) {
                write(c, "HTTP/1.1 200 Connection established\r\n\r\n");
                String inner = requestLine(c);
                line = line + " | " + (inner == null ? "" : inner);
            }
            seen.add(line);
            byte[] body = line.getBytes(StandardCharsets.UTF_8);
            write(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n" + line);
        }
        catch (IOException ignored) {
            // the client went away
        }
    }

    /** Reads a request's head (up to the blank line) and returns its first line; null at end of input. */
    private static String requestLine(SocketChannel c) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (head.size() < 65536) {
            one.clear();
            if (c.read(one) < 0) {
                return null;
            }
            head.write(one.get(0));
            String s = head.toString(StandardCharsets.ISO_8859_1);
            if (s.endsWith("\r\n\r\n")) {
                return s.substring(0, s.indexOf("\r\n"));
            }
        }
        return null;
    }

    private static void write(SocketChannel c, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }
}
