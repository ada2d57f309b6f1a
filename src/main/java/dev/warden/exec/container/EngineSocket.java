package dev.warden.exec.container;

import dev.warden.exec.Output;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The Engine API's byte streams, spoken directly over the unix socket: the hijacked attach and exec
 * streams of a run, and the few small requests on the start-up path (ping, info, image list) that
 * must not wait for docker-java to load. docker-java's own attach cannot half-close the stream,
 * so a program would never see the end of its stdin; here stdin ends when it is written.
 */
final class EngineSocket {

    private final Path socket;

    EngineSocket(Path socket) {
        this.socket = socket;
    }

    static EngineSocket of(String dockerHost) {
        return new EngineSocket(Path.of(dockerHost.substring("unix://".length())));
    }

    Path path() {
        return socket;
    }

    /** A response to a plain request: status and body (HTTP/1.0, so the body ends at the close). */
    record Reply(int status, String body) {
    }

    Reply request(String method, String path, String jsonBody) throws IOException {
        try (SocketChannel ch = connect()) {
            byte[] body = jsonBody == null ? new byte[0] : jsonBody.getBytes(StandardCharsets.UTF_8);
            String head = method + " " + path + " HTTP/1.0\r\nHost: docker\r\n"
                    + (jsonBody == null ? "" : "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n")
                    + "\r\n";
            writeFully(ch, head.getBytes(StandardCharsets.US_ASCII));
            writeFully(ch, body);
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(16384);
            while (ch.read(buf) >= 0) {
                all.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            String text = all.toString(StandardCharsets.UTF_8);
            int end = text.indexOf("\r\n\r\n");
            if (!text.startsWith("HTTP/") || end < 0) {
                throw new IOException("the engine sent no HTTP answer to " + method + " " + path);
            }
            int status = Integer.parseInt(text.substring(9, 12));
            return new Reply(status, text.substring(end + 4));
        }
    }

    /**
     * Opens the hijacked stream of an attach ({@code POST /containers/ID/attach?...}) or an exec
     * start ({@code POST /exec/ID/start}) and returns it after the engine's 101.
     */
    Hijacked hijack(String path, String jsonBody) throws IOException {
        SocketChannel ch = connect();
        try {
            byte[] body = jsonBody == null ? new byte[0] : jsonBody.getBytes(StandardCharsets.UTF_8);
            String head = "POST " + path + " HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
            writeFully(ch, head.getBytes(StandardCharsets.US_ASCII));
            writeFully(ch, body);
            // read the response head byte-wise into a buffer; what follows it is stream data
            ByteBuffer buf = ByteBuffer.allocate(65536);
            int headEnd = -1;
            while (headEnd < 0) {
                if (ch.read(buf) < 0) {
                    throw new IOException("the engine closed the connection before answering " + path);
                }
                headEnd = indexOf(buf, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                if (headEnd < 0 && !buf.hasRemaining()) {
                    throw new IOException("the engine's answer to " + path + " has no end of headers");
                }
            }
            String head2 = new String(buf.array(), 0, headEnd, StandardCharsets.ISO_8859_1);
            int status = head2.length() >= 12 ? Integer.parseInt(head2.substring(9, 12)) : 0;
            if (status != 101 && status != 200) {
                String rest = new String(buf.array(), headEnd + 4, buf.position() - headEnd - 4, StandardCharsets.UTF_8);
                throw new IOException("the engine refused " + path + ": " + head2.lines().findFirst().orElse("")
                        + " " + rest.strip());
            }
            buf.flip();
            buf.position(headEnd + 4);
            return new Hijacked(ch, buf.slice());
        }
        catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private SocketChannel connect() throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        }
        catch (IOException e) {
            ch.close();
            throw e;
        }
        return ch;
    }

    static void writeFully(SocketChannel ch, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static int indexOf(ByteBuffer buf, byte[] pattern) {
        byte[] a = buf.array();
        for (int i = 0; i + pattern.length <= buf.position(); i++) {
            boolean match = true;
            for (int k = 0; k < pattern.length && match; k++) {
                match = a[i + k] == pattern[k];
            }
            if (match) {
                return i;
            }
        }
        return -1;
    }

    /**
     * One hijacked stream: write the input, half-close (the program's stdin ends), then read the
     * engine's multiplexed frames (8-byte header: stream 1 stdout, 2 stderr, then a big-endian
     * length). Each stream keeps at most {@code cap} bytes; the rest is read and dropped so the
     * program never blocks on a full pipe. The engine frames the output itself, so nothing the
     * program prints can pass for the other stream.
     */
    static final class Hijacked implements AutoCloseable {

        private final SocketChannel ch;
        private final ByteBuffer pending;

        Hijacked(SocketChannel ch, ByteBuffer pending) {
            this.ch = ch;
            this.pending = pending;
        }

        void send(byte[] first, byte[] second) throws IOException {
            try {
                writeFully(ch, first);
                if (second.length > 0) {
                    writeFully(ch, second);
                }
            }
            finally {
                try {
                    ch.shutdownOutput();
                }
                catch (IOException ignored) {
                    // the container is gone already: its output tells the rest
                }
            }
        }

        record Outputs(Output stdout, Output stderr) {
        }

        Outputs drain(int cap) {
            Sink out = new Sink(cap);
            Sink err = new Sink(cap);
            ByteBuffer buf = ByteBuffer.allocate(65536);
            buf.put(pending);
            byte[] header = new byte[8];
            int headerFill = 0;
            int remaining = 0;
            Sink current = null;
            try {
                while (true) {
                    buf.flip();
                    while (buf.hasRemaining()) {
                        if (remaining == 0) {
                            header[headerFill++] = buf.get();
                            if (headerFill == 8) {
                                headerFill = 0;
                                remaining = ((header[4] & 0xff) << 24) | ((header[5] & 0xff) << 16)
                                        | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
                                current = header[0] == 2 ? err : out;
                            }
                            continue;
                        }
                        int n = Math.min(remaining, buf.remaining());
                        current.take(buf, n);
                        remaining -= n;
                    }
                    buf.clear();
                    if (ch.read(buf) < 0) {
                        break;
                    }
                }
            }
            catch (IOException ignored) {
                // closed under us after a kill: keep what arrived
            }
            return new Outputs(out.output(), err.output());
        }

        @Override
        public void close() {
            try {
                ch.close();
            }
            catch (IOException ignored) {
                // nothing left to say on it
            }
        }
    }

    private static final class Sink {
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private final int cap;
        private boolean truncated;

        Sink(int cap) {
            this.cap = cap;
        }

        void take(ByteBuffer b, int n) {
            int room = cap - kept.size();
            if (n > room) {
                truncated = true;
            }
            int keep = Math.max(0, Math.min(n, room));
            kept.write(b.array(), b.arrayOffset() + b.position(), keep);
            b.position(b.position() + n);
        }

        Output output() {
            return new Output(kept.toByteArray(), truncated);
        }
    }
}
