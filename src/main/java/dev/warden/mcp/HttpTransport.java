package dev.warden.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.DefaultServerTransportSecurityValidator;
import io.modelcontextprotocol.server.transport.HttpServletSseServerTransportProvider;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import jakarta.servlet.DispatcherType;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
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
 * Streamable HTTP at /mcp and the older HTTP+SSE pair at /sse + /message, on embedded Jetty.
 * Origin and Host are checked on every request (DNS rebinding), tokens when configured.
 */
public final class HttpTransport implements AutoCloseable {

    private final Server jetty;
    private final McpSyncServer streamable;
    private final McpSyncServer sse;

    private HttpTransport(Server jetty, McpSyncServer streamable, McpSyncServer sse) {
        this.jetty = jetty;
        this.streamable = streamable;
        this.sse = sse;
    }

    public record Binding(String host, int port) {
    }

    public static HttpTransport start(Binding bind, List<String> tokens, List<String> extraOrigins,
            List<String> extraHosts, int maxRequestBytes, McpJsonMapper mapper, ObjectMapper json, WardenTools tools,
            String version, Consumer<String> sessionEnded) throws Exception {
        List<String> origins = new ArrayList<>(List.of("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*",
                "https://localhost:*", "https://127.0.0.1:*", "https://[::1]:*"));
        origins.addAll(extraOrigins);
        List<String> hosts = new ArrayList<>(List.of("localhost:*", "127.0.0.1:*", "[::1]:*"));
        String bindHost = bind.host().contains(":") && !bind.host().startsWith("[") ? "[" + bind.host() + "]" : bind.host();
        if (!isWildcard(bind.host())) {
            hosts.add(bindHost + ":*");
        }
        hosts.addAll(extraHosts);
        var validator = DefaultServerTransportSecurityValidator.builder().allowedOrigins(origins).allowedHosts(hosts)
            .build();

        var streamableProvider = HttpServletStreamableServerTransportProvider.builder()
            .jsonMapper(mapper)
            .mcpEndpoint("/mcp")
            .securityValidator(validator)
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
                return id == null ? McpTransportContext.EMPTY
                        : McpTransportContext.create(Map.of(WardenTools.SSE_SESSION, "sse-" + id));
            })
            .securityValidator(validator)
            .maxRequestSize(maxRequestBytes)
            // a gone SSE client is only noticed on a write: ping often so its workspace goes soon
            .keepAliveInterval(Duration.ofSeconds(10))
            .build();
        McpSyncServer streamable = McpServers.streamable(streamableProvider, mapper, tools, version);
        McpSyncServer sse = McpServers.single(sseProvider, mapper, tools, version, "sse");

        QueuedThreadPool threads = new QueuedThreadPool(200, 4);
        threads.setName("warden-http");
        Server jetty = new Server(threads);
        ServerConnector connector = new ServerConnector(jetty);
        connector.setHost(bind.host());
        connector.setPort(bind.port());
        jetty.addConnector(connector);

        ServletContextHandler ctx = new ServletContextHandler();
        ctx.setContextPath("/");
        ServletHolder mcp = new ServletHolder("mcp", streamableProvider);
        mcp.setAsyncSupported(true); // without it every request after initialize answers 500
        ctx.addServlet(mcp, "/mcp");
        ServletHolder legacy = new ServletHolder("sse", sseProvider);
        legacy.setAsyncSupported(true);
        ctx.addServlet(legacy, "/sse");
        ctx.addServlet(legacy, "/message");
        FilterHolder guard = new FilterHolder(new HttpGuardFilter(tokens, json, sessionEnded));
        guard.setAsyncSupported(true);
        ctx.addFilter(guard, "/*", EnumSet.of(DispatcherType.REQUEST));
        ctx.setErrorHandler(new QuietErrors());
        jetty.setHandler(ctx);
        jetty.setErrorHandler(new QuietErrors());
        jetty.start();
        return new HttpTransport(jetty, streamable, sse);
    }

    static boolean isWildcard(String host) {
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
        streamable.closeGracefully();
        sse.closeGracefully();
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
