package dev.warden.exec.container;

import dev.warden.exec.LiveOutput;
import dev.warden.exec.Output;
import dev.warden.exec.StdinPipe;
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
 *
 * <p>The only class that speaks raw HTTP to the engine: every path it is asked for is one of the
 * typed requests below. Everything else (create, start, kill, inspect, remove, exec create, list)
 * goes through docker-java ({@link DockerEngine}).
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

    private static final java.util.regex.Pattern STATUS_CODE = java.util.regex.Pattern.compile("\"StatusCode\"\\s*:\\s*(-?\\d+)");
    private static final java.util.regex.Pattern EXIT_CODE = java.util.regex.Pattern.compile("\"ExitCode\"\\s*:\\s*(-?\\d+)");
    private static final java.util.regex.Pattern RUNNING = java.util.regex.Pattern.compile("\"Running\"\\s*:\\s*true");

    /** {@code GET /_ping}. */
    Reply ping() throws IOException {
        return request("GET", "/_ping", null);
    }

    /** {@code GET /info}: the engine's configuration, as JSON. */
    String info() throws IOException {
        return request("GET", "/info", null).body();
    }

    /** {@code GET /images/NAME/json}: 200 with the image's JSON when it is there. */
    Reply image(String name) throws IOException {
        return request("GET", "/images/" + java.net.URLEncoder.encode(name, StandardCharsets.UTF_8) + "/json", null);
    }

    /** The hijacked stream of the container's main process: its stdin, stdout and stderr. */
    Hijacked attach(String containerId) throws IOException {
        return hijack("/containers/" + containerId + "/attach?stream=1&stdin=1&stdout=1&stderr=1", null);
    }

    /** Starts a created exec and returns its hijacked stream. */
    Hijacked startExec(String execId) throws IOException {
        return hijack("/exec/" + execId + "/start", "{\"Detach\":false,\"Tty\":false}");
    }

    /** {@code POST /containers/ID/wait}: the container's exit status once it has exited; -1 if the answer has none. */
    int waitStatus(String containerId) throws IOException {
        java.util.regex.Matcher m = STATUS_CODE.matcher(request("POST", "/containers/" + containerId + "/wait", null).body());
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** {@code GET /exec/ID/json}: the exec's exit code, or null while it runs (or none is recorded yet). */
    Integer execExitCode(String execId) throws IOException {
        String body = request("GET", "/exec/" + execId + "/json", null).body();
        java.util.regex.Matcher m = EXIT_CODE.matcher(body);
        return !RUNNING.matcher(body).find() && m.find() ? Integer.parseInt(m.group(1)) : null;
    }

    /** An engine that stops answering must not hold a call forever: the connection is closed after this. */
    static final long ANSWER_TIMEOUT_MS = 30_000;

    private Reply request(String method, String path, String jsonBody) throws IOException {
        try (SocketChannel ch = connect()) {
            var guard = closeAfter(ch, ANSWER_TIMEOUT_MS);
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
            guard.cancel(false);
            return new Reply(status, text.substring(end + 4));
        }
    }

    /** Closes the channel after {@code ms} unless the returned future is cancelled first; a blocked read then ends. */
    private static java.util.concurrent.CompletableFuture<Void> closeAfter(SocketChannel ch, long ms) {
        return java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
                ch.close();
            }
            catch (IOException ignored) {
                // closing is all we wanted
            }
        }, java.util.concurrent.CompletableFuture.delayedExecutor(ms, java.util.concurrent.TimeUnit.MILLISECONDS));
    }

    /**
     * Opens the hijacked stream of an attach ({@code POST /containers/ID/attach?...}) or an exec
     * start ({@code POST /exec/ID/start}) and returns it after the engine's 101.
     */
    private Hijacked hijack(String path, String jsonBody) throws IOException {
        SocketChannel ch = connect();
        var guard = closeAfter(ch, ANSWER_TIMEOUT_MS);
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
            guard.cancel(false); // from here the run's own wall limit watches the stream
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

        /** Writes {@code first}, {@code second}, then what a client keeps sending ({@code more}, null: nothing). */
        void send(byte[] first, byte[] second, StdinPipe more) throws IOException, InterruptedException {
            try {
                writeFully(ch, first);
                if (second.length > 0) {
                    writeFully(ch, second);
                }
                if (more != null) {
                    more.pumpInto(java.nio.channels.Channels.newOutputStream(ch));
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

        /** @param exitCode the exit status the end marker carried on both streams, or null (the stream ended) */
        record Outputs(Output stdout, Output stderr, Integer exitCode) {
        }

        /**
         * Reads until the stream ends, or until both stdout and stderr end with the end marker
         * ({@code marker} + decimal status + newline), which the wrapper around the program writes to
         * each stream after the program exits: each stream is one ordered pipe, so all the program
         * wrote comes before it. The marker is taken off the output.
         */
        Outputs drain(int cap, byte[] marker, LiveOutput live) {
            return EngineSocket.drain(ch, pending, cap, marker, live);
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

    /** The engine's multiplexed frames from {@code ch} (after {@code pending}), as {@link Hijacked#drain}. */
    static Hijacked.Outputs drain(java.nio.channels.ReadableByteChannel ch, ByteBuffer pending, int cap, byte[] marker) {
        return drain(ch, pending, cap, marker, null);
    }

    /** As above, with the program's stdout also fed to {@code live} (null: nowhere) as frames arrive. */
    static Hijacked.Outputs drain(java.nio.channels.ReadableByteChannel ch, ByteBuffer pending, int cap, byte[] marker,
            LiveOutput live) {
        Sink out = new Sink(cap, marker, live, false);
        Sink err = new Sink(cap, marker, live, true);
        ByteBuffer buf = ByteBuffer.allocate(Math.max(65536, pending.remaining()));
        buf.put(pending.duplicate());
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
                if (remaining == 0 && headerFill == 0 && out.ended() != null && err.ended() != null
                        && out.ended().equals(err.ended())) {
                    break;
                }
                if (ch.read(buf) < 0) {
                    break;
                }
            }
        }
        catch (IOException ignored) {
            // closed under us after a kill: keep what arrived
        }
        Integer code = out.ended() != null && out.ended().equals(err.ended()) ? out.ended() : null;
        out.endLive(code != null);
        err.endLive(code != null);
        return new Hijacked.Outputs(out.output(code != null), err.output(code != null), code);
    }

    /**
     * One stream's bytes: at most {@code cap} kept (plus room for the end marker), the rest counted
     * and dropped, and the last bytes remembered to see the end marker however the frames split it.
     */
    private static final class Sink {
        private static final int MARKER_MAX = 32;
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private final int cap;
        private final byte[] marker;
        private final byte[] tail = new byte[MARKER_MAX];
        private int tailLen;
        private long total;
        private Integer ended;
        private int endedLength;

        private final LiveOutput live;
        private final boolean stderr;
        /** Bytes that may be the start of the end marker, not given to {@code live} until they are known not to be. */
        private final ByteArrayOutputStream held = new ByteArrayOutputStream();

        Sink(int cap, byte[] marker, LiveOutput live, boolean stderr) {
            this.cap = cap;
            this.marker = marker;
            this.live = live;
            this.stderr = stderr;
        }

        /** The bytes as they come, to {@code live}, except what may be the end marker (held until known). */
        private void toLive(byte[] a, int off, int n) {
            if (marker == null) {
                emit(a, off, n);
                return;
            }
            int run = off;
            for (int i = off; i < off + n; i++) {
                if (held.size() == 0) {
                    if (a[i] == marker[0]) {
                        emit(a, run, i - run);
                        held.write(a[i]);
                        run = i + 1;
                    }
                    continue;
                }
                held.write(a[i]);
                run = i + 1;
                if (!mayBeMarker(held.toByteArray())) {
                    byte[] h = held.toByteArray();
                    held.reset();
                    boolean restart = h[h.length - 1] == marker[0];
                    emit(h, 0, restart ? h.length - 1 : h.length);
                    if (restart) {
                        held.write(marker[0]);
                    }
                }
            }
            emit(a, run, off + n - run);
        }

        /** Whether {@code h} is the start of "marker digits newline", or all of it. */
        private boolean mayBeMarker(byte[] h) {
            for (int k = 0; k < Math.min(h.length, marker.length); k++) {
                if (h[k] != marker[k]) {
                    return false;
                }
            }
            for (int k = marker.length; k < h.length; k++) {
                boolean digit = h[k] >= '0' && h[k] <= '9';
                boolean lastNewline = h[k] == '\n' && k == h.length - 1 && k > marker.length;
                if (!digit && !lastNewline || h.length > MARKER_MAX) {
                    return false;
                }
            }
            return true;
        }

        /** The stream is over: the end marker held back is dropped, anything else held goes out. */
        void endLive(boolean endedWithMarker) {
            if (live != null && held.size() > 0 && !endedWithMarker) {
                emit(held.toByteArray(), 0, held.size());
            }
            held.reset();
        }

        private void emit(byte[] a, int off, int n) {
            if (n <= 0) {
                return;
            }
            if (stderr) {
                live.writeErr(a, off, n);
            }
            else {
                live.write(a, off, n);
            }
        }

        void take(ByteBuffer b, int n) {
            int start = b.arrayOffset() + b.position();
            int room = (int) Math.max(0, Math.min(n, (long) cap + MARKER_MAX - kept.size()));
            kept.write(b.array(), start, room);
            if (live != null) {
                toLive(b.array(), start, n);
            }
            for (int i = 0; i < n; i++) {
                push(b.array()[start + i]);
            }
            total += n;
            b.position(b.position() + n);
        }

        private void push(byte x) {
            if (tailLen == MARKER_MAX) {
                System.arraycopy(tail, 1, tail, 0, MARKER_MAX - 1);
                tailLen--;
            }
            tail[tailLen++] = x;
            ended = null;
            if (x != '\n' || marker == null) {
                return;
            }
            // ...MARKER digits \n at the very end
            int i = tailLen - 2;
            int digitsEnd = i;
            while (i >= 0 && tail[i] >= '0' && tail[i] <= '9') {
                i--;
            }
            if (i == digitsEnd || i - marker.length + 1 < 0) {
                return;
            }
            for (int k = 0; k < marker.length; k++) {
                if (tail[i - marker.length + 1 + k] != marker[k]) {
                    return;
                }
            }
            try {
                ended = Integer.parseInt(new String(tail, i + 1, digitsEnd - i, StandardCharsets.US_ASCII));
                endedLength = tailLen - (i - marker.length + 1);
            }
            catch (NumberFormatException e) {
                ended = null;
            }
        }

        Integer ended() {
            return ended;
        }

        /** @param stripMarker whether the stream ended with the marker, which is then not output */
        Output output(boolean stripMarker) {
            long real = stripMarker ? total - endedLength : total;
            byte[] all = kept.toByteArray();
            int keep = (int) Math.min(Math.min(real, cap), all.length);
            return new Output(java.util.Arrays.copyOf(all, keep), real > cap);
        }
    }
}
