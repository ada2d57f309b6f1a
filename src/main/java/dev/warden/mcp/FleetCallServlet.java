package dev.warden.mcp;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.exec.Cancel;
import dev.warden.mcp.compat.CleanErrorBodies;
import dev.warden.pipeline.Caller;
import io.modelcontextprotocol.spec.McpSchema;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /fleet/call} (only on a replica of a fleet): a tool call another replica forwards here
 * because this replica owns what it names (see {@link FleetCalls}). Authenticated by the fleet's
 * HMAC ({@link FleetAuth}); anything else is refused with 403 before its body is looked at. The call
 * runs as the original caller (its session and identity) through this replica's door and pipeline,
 * so it is admitted, rate limited and audited here like any other; the answer is the tool's result.
 */
final class FleetCallServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    private static final Logger log = LoggerFactory.getLogger(FleetCallServlet.class);

    private final transient WardenTools tools;
    private final transient FleetCalls fleet;
    private final transient ObjectMapper json;
    private final int maxRequestBytes;

    FleetCallServlet(WardenTools tools, FleetCalls fleet, ObjectMapper json, int maxRequestBytes) {
        this.tools = tools;
        this.fleet = fleet;
        this.json = json;
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse res) throws IOException {
        res.setHeader(FleetProxy.REPLICA, fleet.link().replicaId());
        res.setHeader("Cache-Control", "no-store");
        byte[] body = req.getInputStream().readNBytes(maxRequestBytes + 1);
        if (body.length > maxRequestBytes) {
            CleanErrorBodies.writeError(res, json, 413, -32600, "Request body too large");
            return;
        }
        if (!fleet.auth().verify(req.getHeader(FleetAuth.TIME), req.getHeader(FleetAuth.SIGNATURE), body)) {
            log.warn("fleet: refused a /fleet/call from {} ({}): bad or stale signature", req.getRemoteAddr(),
                    req.getHeader(FleetAuth.FROM));
            CleanErrorBodies.writeError(res, json, 403, -32001, "Forbidden: not signed with this fleet's secret");
            return;
        }
        Map<String, Object> call;
        try {
            call = json.readValue(body, new TypeReference<Map<String, Object>>() {
            });
        }
        catch (IOException e) {
            CleanErrorBodies.writeError(res, json, 400, -32700, "Parse error");
            return;
        }
        String tool = call.get("tool") instanceof String t ? t : "";
        Optional<WardenTools.Entry> entry = tools.localEntries().stream().filter(e -> e.name().equals(tool)).findFirst();
        if (entry.isEmpty() || !(call.get("session") instanceof String session)) {
            CleanErrorBodies.writeError(res, json, 400, -32602, "Unknown tool or no session: " + tool);
            return;
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> args = call.get("arguments") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
        String identity = call.get("identity") instanceof String i ? i : session;
        String client = call.get("client") instanceof String c ? c : null;
        String transport = call.get("transport") instanceof String t ? t : "http";
        Object workspace = "delete_workspace".equals(tool) ? null : args.get("workspace");
        Caller caller = new Caller(session, client, transport, identity, null, Caller.Progress.NONE, new Cancel(),
                workspace);
        McpSchema.CallToolRequest request = new McpSchema.CallToolRequest(tool, args, null);
        McpSchema.CallToolResult result;
        try {
            result = tools.call(caller, entry.get(), request).get();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            CleanErrorBodies.writeError(res, json, 503, -32000, "Interrupted");
            return;
        }
        catch (ExecutionException e) {
            log.error("fleet: forwarded {} failed inside Warden", tool, e.getCause());
            CleanErrorBodies.writeError(res, json, 500, -32603, "Internal error");
            return;
        }
        byte[] out = fleet.write(result);
        res.setStatus(200);
        res.setContentType("application/json");
        res.setContentLength(out.length);
        res.getOutputStream().write(out);
    }
}
