package dev.warden.mcp;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.contract.FileResult;
import dev.warden.contract.WorkspaceUri;
import dev.warden.pipeline.Caller;
import dev.warden.session.DurableStore;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tool calls that belong to another replica of the fleet, sent to it: {@code get_execution},
 * {@code send_input}, {@code stop_execution} and {@code request_approval} of an execution (or held
 * call) the shared index puts on another replica, and any call naming a durable workspace
 * ({@code workspace}, or {@code workspace_id} of delete_workspace) that lives on another replica.
 * The owner runs it as the same caller (session, identity: the token's fingerprint, never the token)
 * through its own door and pipeline ({@link FleetCallServlet}), and its answer is this call's answer.
 * An owner that is gone gets a clear error result instead, at once: nothing waits on a dead replica.
 */
final class FleetCalls {

    private static final Logger log = LoggerFactory.getLogger(FleetCalls.class);

    static final String PATH = "/fleet/call";
    private static final Set<String> BY_EXECUTION = Set.of("get_execution", "stop_execution", "send_input");

    private final FleetLink link;
    private final FleetAuth auth;
    private final FleetProxy http;
    private final ObjectMapper json;
    private final io.modelcontextprotocol.json.McpJsonMapper mapper;

    FleetCalls(FleetLink link, ObjectMapper json) {
        this.link = link;
        this.auth = new FleetAuth(link.secret(), System::currentTimeMillis);
        this.http = new FleetProxy();
        this.json = json;
        this.mapper = new io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper(json);
    }

    FleetLink link() {
        return link;
    }

    FleetAuth auth() {
        return auth;
    }

    /** The tool's body, but a call that belongs to another replica goes there. */
    WardenTools.Body routed(String tool, WardenTools.Body local) {
        return (caller, req) -> elsewhere(caller, tool, req).orElseGet(() -> local.call(caller, req));
    }

    /**
     * resources/read of a file in a durable workspace that lives on another replica: read there, as
     * read_file's whole read (what resources/read is), answered as its {@link FileResult}; empty when the
     * workspace is this replica's, a session's, or unknown to the fleet (read here as on a single server).
     */
    Optional<FileResult> readResource(Caller caller, String uri) {
        WorkspaceUri u;
        try {
            u = WorkspaceUri.parse(uri);
        }
        catch (WorkspaceUri.Malformed e) {
            return Optional.empty();
        }
        if (!DurableStore.wellFormed(u.workspaceId())) {
            return Optional.empty();
        }
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("workspace", u.workspaceId());
        args.put("path", u.path());
        Optional<McpSchema.CallToolResult> there = elsewhere(caller, "read_file",
                new McpSchema.CallToolRequest("read_file", args, null));
        if (there.isEmpty()) {
            return Optional.empty();
        }
        Object sc = there.get().structuredContent();
        FileResult f = sc == null ? null : json.convertValue(sc, FileResult.class);
        return Optional.of(f != null && f.status() != null ? f : FileResult.refused(dev.warden.call.Status.FAILED, null,
                null, "The replica that holds workspace " + u.workspaceId() + " answered the read with no result."));
    }

    /** The owner of this call when it is another replica (with what it is owned by), else empty. */
    private Optional<McpSchema.CallToolResult> elsewhere(Caller caller, String tool, McpSchema.CallToolRequest req) {
        Map<String, Object> args = req.arguments() == null ? Map.of() : req.arguments();
        FleetLink.Kind kind;
        String id;
        Optional<FleetLink.Owner> owner;
        if (BY_EXECUTION.contains(tool) || ("request_approval".equals(tool) && args.get("execution_id") instanceof String)) {
            if (!(args.get("execution_id") instanceof String s) || s.isBlank()) {
                return Optional.empty();
            }
            id = s;
            kind = FleetLink.Kind.EXECUTION;
            owner = Optional.empty();
            if ("request_approval".equals(tool)) {
                owner = link.owner(FleetLink.Kind.APPROVAL, id);
                kind = FleetLink.Kind.APPROVAL;
            }
            if (owner.isEmpty()) {
                owner = link.owner(FleetLink.Kind.EXECUTION, id);
            }
        }
        else {
            Object ws = "delete_workspace".equals(tool) ? args.get("workspace_id") : args.get("workspace");
            if (!(ws instanceof String s) || s.isBlank()) {
                return Optional.empty();
            }
            id = s;
            kind = FleetLink.Kind.WORKSPACE;
            owner = link.owner(kind, id);
        }
        if (owner.isEmpty() || owner.get().replica().equals(link.replicaId())) {
            return Optional.empty(); // unknown to the fleet, or ours: answered here as on a single server
        }
        FleetLink.Owner o = owner.get();
        if (!o.live() || o.url() == null) {
            return Optional.of(gone(tool, kind, id, o, "is gone (no heartbeat)"));
        }
        return Optional.of(forward(caller, tool, args, kind, id, o));
    }

    private McpSchema.CallToolResult forward(Caller caller, String tool, Map<String, Object> args, FleetLink.Kind kind,
            String id, FleetLink.Owner o) {
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("tool", tool);
        call.put("arguments", args);
        call.put("session", caller.sessionId());
        call.put("identity", caller.identity());
        call.put("client", caller.client());
        call.put("transport", caller.transport());
        call.put("nonce", newId()); // each request signed differently: the receiver accepts a signature once
        try {
            byte[] body = json.writeValueAsBytes(call);
            long t = auth.now();
            FleetProxy.Reply r = http.post(strip(o.url()) + PATH, body, Map.of(FleetAuth.TIME, Long.toString(t),
                    FleetAuth.SIGNATURE, auth.sign(t, body), FleetAuth.FROM, link.replicaId()),
                    // unknown (the database out of reach) is not dead: the connection itself still tells
                    () -> link.owner(kind, id).map(FleetLink.Owner::live).orElse(true));
            if (r.status() != 200) {
                log.warn("fleet: {} of {} {} refused by replica {}: HTTP {}", tool, kind, id, o.replica(), r.status());
                return gone(tool, kind, id, o, "refused the forwarded call (HTTP " + r.status() + ")");
            }
            return mapper.readValue(r.body(), McpSchema.CallToolResult.class);
        }
        catch (FleetProxy.Unreachable e) {
            log.warn("fleet: {} of {} {} could not reach replica {}: {}", tool, kind, id, o.replica(), e.getMessage());
            return gone(tool, kind, id, o, "could not be reached (" + e.getMessage() + ")");
        }
        catch (IOException | RuntimeException e) {
            log.warn("fleet: {} of {} {} on replica {} failed: {}", tool, kind, id, o.replica(), e.toString());
            return gone(tool, kind, id, o, "answered with something that could not be read");
        }
    }

    /** The statuses of a call's result that an execution's index row may carry once it ended. */
    private static final Set<String> FINAL = Set.of("ok", "failed", "timeout", "killed", "blocked", "denied", "lost");

    /**
     * The answer when the owner cannot do the work, at once and isError, in the shape of the tool's own
     * result (its outputSchema): an execution's run is {@code lost} (or the index's final status), a held
     * call expired as a denial, a call in a workspace failed; the message names the replica.
     */
    private McpSchema.CallToolResult gone(String tool, FleetLink.Kind kind, String id, FleetLink.Owner o, String why) {
        String where = "replica " + o.replica() + ", which " + why;
        Map<String, Object> r = new LinkedHashMap<>();
        String message;
        String status;
        if (kind == FleetLink.Kind.EXECUTION || kind == FleetLink.Kind.APPROVAL) {
            // a run whose replica is gone is lost, whatever the index still says
            status = o.status() != null && FINAL.contains(o.status()) ? o.status() : "lost";
            message = (kind == FleetLink.Kind.APPROVAL ? "The held call " : "Execution ") + id + " ran on " + where + ": "
                    + ("lost".equals(status) ? "its outcome is unknown (the run is lost)" : "its last known status is " + status)
                    + (o.message() == null || o.message().isBlank() ? "." : " (" + o.message() + ").");
        }
        else {
            status = "failed";
            message = "Workspace " + id + " lives on " + where + ": it cannot be used until that replica is back.";
        }
        switch (tool) {
            case "request_approval" -> {
                r.put("decision", "expired");
                r.put("execution_id", id);
                r.put("channel", "policy");
                r.put("message", "The held call " + id + " was held on " + where + ": it expired as a denial; make "
                        + "the call again.");
            }
            case "send_input" -> {
                r.put("status", "invalid");
                r.put("execution_id", id);
                r.put("sent_bytes", 0);
                r.put("stdin_closed", false);
                r.put("message", message);
            }
            case "read_file", "write_file", "list_files" -> {
                r.put("status", "failed");
                r.put("execution_id", newId());
                r.put("message", message);
            }
            case "create_workspace", "delete_workspace" -> {
                r.put("status", "failed");
                r.put("workspace_id", id);
                r.put("message", message);
            }
            default -> { // run_command, execute_code, get_execution, stop_execution: a call's result
                r.put("status", status);
                r.put("exit_code", null);
                r.put("stdout", "");
                r.put("stderr", "");
                r.put("stdout_truncated", false);
                r.put("stderr_truncated", false);
                r.put("duration_ms", 0);
                r.put("tier", "L2");
                r.put("executor", "none");
                r.put("findings", List.of());
                r.put("redactions", 0);
                r.put("execution_id", kind == FleetLink.Kind.EXECUTION ? id : newId());
                r.put("limits", Map.of());
                r.put("usage", Map.of());
                r.put("message", message);
            }
        }
        String text;
        try {
            text = json.writeValueAsString(r);
        }
        catch (IOException e) {
            text = message;
        }
        return McpSchema.CallToolResult.builder().content(List.of(McpSchema.TextContent.builder(text).build()))
            .structuredContent(json.convertValue(r, new TypeReference<Map<String, Object>>() {
            }))
            .isError(true).build();
    }

    private static String newId() {
        byte[] b = new byte[10];
        new java.security.SecureRandom().nextBytes(b);
        return "ex_" + java.util.HexFormat.of().formatHex(b);
    }

    /** The result as the JSON the receiving replica answers with. */
    byte[] write(McpSchema.CallToolResult result) throws IOException {
        return mapper.writeValueAsString(result).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String strip(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
