package dev.warden.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.ServletConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Set;

/**
 * {@code /mcp} serves both protocol eras; this servlet picks, for each request, the one it belongs to,
 * as the 2026-07-28 revision's versioning rules have a dual-era server do:
 * <ol>
 * <li>a request in a 2025-11-25 session ({@code Mcp-Session-Id}) is legacy;</li>
 * <li>an {@code MCP-Protocol-Version} header decides next: a handshake-era version (2025-11-25 and
 *     earlier) is legacy, any other is modern (the modern server answers a version it does not speak
 *     with {@code UnsupportedProtocolVersionError}, listing 2026-07-28);</li>
 * <li>with neither, the body decides: {@code server/discover}, or a request whose
 *     {@code params._meta} claims a protocol version, is modern (the modern server then tells the
 *     client the header it lacks); anything else, {@code initialize} first, is legacy.</li>
 * </ol>
 * The guard filter in front has already checked the token, the size and the Origin and Host; both
 * servers' answers go through its error-body rewriting.
 */
final class EraRouter extends HttpServlet {

    private static final long serialVersionUID = 1L;

    /** The revisions that open with the initialize handshake. */
    static final Set<String> LEGACY_VERSIONS = Set.of("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05",
            "2024-10-07");

    static final String PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion";

    private final HttpServlet legacy;
    private final HttpServlet modern;
    private final transient ObjectMapper json;

    EraRouter(HttpServlet legacy, HttpServlet modern, ObjectMapper json) {
        this.legacy = legacy;
        this.modern = modern;
        this.json = json;
    }

    @Override
    public void init(ServletConfig config) throws ServletException {
        super.init(config);
        legacy.init(config);
        modern.init(config);
    }

    @Override
    public void destroy() {
        legacy.destroy();
        modern.destroy();
        super.destroy();
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse res) throws ServletException, IOException {
        ((jakarta.servlet.Servlet) (modern(req) ? modern : legacy)).service((jakarta.servlet.ServletRequest) req,
                (jakarta.servlet.ServletResponse) res);
    }

    /** Whether the request belongs to the 2026-07-28 era (see the class comment). */
    boolean modern(HttpServletRequest req) throws IOException {
        if (req.getHeader("mcp-session-id") != null) {
            return false;
        }
        String version = req.getHeader("mcp-protocol-version");
        if (version != null) {
            return !LEGACY_VERSIONS.contains(version.strip());
        }
        if (!"POST".equals(req.getMethod())) {
            return false;
        }
        // the guard filter has read the body already: reading it again costs no I/O
        byte[] body = req.getInputStream().readAllBytes();
        return modernBody(json, body);
    }

    /** A body that is {@code server/discover}, or a request that claims a version in {@code _meta}. */
    static boolean modernBody(ObjectMapper json, byte[] body) {
        JsonNode node;
        try {
            node = json.readTree(body);
        }
        catch (IOException notJson) {
            return false; // the legacy server answers it with its parse error, as before
        }
        if (node == null || !node.isObject()) {
            return false;
        }
        if ("server/discover".equals(node.path("method").asText(null))) {
            return true;
        }
        JsonNode meta = node.path("params").path("_meta");
        return meta.isObject() && meta.has(PROTOCOL_VERSION_META) && !"initialize".equals(node.path("method").asText(null));
    }
}
