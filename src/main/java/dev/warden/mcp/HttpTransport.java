package dev.warden.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.mcp.compat.RebindingProtection;
import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpAsyncServer;
import io.modelcontextprotocol.server.transport.HttpServletSseServerTransportProvider;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import jakarta.servlet.DispatcherType;
import java.net.InetAddress;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Streamable HTTP at /mcp, in revisions 2025-11-25 and 2026-07-28 (see {@link EraRouter}), and the older
 * (deprecated) HTTP+SSE pair at /sse + /message, on embedded Jetty.
 * Origin and Host are checked on every request (DNS rebinding), tokens when configured.
 */
public final class HttpTransport implements AutoCloseable {

    private final Server jetty;
    private final McpAsyncServer streamable;
    private final McpAsyncServer sse;
    private final io.modelcontextprotocol.modern.server.McpServer modern;

    private final SessionOwners owners;
    private final Consumer<String> sessionEnded;
    private final Health health;

    private HttpTransport(Server jetty, McpAsyncServer streamable, McpAsyncServer sse,
            io.modelcontextprotocol.modern.server.McpServer modern, SessionOwners owners, Consumer<String> sessionEnded,
            Health health) {
        this.jetty = jetty;
        this.health = health;
        this.modern = modern;
        this.streamable = streamable;
        this.sse = sse;
        this.owners = owners;
        this.sessionEnded = sessionEnded;
    }

    /**
     * From now on {@code GET /readyz} answers what {@code check} says; until this is called it answers 503
     * (starting). {@code GET /healthz} answers 200 as soon as the socket serves.
     */
    public void ready(Health.Readiness check, Health.Readiness degraded) {
        health.degraded(degraded);
        health.ready(check);
    }

    /** Ends every session with no request for longer than {@code idleNanos}: its id is unknown from then on. */
    public void expireIdle(long idleNanos) {
        owners.expire(idleNanos).forEach(sessionEnded);
    }

    public record Binding(String host, int port) {
    }

    /** The caps on live sessions: per client identity (when tokens tell clients apart) and in all. */
    public record SessionCaps(int perClient, int total) {
    }

    // deprecation: the HTTP+SSE transport is deprecated upstream and kept for old clients, and its builder
    // takes only the (deprecated) security validator, which the Streamable one shares
    @SuppressWarnings("deprecation")
    public static HttpTransport start(Binding bind, List<String> tokens, List<String> extraOrigins,
            List<String> extraHosts, int maxRequestBytes, ObjectMapper json, WardenTools tools,
            String version, Consumer<String> sessionEnded, Operator operator, SessionCaps caps) throws Exception {
        McpJsonMapper mapper = new io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper(json);
        // on a replica of a fleet, sessions are recorded in the shared table too (see FleetLink)
        FleetCalls fleetCalls = tools.fleetCalls();
        FleetLink fleet = fleetCalls == null ? null : fleetCalls.link();
        Consumer<String> ended = fleet == null ? sessionEnded : id -> {
            fleet.sessionEnded(id);
            sessionEnded.accept(id);
        };
        SessionOwners owners = new SessionOwners(caps.perClient(), caps.total(), !tokens.isEmpty(), System::nanoTime);
        // DNS-rebinding protection, which the SDK leaves off unless given a validator (see RebindingProtection)
        var validator = RebindingProtection.validator(bind.host(), isWildcard(bind.host()), extraOrigins, extraHosts);

        var streamableProvider = HttpServletStreamableServerTransportProvider.builder()
            .jsonMapper(mapper)
            .mcpEndpoint("/mcp")
            .securityValidator(validator)
            .contextExtractor(req -> {
                String identity = tokens.isEmpty() ? null : identity(req.getHeader("Authorization"));
                return identity == null ? McpTransportContext.EMPTY
                        : McpTransportContext.create(Map.of(WardenTools.CLIENT_IDENTITY, identity));
            })
            .maxRequestSize(maxRequestBytes)
            .keepAliveInterval(Duration.ofSeconds(30))
            .build();
        var sseProvider = HttpServletSseServerTransportProvider.builder()
            .jsonMapper(mapper)
            .sseEndpoint("/sse")
            .messageEndpoint("/message")
            // the SSE session's own id (the one in /message?sessionId=) keys its workspace, so the end
            // of its stream can end the workspace too; the MCP layer's session id is a different one
            .contextExtractor(req -> {
                String id = req.getParameter("sessionId");
                Map<String, Object> ctx = new java.util.HashMap<>();
                if (id != null) {
                    ctx.put(WardenTools.SSE_SESSION, "sse-" + id);
                }
                String identity = tokens.isEmpty() ? null : identity(req.getHeader("Authorization"));
                if (identity != null) {
                    ctx.put(WardenTools.CLIENT_IDENTITY, identity);
                }
                return ctx.isEmpty() ? McpTransportContext.EMPTY : McpTransportContext.create(ctx);
            })
            .securityValidator(validator)
            .maxRequestSize(maxRequestBytes)
            // a gone SSE client is only noticed on a write, and the first write after it left still
            // succeeds (the second meets its reset): ping often so its workspace goes within ~10 s
            .keepAliveInterval(Duration.ofSeconds(5))
            .build();
        McpAsyncServer streamable = McpServers.streamable(streamableProvider, mapper, tools, version);
        // revision 2026-07-28 on the same endpoint: the same tools, the same guard (see EraRouter)
        io.modelcontextprotocol.modern.server.McpServer modern = ModernEra.server(tools, mapper, json, version, "http");
        var modernTransport = io.modelcontextprotocol.modern.server.transport.HttpServletMcpTransport.builder(modern)
            .jsonMapper(mapper)
            .endpoint("/mcp")
            .httpHeaderValidator(validator)
            .contextExtractor(req -> {
                String identity = tokens.isEmpty() ? null : identity(req.getHeader("Authorization"));
                return identity == null ? McpTransportContext.EMPTY
                        : McpTransportContext.create(Map.of(WardenTools.CLIENT_IDENTITY, identity));
            })
            .maxRequestSize(maxRequestBytes)
            // a stream's keep-alive is how a client that has gone is noticed (its call is then cancelled)
            .keepAliveInterval(Duration.ofSeconds(5))
            .build();
        McpAsyncServer sse = McpServers.single(sseProvider, mapper, tools, version, "sse");

        // A Streamable HTTP request holds its Jetty thread until its answer (the SDK blocks on it):
        // room for every call Warden admits, plus requests that are answered at once.
        QueuedThreadPool threads = new QueuedThreadPool(Math.max(200, tools.maxCalls() + 64), 4);
        threads.setName("warden-http");
        Server jetty = new Server(threads);
        ServerConnector connector = new ServerConnector(jetty);
        connector.setHost(bind.host());
        connector.setPort(bind.port());
        jetty.addConnector(connector);

        ServletContextHandler ctx = new ServletContextHandler();
        ctx.setContextPath("/");
        ServletHolder mcp = new ServletHolder("mcp", new EraRouter(streamableProvider, modernTransport, json));
        mcp.setAsyncSupported(true); // without it every request after initialize answers 500
        ctx.addServlet(mcp, "/mcp");
        ServletHolder legacy = new ServletHolder("sse", sseProvider);
        legacy.setAsyncSupported(true);
        ctx.addServlet(legacy, "/sse");
        ctx.addServlet(legacy, "/message");
        FilterHolder guard = new FilterHolder(new HttpGuardFilter(tokens, json, ended, tools.cancels(),
                maxRequestBytes, owners, validator, fleet));
        guard.setAsyncSupported(true);
        // the client tokens guard the MCP endpoints only; /operator has a token of its own
        for (String path : List.of("/mcp", "/sse", "/message")) {
            ctx.addFilter(guard, path, EnumSet.of(DispatcherType.REQUEST));
        }
        if (operator != null) {
            operator.mount(ctx, json);
        }
        if (fleetCalls != null) {
            // the other replicas' forwarded calls: signed with the fleet's secret, not a client token
            ctx.addServlet(new ServletHolder("fleet-call", new FleetCallServlet(tools, fleetCalls, json, maxRequestBytes)),
                    FleetCalls.PATH);
        }
        // probes: no token, no Origin/Host check (a kubelet sends neither a token nor the served host name),
        // and nothing in the answer but a status and one line (Health)
        Health health = new Health();
        ServletHolder probes = new ServletHolder("health", health);
        ctx.addServlet(probes, "/healthz");
        ctx.addServlet(probes, "/readyz");
        ctx.setErrorHandler(new QuietErrors());
        jetty.setHandler(ctx);
        jetty.setErrorHandler(new QuietErrors());
        jetty.start();
        return new HttpTransport(jetty, streamable, sse, modern, owners, ended, health);
    }

    /**
     * The rate-limit identity of a bearer token: a short fingerprint, so every session of one client
     * shares its buckets and the token itself never reaches a log or the audit. Only used when tokens
     * are configured (the guard filter has checked it by then): without them anyone could send a new
     * made-up token per request, so the session is the identity.
     */
    static String identity(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256")
                .digest(authorization.substring(7).strip().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "token:" + java.util.HexFormat.of().formatHex(d, 0, 6);
        }
        catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The operator console's parts, mounted at /operator: its JSON API at /operator/api, its page at the rest;
     * and {@code metrics}, the operator's GET /metrics (null: none), which checks the operator token itself.
     */
    public record Operator(dev.warden.operator.OperatorConsole console, String token, jakarta.servlet.http.HttpServlet metrics) {

        public Operator(dev.warden.operator.OperatorConsole console, String token) {
            this(console, token, null);
        }

        void mount(ServletContextHandler ctx, ObjectMapper json) {
            if (metrics != null) {
                ctx.addServlet(new ServletHolder("metrics", metrics), "/metrics");
            }
            dev.warden.operator.OperatorAuth auth = new dev.warden.operator.OperatorAuth(token);
            ctx.addServlet(new ServletHolder("operator-api", new dev.warden.operator.OperatorApiServlet(console, auth, json)),
                    "/operator/api/*");
            ctx.addServlet(new ServletHolder("operator", new dev.warden.operator.OperatorPageServlet(console, auth,
                    new dev.warden.operator.OperatorPage())), "/operator/*");
        }
    }

    /** The operator console served alone (under stdio): the port it bound, and how it stops. */
    public static final class OperatorOnly {

        private final Server jetty;

        private OperatorOnly(Server jetty) {
            this.jetty = jetty;
        }

        public int port() {
            return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
        }

        public void stop() throws Exception {
            jetty.stop();
        }
    }

    /**
     * The operator console alone, for a server that speaks MCP over stdio: loopback only.
     *
     * @return the running console; its port is the one bound
     */
    public static OperatorOnly startOperatorOnly(Binding bind, Operator operator, ObjectMapper json) throws Exception {
        if (!isLoopback(bind.host())) {
            throw new IllegalArgumentException("operator.listen must be a loopback address under stdio, not " + bind.host());
        }
        QueuedThreadPool threads = new QueuedThreadPool(16, 2);
        threads.setName("warden-operator");
        threads.setDaemon(true);
        Server jetty = new Server(threads);
        ServerConnector connector = new ServerConnector(jetty, 1, 1);
        connector.setHost(bind.host());
        connector.setPort(bind.port());
        jetty.addConnector(connector);
        ServletContextHandler ctx = new ServletContextHandler();
        ctx.setContextPath("/");
        operator.mount(ctx, json);
        ctx.setErrorHandler(new QuietErrors());
        jetty.setHandler(ctx);
        jetty.setErrorHandler(new QuietErrors());
        jetty.start();
        return new OperatorOnly(jetty);
    }

    public static boolean isWildcard(String host) {
        return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
    }

    public static boolean isLoopback(String host) {
        try {
            String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
            return InetAddress.getByName(h).isLoopbackAddress();
        }
        catch (Exception e) {
            return false;
        }
    }

    public int port() {
        return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
    }

    public void join() throws InterruptedException {
        jetty.join();
    }

    @Override
    public void close() throws Exception {
        streamable.closeGracefully().onErrorComplete().block(Duration.ofSeconds(5));
        sse.closeGracefully().onErrorComplete().block(Duration.ofSeconds(5));
        modern.closeGracefully();
        jetty.stop();
    }

    /** Jetty's own error pages: a one-line JSON, never a stack trace. */
    private static final class QuietErrors extends ErrorHandler {

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            response.getHeaders().put("Content-Type", "application/json");
            int status = response.getStatus() >= 400 ? response.getStatus() : 500;
            response.setStatus(status);
            String body = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32000,\"message\":\"HTTP " + status + "\"}}";
            response.write(true, java.nio.ByteBuffer.wrap(body.getBytes(java.nio.charset.StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
