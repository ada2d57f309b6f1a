package dev.warden.mcp.compat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpAsyncServer;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import io.modelcontextprotocol.server.transport.ServerTransportSecurityValidator;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * The SDK's own Streamable HTTP transport on a loopback Jetty, as the SDK tests need it: built the
 * way the SDK's builder makes it (validator optional), optionally behind a filter.
 */
@SuppressWarnings("deprecation") // it exercises the SDK's own (deprecated) API on purpose
final class SdkHttp implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String INITIALIZE = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
            + "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";

    private final Server jetty;
    private final McpAsyncServer server;

    /** What came back: status, headers (lower-case names), body. */
    record Answer(int status, Map<String, String> headers, byte[] body) {

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    SdkHttp(ServerTransportSecurityValidator validator, Filter filter) throws Exception {
        var builder = HttpServletStreamableServerTransportProvider.builder()
            .jsonMapper(new JacksonMcpJsonMapper(JSON))
            .mcpEndpoint("/mcp");
        if (validator != null) {
            builder.securityValidator(validator);
        }
        var provider = builder.build();
        server = McpServer.async(provider).serverInfo("sdk-test", "1").requestTimeout(Duration.ofSeconds(5)).build();
        jetty = new Server();
        ServerConnector connector = new ServerConnector(jetty, 1, 1);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        jetty.addConnector(connector);
        ServletContextHandler ctx = new ServletContextHandler();
        ctx.setContextPath("/");
        ServletHolder mcp = new ServletHolder("mcp", provider);
        mcp.setAsyncSupported(true);
        ctx.addServlet(mcp, "/mcp");
        if (filter != null) {
            FilterHolder f = new FilterHolder(filter);
            f.setAsyncSupported(true);
            ctx.addFilter(f, "/mcp", EnumSet.of(DispatcherType.REQUEST));
        }
        jetty.setHandler(ctx);
        jetty.start();
    }

    int port() {
        return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
    }

    /** An HTTP/1.0 POST to /mcp (so the answer ends with the connection), any Host and Origin. */
    Answer post(byte[] body, Map<String, String> headers) throws Exception {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Host", "127.0.0.1:" + port());
        h.put("Content-Type", "application/json");
        h.put("Accept", "application/json, text/event-stream");
        h.putAll(headers);
        h.put("Content-Length", String.valueOf(body.length));
        StringBuilder head = new StringBuilder("POST /mcp HTTP/1.0\r\n");
        h.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        head.append("\r\n");
        try (Socket s = new Socket("127.0.0.1", port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
            InputStream in = s.getInputStream();
            byte[] all = in.readAllBytes();
            ByteArrayOutputStream rest = new ByteArrayOutputStream();
            int split = indexOf(all, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            rest.write(all, split + 4, all.length - split - 4);
            String[] lines = new String(all, 0, split, StandardCharsets.ISO_8859_1).split("\r\n");
            Map<String, String> got = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int c = lines[i].indexOf(':');
                got.put(lines[i].substring(0, c).trim().toLowerCase(), lines[i].substring(c + 1).trim());
            }
            return new Answer(Integer.parseInt(lines[0].split(" ")[1]), got, rest.toByteArray());
        }
    }

    Answer post(String body, Map<String, String> headers) throws Exception {
        return post(body.getBytes(StandardCharsets.UTF_8), headers);
    }

    private static int indexOf(byte[] a, byte[] b) {
        outer:
        for (int i = 0; i + b.length <= a.length; i++) {
            for (int j = 0; j < b.length; j++) {
                if (a[i + j] != b[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalStateException("no end of headers in: " + new String(a, StandardCharsets.ISO_8859_1));
    }

    @Override
    public void close() throws Exception {
        server.close();
        jetty.stop();
    }
}
