package dev.warden.mcp;

import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.Prompter;
import dev.warden.operator.OperatorPageServlet;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Asks the client's user with MCP elicitation (CONTRACT.md): the message ({@link ApprovalRequest#describe})
 * holds the directory, tier and matched rules, then the exact command or code, unredacted, invisible
 * characters escaped, in a fence it cannot close; the form has one required string, {@code decision},
 * an enum of approve_once, approve_session, deny. In URL mode ({@link ElicitationMode}) it sends the
 * person to the approval's entry on the operator page instead, where the decision is made; the
 * client's accept then only says the person went there. It reports what the client answered;
 * {@link dev.warden.approval.ApprovalService} decides what that does.
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
    /** The operator page's public address for URL mode, or null: the form. */
    private final String pageBase;

    ElicitationPrompter(McpSyncServerExchange exchange, String client) {
        this(exchange, client, null);
    }

    ElicitationPrompter(McpSyncServerExchange exchange, String client, String pageBase) {
        this.exchange = exchange;
        this.client = client;
        this.pageBase = pageBase;
    }

    @Override
    public String ask(ApprovalRequest request, Duration timeout) {
        // The SDK's own request timeout (set a little past the approval timeout) ends a client that
        // never answers; the approval service does not wait for this thread either way.
        if (pageBase != null) {
            McpSchema.ElicitResult r = exchange.createElicitation(McpSchema.ElicitUrlRequest.builder(urlMessage(request),
                    OperatorPageServlet.entryUrl(pageBase, request.id()), elicitationId(request.id())).build());
            if (r == null) {
                return ERROR;
            }
            return r.action() == McpSchema.ElicitResult.Action.ACCEPT ? OPENED : r.action().name().toLowerCase();
        }
        McpSchema.ElicitResult r = exchange.createElicitation(McpSchema.ElicitFormRequest.builder(request.describe(), SCHEMA)
            .build());
        if (r == null || r.action() != McpSchema.ElicitResult.Action.ACCEPT || r.content() == null) {
            return r == null ? ERROR : r.action().name().toLowerCase();
        }
        Object d = r.content().get("decision");
        return d instanceof String s ? s : "invalid";
    }

    /** Unique per elicitation, as URL mode requires: the execution id and a random part. */
    private static String elicitationId(String id) {
        return id + "-" + java.util.UUID.randomUUID().toString().substring(0, 8);
    }

    /** What the client shows beside the link: Warden's own words only; the exact text is on the page. */
    private static String urlMessage(ApprovalRequest r) {
        boolean action = r.kind().equals("action");
        return (action ? "The agent asks for approval of an action outside Warden" : "Warden held a call for your approval ("
                + r.kind() + ")") + ", execution " + r.id() + ". Open its entry on the Warden operator page to see exactly "
                + (action ? "what it asks for" : "what would run") + " and approve or deny it there (log in with the "
                + "operator token). It expires at " + r.expires().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + ".";
    }

    @Override
    public String approver() {
        return "user of " + (client == null ? "the MCP client" : client);
    }
}
