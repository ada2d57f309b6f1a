package dev.warden.mcp;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.core.CallPipeline;
import dev.warden.core.CallResult;
import dev.warden.core.Caller;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
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

    private final CallPipeline pipeline;
    private final ToolArguments arguments;
    private final ToolCatalog catalog;
    private final ObjectMapper json;
    private final Supplier<List<String>> languages;
    private final long maxTimeoutMs;

    public WardenTools(CallPipeline pipeline, LimitsConfig limits, List<String> languages, ObjectMapper json) {
        this(pipeline, limits, () -> languages, json);
    }

    /** @param languages the language enum, read when a server's tool list is built (after the container probe) */
    public WardenTools(CallPipeline pipeline, LimitsConfig limits, Supplier<List<String>> languages, ObjectMapper json) {
        this.pipeline = pipeline;
        this.arguments = new ToolArguments(limits);
        this.catalog = new ToolCatalog(json);
        this.json = json;
        this.languages = languages;
        this.maxTimeoutMs = limits.maxTimeoutMs();
    }

    List<SyncToolSpecification> specifications(String transport) {
        return List.of(
                SyncToolSpecification.builder().tool(catalog.runCommand(maxTimeoutMs))
                    .callHandler((ex, req) -> handle(ex, transport, "run_command", req.arguments()))
                    .build(),
                SyncToolSpecification.builder().tool(catalog.executeCode(languages.get(), maxTimeoutMs))
                    .callHandler((ex, req) -> handle(ex, transport, "execute_code", req.arguments()))
                    .build());
    }

    private McpSchema.CallToolResult handle(McpSyncServerExchange exchange, String transport, String tool,
            Map<String, Object> args) {
        long t0 = System.nanoTime();
        McpSchema.Implementation client = exchange.getClientInfo();
        Object sseSession = exchange.transportContext() == null ? null : exchange.transportContext().get(SSE_SESSION);
        String session = sseSession instanceof String s ? s : exchange.sessionId();
        Caller caller = new Caller(session, client == null ? null : client.name() + "/" + client.version(), transport);
        CallResult result;
        try {
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
        McpSchema.CallToolResult mcp = toMcp(result);
        if (log.isDebugEnabled()) {
            log.debug("{} {}: pipeline {}us, to MCP {}us", tool, result.executionId(), (t1 - t0) / 1000,
                    (System.nanoTime() - t1) / 1000);
        }
        return mcp;
    }

    private McpSchema.CallToolResult toMcp(CallResult result) {
        try {
            Map<String, Object> structured = json.convertValue(result, new TypeReference<Map<String, Object>>() {
            });
            String text = json.writeValueAsString(structured);
            return McpSchema.CallToolResult.builder()
                .content(List.of(McpSchema.TextContent.builder(text).build()))
                .structuredContent(structured)
                .isError(result.isError())
                .build();
        }
        catch (Exception e) {
            log.error("could not serialise result {}", result.executionId(), e);
            return McpSchema.CallToolResult.builder()
                .content(List.of(McpSchema.TextContent.builder("{\"status\":\"failed\",\"message\":\"Warden could not serialise the result.\"}").build()))
                .isError(true)
                .build();
        }
    }
}
