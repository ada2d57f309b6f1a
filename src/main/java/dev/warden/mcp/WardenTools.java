package dev.warden.mcp;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.core.ApprovalResult;
import dev.warden.core.CallPipeline;
import dev.warden.core.CallResult;
import dev.warden.core.Caller;
import dev.warden.exec.Cancel;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The tool handlers: MCP arguments in, a CONTRACT result out (structured, plus the same JSON as text). */
public final class WardenTools {

    private static final Logger log = LoggerFactory.getLogger(WardenTools.class);

    /** Transport-context key of an SSE connection's own session id. */
    static final String SSE_SESSION = "warden.sse.session";
    /** Transport-context key of the client's identity for rate limits: a fingerprint of its bearer token. */
    static final String CLIENT_IDENTITY = "warden.client.identity";

    private final CallPipeline pipeline;
    private final ToolArguments arguments;
    private final ToolCatalog catalog;
    private final ObjectMapper json;
    private final Supplier<List<String>> languages;
    private final long maxTimeoutMs;
    private final Duration approvalTimeout;
    private final ClientCancels cancels = new ClientCancels();

    /** @param languages the language enum, read when a server's tool list is built (after the container probe) */
    public WardenTools(CallPipeline pipeline, LimitsConfig limits, Supplier<List<String>> languages,
            Duration approvalTimeout, ObjectMapper json) {
        this.pipeline = pipeline;
        this.arguments = new ToolArguments(limits);
        this.catalog = new ToolCatalog(json);
        this.json = json;
        this.languages = languages;
        this.maxTimeoutMs = limits.maxTimeoutMs();
        this.approvalTimeout = approvalTimeout;
    }

    /** How long a server-to-client request (an elicitation) may wait: a little past the approval timeout. */
    Duration requestTimeout() {
        return approvalTimeout.plusSeconds(15);
    }

    List<SyncToolSpecification> specifications(String transport) {
        return List.of(
                SyncToolSpecification.builder().tool(catalog.runCommand(maxTimeoutMs))
                    .callHandler((ex, req) -> handle(ex, transport, "run_command", req))
                    .build(),
                SyncToolSpecification.builder().tool(catalog.executeCode(languages.get(), maxTimeoutMs))
                    .callHandler((ex, req) -> handle(ex, transport, "execute_code", req))
                    .build(),
                SyncToolSpecification.builder().tool(catalog.requestApproval(approvalTimeout.toSeconds()))
                    .callHandler((ex, req) -> approval(ex, transport, req))
                    .build());
    }

    /** The caller: its session, its name, the identity rate limits count against, elicitation if declared. */
    private static Caller caller(McpSyncServerExchange exchange, String transport, McpSchema.CallToolRequest req) {
        McpSchema.Implementation client = exchange.getClientInfo();
        var ctx = exchange.transportContext();
        Object sseSession = ctx == null ? null : ctx.get(SSE_SESSION);
        String session = sseSession instanceof String s ? s : exchange.sessionId();
        Object token = ctx == null ? null : ctx.get(CLIENT_IDENTITY);
        String name = client == null ? null : client.name() + "/" + client.version();
        McpSchema.ClientCapabilities caps = exchange.getClientCapabilities();
        ElicitationPrompter prompter = caps != null && caps.elicitation() != null
                ? new ElicitationPrompter(exchange, name) : null;
        Object progressToken = req.meta() == null ? null : req.meta().get("progressToken");
        Caller.Progress progress = progressToken == null ? Caller.Progress.NONE : (done, message) -> {
            try {
                exchange.progressNotification(new McpSchema.ProgressNotification(progressToken, done, null, message));
            }
            catch (RuntimeException e) {
                log.debug("progress notification failed: {}", e.getMessage());
            }
        };
        return new Caller(session, name, transport, token instanceof String t ? t : session, prompter, progress,
                new Cancel());
    }

    /** What the transport guards tell about tools/call and notifications/cancelled messages. */
    ClientCancels cancels() {
        return cancels;
    }

    private McpSchema.CallToolResult approval(McpSyncServerExchange exchange, String transport,
            McpSchema.CallToolRequest req) {
        Caller caller = caller(exchange, transport, req);
        ApprovalResult result;
        try {
            result = pipeline.requestApproval(caller, arguments.requestApproval(req.arguments()));
        }
        catch (InvalidArguments e) {
            result = pipeline.invalidApproval(caller, req.arguments(), e.getMessage());
        }
        return structured(result, result.isError(), result.executionId());
    }

    private McpSchema.CallToolResult handle(McpSyncServerExchange exchange, String transport, String tool,
            McpSchema.CallToolRequest req) {
        long t0 = System.nanoTime();
        Map<String, Object> args = req.arguments();
        Caller caller = caller(exchange, transport, req);
        CallResult result;
        try (Cancel.Registration cancellable = cancels.register(req.meta(), caller.cancel())) {
            result = switch (tool) {
                case "run_command" -> pipeline.runCommand(caller, arguments.runCommand(args));
                case "execute_code" -> pipeline.executeCode(caller, arguments.executeCode(args));
                default -> throw new IllegalStateException("no such tool " + tool);
            };
        }
        catch (InvalidArguments e) {
            result = pipeline.invalid(caller, tool, args, e.getMessage());
        }

        long t1 = System.nanoTime();
        McpSchema.CallToolResult mcp = structured(result, result.isError(), result.executionId());
        if (log.isDebugEnabled()) {
            log.debug("{} {}: pipeline {}us, to MCP {}us", tool, result.executionId(), (t1 - t0) / 1000,
                    (System.nanoTime() - t1) / 1000);
        }
        return mcp;
    }

    private McpSchema.CallToolResult structured(Object result, boolean isError, String id) {
        try {
            Map<String, Object> structured = json.convertValue(result, new TypeReference<Map<String, Object>>() {
            });
            String text = json.writeValueAsString(structured);
            return McpSchema.CallToolResult.builder()
                .content(List.of(McpSchema.TextContent.builder(text).build()))
                .structuredContent(structured)
                .isError(isError)
                .build();
        }
        catch (Exception e) {
            log.error("could not serialise result {}", id, e);
            return McpSchema.CallToolResult.builder()
                .content(List.of(McpSchema.TextContent.builder("{\"status\":\"failed\",\"message\":\"Warden could not serialise the result.\"}").build()))
                .isError(true)
                .build();
        }
    }
}
