package dev.warden.mcp;

import dev.warden.call.Status;
import dev.warden.contract.FileResult;
import dev.warden.contract.WorkspaceUri;
import dev.warden.pipeline.Caller;
import io.modelcontextprotocol.server.McpServerFeatures.AsyncResourceTemplateSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The workspaces as MCP resources: one template, {@code warden://workspace/{workspace_id}/{+path}},
 * whose resources/read is read_file's whole read of that file, for the session whose workspace it is
 * (through the same pipeline: rate limits, a sandboxed read, sanitized text, an audit line).
 * resources/list lists nothing: the files are found through a run's artifacts (each a resource_link),
 * list_files, or the template.
 */
final class WorkspaceResources {

    private final WardenTools tools;

    WorkspaceResources(WardenTools tools) {
        this.tools = tools;
    }

    /** The one template, the same in both protocol eras. */
    static McpSchema.ResourceTemplate template() {
        return McpSchema.ResourceTemplate.builder(WorkspaceUri.TEMPLATE, "workspace-file")
            .title("A file of a Warden workspace")
            .description("A file in the workspace of this session, by its path relative to the workspace root "
                    + "(each segment percent-encoded). The artifacts of run_command and execute_code results link "
                    + "here. Text comes back sanitized like stdout, anything else as a base64 blob; at most "
                    + "limits.output_bytes of it (read_file reads on from there).")
            .build();
    }

    List<AsyncResourceTemplateSpecification> templates(String transport) {
        return List.of(new AsyncResourceTemplateSpecification(template(), (ex, req) -> {
            Caller caller = WardenTools.caller(new McpSyncServerExchange(ex), transport, req.meta(), null);
            return tools.admitted(caller, c -> read(tools, c, req.uri()), (retryAfterMs, why) -> {
                throw McpError.builder(McpSchema.ErrorCodes.INTERNAL_ERROR)
                    .message("Rate limited: " + why + "; retry after " + retryAfterMs + " ms.")
                    .data(Map.of("retry_after_ms", retryAfterMs)).build();
            });
        }));
    }

    /**
     * The contents, or a JSON-RPC error: -32002 (resource not found) for every refusal of the URI (no
     * such file, a path that leads out, an unknown workspace or another session's, all alike), -32603
     * for a read that failed, was rate limited or stopped by the kill switch, each with the message
     * read_file would give. On a replica of a fleet, a file of a durable workspace another replica holds
     * is read there.
     */
    static McpSchema.ReadResourceResult read(WardenTools tools, Caller caller, String uri) {
        FleetCalls fleet = tools.fleetCalls();
        FileResult r = (fleet == null ? Optional.<FileResult>empty() : fleet.readResource(caller, uri))
            .orElseGet(() -> tools.pipeline().readResource(caller, uri));
        if (r.status() != Status.OK) {
            int code = r.status() == Status.INVALID ? McpSchema.ErrorCodes.RESOURCE_NOT_FOUND
                    : McpSchema.ErrorCodes.INTERNAL_ERROR;
            McpError.Builder e = McpError.builder(code).message(r.message());
            if (r.retryAfterMs() != null) {
                e.data(Map.of("retry_after_ms", r.retryAfterMs()));
            }
            throw e.build();
        }
        Map<String, Object> meta = Map.of("warden/size", r.size(), "warden/truncated", r.truncated(),
                "warden/redactions", r.redactions() == null ? 0 : r.redactions(), "warden/execution_id", r.executionId());
        McpSchema.ResourceContents contents = "text".equals(r.encoding())
                ? new McpSchema.TextResourceContents(uri, r.mime(), r.content(), meta)
                : new McpSchema.BlobResourceContents(uri, r.mime(), r.content(), meta);
        return McpSchema.ReadResourceResult.builder(List.of(contents)).build();
    }
}
