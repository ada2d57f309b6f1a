package dev.warden.mcp;

import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.Prompter;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Asks the client's user with MCP elicitation (CONTRACT.md): the message ({@link ApprovalRequest#describe})
 * holds the directory, tier and matched rules, then the exact command or code, unredacted, invisible
 * characters escaped, in a fence it cannot close; the form has one required string, {@code decision},
 * an enum of approve_once, approve_session, deny. Anything but an accepted approve is a denial.
 */
final class ElicitationPrompter implements Prompter {

    static final Map<String, Object> SCHEMA = Map.of(
            "type", "object",
            "properties", Map.of("decision", Map.of(
                    "type", "string",
                    "title", "Decision",
                    "description", "approve_once: run this call; approve_session: run it and later calls held by "
                            + "the same rules in this session; deny: do not run it",
                    "enum", List.of("approve_once", "approve_session", "deny"))),
            "required", List.of("decision"));

    private final McpSyncServerExchange exchange;
    private final String client;

    ElicitationPrompter(McpSyncServerExchange exchange, String client) {
        this.exchange = exchange;
        this.client = client;
    }

    @Override
    public String ask(ApprovalRequest request, Duration timeout) {
        // The SDK's own request timeout (set a little past the approval timeout) ends a client that
        // never answers; the approval service does not wait for this thread either way.
        McpSchema.ElicitResult r = exchange.createElicitation(McpSchema.ElicitFormRequest.builder(request.describe(), SCHEMA)
            .build());
        if (r == null || r.action() != McpSchema.ElicitResult.Action.ACCEPT || r.content() == null) {
            return r == null ? "error" : r.action().name().toLowerCase();
        }
        Object d = r.content().get("decision");
        return d instanceof String s ? s : "invalid";
    }

    @Override
    public String approver() {
        return "user of " + (client == null ? "the MCP client" : client);
    }
}
