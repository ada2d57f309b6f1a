package dev.warden.egress;

import dev.warden.exec.CallEgress;
import dev.warden.exec.EgressPort;
import dev.warden.exec.EgressPorts;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.HttpProxy;
import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.proxy.ProxyHandler;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ConnectHandler;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.HostPort;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warden's egress proxy: Jetty's {@link ConnectHandler} for CONNECT tunnels (HTTPS, git, anything
 * over TLS) in front of Jetty's forward {@link ProxyHandler} for plain {@code http://} requests. It
 * listens on one unix socket per sandbox ({@link Port}), never on TCP, so only sandboxes reach it and
 * the socket a connection came in on says whose call it serves. Every connection is judged by that
 * call's {@link CallNetwork}: refused with HTTP 403 and a one-line reason, or connected to the
 * address the check approved (never resolved again, so a name cannot be re-pointed between the check
 * and the connect), counted, and cut at the call's byte limit.
 */
public final class EgressProxy implements EgressPorts, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EgressProxy.class);
    private static final String ATTEMPT = "warden.egress.attempt";
    private static final String ADDRESS = "warden.egress.address";
    private static final String DOWNSTREAM = "warden.egress.downstream";

    private final Server server;
    private final Path root;
    private final NetworkPolicy policy;
    private final Map<Connector, Port> ports = new ConcurrentHashMap<>();
    private final EgressFiles files;
    /** Totals since start, of every call (the metrics): bytes to the runs, bytes from them, refusals. */
    private final java.util.concurrent.atomic.LongAdder bytesIn = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder bytesOut = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder refusals = new java.util.concurrent.atomic.LongAdder();

    /** One sandbox's socket, and the call using that sandbox now (null between calls: everything refused). */
    public final class Port implements EgressPort {
        private final String name;
        private final Path dir;
        private final UnixDomainServerConnector connector;
        private final AtomicReference<CallNetwork> current = new AtomicReference<>();

        private Port(String name, Path dir, UnixDomainServerConnector connector) {
            this.name = name;
            this.dir = dir;
            this.connector = connector;
        }

        @Override
        public Path dir() {
            return dir;
        }

        CallEgress.Use attach(CallNetwork call) {
            CallNetwork before = current.getAndSet(call);
            if (before != null && before != call) {
                log.warn("egress port {} was still attached to call {} when call {} took it", name, before.callId(),
                        call.callId());
            }
            return () -> current.compareAndSet(call, null);
        }

        @Override
        public void close() {
            ports.remove(connector);
            try {
                connector.stop();
            }
            catch (Exception e) {
                log.debug("egress port {}: stop failed", name, e);
            }
            server.removeConnector(connector);
            deleteTree(dir);
        }
    }

    /**
     * @param root a private directory for the ports' sockets (created here, removed on close)
     */
    public EgressProxy(NetworkPolicy policy, Path root) throws IOException {
        this.policy = policy;
        this.root = root;
        this.files = EgressFiles.of(EgressFiles.HOST_BUNDLE, policy.caCertificates());
        Files.createDirectories(root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        // every port's selector holds a thread for as long as the port is open (an L2 slot's: as long as
        // Warden runs), so the pool's ceiling is well above ports plus the work of their connections
        QueuedThreadPool threads = new QueuedThreadPool(512, 2);
        threads.setName("egress");
        threads.setDaemon(true);
        server = new Server(threads);
        Forward forward = new Forward();
        Tunnels tunnels = new Tunnels(forward);
        tunnels.setConnectTimeout(policy.limits().connectTimeoutMs());
        tunnels.setIdleTimeout(policy.limits().idleTimeoutMs());
        tunnels.setBufferSize(64 * 1024); // Jetty's 4 KiB default makes a tunnel a quarter as fast
        server.setHandler(tunnels);
        try {
            server.start();
        }
        catch (Exception e) {
            throw new IOException("the egress proxy did not start: " + e.getMessage(), e);
        }
    }

    /**
     * The sockets' directory of the Warden with this pid: short (a unix socket path has 108 bytes),
     * root's own under /run where it can be, else under the temp dir. Those of dead Wardens are
     * removed here first.
     */
    public static Path rootFor(long pid) {
        Path run = Path.of("/run");
        Path base = Files.isDirectory(run) && Files.isWritable(run) ? run : Path.of(System.getProperty("java.io.tmpdir"));
        try (Stream<Path> old = Files.list(base)) {
            old.filter(p -> p.getFileName().toString().matches("warden-net-\\d+")).forEach(p -> {
                long owner = Long.parseLong(p.getFileName().toString().substring("warden-net-".length()));
                if (owner != pid && ProcessHandle.of(owner).isEmpty()) {
                    deleteTree(p);
                }
            });
        }
        catch (IOException e) {
            // nothing to sweep
        }
        return base.resolve("warden-net-" + pid);
    }

    @Override
    public EgressPort open(String name) throws IOException {
        if (!name.matches("[A-Za-z0-9_.-]{1,40}")) {
            throw new IllegalArgumentException("bad egress port name " + name);
        }
        Path dir = root.resolve(name);
        deleteTree(dir);
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        files.populate(dir);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);
        // a run may send a Host header that differs from the URL's authority (a virtual host on an
        // address, say): the proxy judges and connects to the authority, and passes the Host on
        http.setHttpCompliance(HttpCompliance.RFC9110.with("warden-proxy", HttpCompliance.Violation.MISMATCHED_AUTHORITY));
        // no acceptor thread: the port's one selector accepts too, so a port costs one thread
        UnixDomainServerConnector c = new UnixDomainServerConnector(server, 0, 1, new HttpConnectionFactory(http));
        Path sock = dir.resolve(EgressPort.SOCKET);
        c.setUnixDomainPath(sock);
        c.setIdleTimeout(policy.limits().idleTimeoutMs());
        Port port = new Port(name, dir, c);
        ports.put(c, port);
        server.addConnector(c);
        try {
            c.start();
            // every sandbox uid connects (connect needs write permission on the socket)
            Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rw-rw-rw-"));
        }
        catch (Exception e) {
            port.close();
            throw new IOException("egress port " + name + " did not open: " + e.getMessage(), e);
        }
        return port;
    }

    @Override
    public void close() {
        try {
            server.stop();
        }
        catch (Exception e) {
            log.debug("egress proxy stop failed", e);
        }
        deleteTree(root);
    }

    private CallNetwork callOf(Request request) {
        Port p = ports.get(request.getConnectionMetaData().getConnector());
        return p == null ? null : p.current.get();
    }

    /** Bytes the runs received through this proxy since start (the metrics, like the two below). */
    public long bytesIn() {
        return bytesIn.sum();
    }

    /** Bytes the runs sent through it. */
    public long bytesOut() {
        return bytesOut.sum();
    }

    /** Connections it refused (403: not allowed, or no call running in that sandbox). */
    public long refusals() {
        return refusals.sum();
    }

    /** A refusal the run can read: 403 with one line, and the connection closed. */
    private void refuse(Response response, Callback callback, int status, String line) {
        if (status == 403) {
            refusals.increment();
        }
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
        response.getHeaders().put(HttpHeader.CONNECTION, "close");
        response.getHeaders().put("X-Warden-Refused", line.length() > 200 ? line.substring(0, 200) : line);
        Content.Sink.write(response, true, "Warden: " + line + "\n", callback);
    }

    private static final String NO_CALL = "no call of this sandbox is running, so nothing may connect";

    /** CONNECT: judged, then tunnelled to the checked address, both directions counted. */
    private final class Tunnels extends ConnectHandler {

        Tunnels(ProxyHandler next) {
            super(next);
        }

        @Override
        protected void handleConnect(Request request, Response response, Callback callback, String serverAddress) {
            CallNetwork call = callOf(request);
            if (call == null) {
                refuse(response, callback, 403, NO_CALL);
                return;
            }
            HostPort hp;
            try {
                hp = new HostPort(serverAddress);
            }
            catch (IllegalArgumentException e) {
                refuse(response, callback, 400, "\"" + serverAddress + "\" is not host:port");
                return;
            }
            CallNetwork.Verdict v = call.open(hp.getHost(), hp.getPort(443));
            if (v instanceof CallNetwork.Refused r) {
                refuse(response, callback, 403, r.reason());
                return;
            }
            CallNetwork.Allowed a = (CallNetwork.Allowed) v;
            request.setAttribute(ADDRESS, a.address());
            request.setAttribute(ATTEMPT, a.attempt());
            super.handleConnect(request, response, callback, serverAddress);
        }

        @Override
        protected void connectToServer(Request request, String host, int port, Promise<SocketChannel> promise) {
            SocketChannel channel = null;
            try {
                InetAddress address = (InetAddress) request.getAttribute(ADDRESS);
                channel = SocketChannel.open();
                channel.socket().setTcpNoDelay(true);
                if (policy.upstreamProxy() != null) {
                    upstreamTunnel(channel, host, port);
                    channel.configureBlocking(false);
                }
                else {
                    channel.configureBlocking(false);
                    channel.connect(new InetSocketAddress(address, port));
                }
                promise.succeeded(channel);
            }
            catch (Throwable x) {
                try {
                    if (channel != null) {
                        channel.close();
                    }
                }
                catch (IOException ignored) {
                    // closing what failed
                }
                promise.failed(x);
            }
        }

        @Override
        protected void onConnectFailure(Request request, Response response, Callback callback, Throwable failure) {
            refuse(response, callback, 502, "the connection to " + request.getHttpURI().getAuthority() + " failed: "
                    + (failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage()));
        }

        @Override
        protected void prepareContext(Request request, ConcurrentMap<String, Object> context) {
            context.put(ATTEMPT, request.getAttribute(ATTEMPT));
            context.put(DOWNSTREAM, request.getTunnelSupport().getEndPoint());
        }

        @Override
        protected void write(EndPoint endPoint, ByteBuffer buffer, Callback callback, ConcurrentMap<String, Object> context) {
            CallNetwork.Attempt a = (CallNetwork.Attempt) context.get(ATTEMPT);
            int n = buffer.remaining();
            boolean down = endPoint == context.get(DOWNSTREAM);
            (down ? bytesIn : bytesOut).add(n);
            boolean within = down ? a.received(n) : a.sent(n);
            if (!within) {
                callback.failed(new IOException("byte limit"));
                endPoint.close();
                return;
            }
            super.write(endPoint, buffer, callback, context);
        }
    }

    /**
     * CONNECT through the host's own proxy: asked synchronously, before the channel goes non-blocking.
     * The host's proxy gets the name (its own rules are by name) and resolves it itself; Warden's
     * check of the name's addresses has refused what it must before this.
     */
    private void upstreamTunnel(SocketChannel channel, String host, int port) throws IOException {
        HostPort up = new HostPort(policy.upstreamProxy());
        channel.socket().connect(new InetSocketAddress(up.getHost(), up.getPort(3128)),
                (int) policy.limits().connectTimeoutMs());
        channel.socket().setSoTimeout((int) policy.limits().connectTimeoutMs());
        String authority = (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        channel.socket().getOutputStream().write(("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        InputStream in = channel.socket().getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read(); // byte by byte: nothing after the head may be consumed here
            if (b < 0 || head.length() > 8192) {
                throw new IOException("the upstream proxy closed the CONNECT");
            }
            head.append((char) b);
        }
        if (!head.toString().matches("(?s)HTTP/1\\.[01] 200.*")) {
            throw new IOException("the upstream proxy refused: " + head.toString().lines().findFirst().orElse(""));
        }
    }

    /** Plain http:// requests: judged, then sent to the checked address with the run's Host header. */
    private final class Forward extends ProxyHandler.Forward {

        Forward() {
            setViaHost("warden");
        }

        @Override
        protected void configureHttpClient(HttpClient httpClient) {
            super.configureHttpClient(httpClient);
            httpClient.setConnectTimeout(policy.limits().connectTimeoutMs());
            httpClient.setIdleTimeout(policy.limits().idleTimeoutMs());
            if (policy.upstreamProxy() != null) {
                HostPort up = new HostPort(policy.upstreamProxy());
                httpClient.getProxyConfiguration().addProxy(new HttpProxy(up.getHost(), up.getPort(3128)));
            }
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            CallNetwork call = callOf(request);
            if (call == null) {
                refuse(response, callback, 403, NO_CALL);
                return true;
            }
            HttpURI uri = request.getHttpURI();
            if (!"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
                refuse(response, callback, 400, "Warden's proxy takes http:// URLs and CONNECT (for https://) only");
                return true;
            }
            int port = uri.getPort() > 0 ? uri.getPort() : 80;
            CallNetwork.Verdict v = call.open(uri.getHost(), port);
            if (v instanceof CallNetwork.Refused r) {
                refuse(response, callback, 403, r.reason());
                return true;
            }
            CallNetwork.Allowed a = (CallNetwork.Allowed) v;
            request.setAttribute(ADDRESS, a.address());
            long head = headBytes(request.getMethod() + " " + uri + " HTTP/1.1", request.getHeaders());
            bytesOut.add(head);
            a.attempt().sent(head);
            return super.handle(new CountedRequest(request, a.attempt()), new CountedResponse(response, a.attempt()),
                    callback);
        }

        @Override
        protected HttpURI rewriteHttpURI(Request request) {
            if (policy.upstreamProxy() != null) {
                return request.getHttpURI(); // the host's proxy resolves the name (see upstreamTunnel)
            }
            InetAddress address = (InetAddress) request.getAttribute(ADDRESS);
            String host = address.getAddress().length == 16 ? "[" + address.getHostAddress() + "]" : address.getHostAddress();
            HttpURI uri = request.getHttpURI();
            return HttpURI.build(uri).host(host).port(uri.getPort() > 0 ? uri.getPort() : 80);
        }

        @Override
        protected void addProxyHeaders(Request clientToProxyRequest, org.eclipse.jetty.client.Request proxyToServerRequest) {
            // no Via or Forwarded: nothing about the sandbox or this machine goes to the destination
        }
    }

    /** The size of a request or response head as sent: its first line and its header lines. */
    private static long headBytes(String firstLine, org.eclipse.jetty.http.HttpFields headers) {
        long n = firstLine.length() + 2L + 2L;
        for (org.eclipse.jetty.http.HttpField f : headers) {
            n += f.getName().length() + 2L + (f.getValue() == null ? 0 : f.getValue().length()) + 2L;
        }
        return n;
    }

    /** The request body a run sends, counted. */
    private final class CountedRequest extends Request.Wrapper {
        private final CallNetwork.Attempt attempt;

        CountedRequest(Request wrapped, CallNetwork.Attempt attempt) {
            super(wrapped);
            this.attempt = attempt;
        }

        @Override
        public Content.Chunk read() {
            Content.Chunk c = super.read();
            if (c != null && c.hasRemaining()) {
                bytesOut.add(c.remaining());
            }
            if (c != null && c.hasRemaining() && !attempt.sent(c.remaining())) {
                c.release();
                return Content.Chunk.from(new IOException("byte limit"), true);
            }
            return c;
        }
    }

    /** The response body a run receives, counted. */
    private final class CountedResponse extends Response.Wrapper {
        private final CallNetwork.Attempt attempt;

        CountedResponse(Request request, Response wrapped, CallNetwork.Attempt attempt) {
            super(request, wrapped);
            this.attempt = attempt;
        }

        CountedResponse(Response wrapped, CallNetwork.Attempt attempt) {
            this(wrapped.getRequest(), wrapped, attempt);
        }

        private boolean headCounted;

        @Override
        public void write(boolean last, ByteBuffer content, Callback callback) {
            if (!headCounted) {
                headCounted = true;
                long head = headBytes("HTTP/1.1 " + getStatus() + " OK", getHeaders());
                bytesIn.add(head);
                attempt.received(head);
            }
            if (content != null && content.hasRemaining()) {
                bytesIn.add(content.remaining());
            }
            if (content != null && content.hasRemaining() && !attempt.received(content.remaining())) {
                callback.failed(new IOException("byte limit"));
                return;
            }
            super.write(last, content, callback);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                }
                catch (IOException e) {
                    // left for the next start's sweep
                }
            });
        }
        catch (IOException e) {
            // left for the next start's sweep
        }
    }
}
