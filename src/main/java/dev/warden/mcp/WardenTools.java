package dev.warden.mcp;

import dev.warden.contract.InvalidArguments;
import dev.warden.contract.ToolArguments;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.contract.ApprovalResult;
import dev.warden.contract.Artifact;
import dev.warden.contract.Image;
import dev.warden.pipeline.CallPipeline;
import dev.warden.contract.CallResult;
import dev.warden.contract.ExecutionList;
import dev.warden.contract.FileResult;
import dev.warden.contract.WorkspaceResult;
import dev.warden.contract.InputResult;
import dev.warden.pipeline.Caller;
import dev.warden.exec.Cancel;
import dev.warden.limit.CallAdmission;
import io.modelcontextprotocol.server.McpAsyncServerExchange;
import io.modelcontextprotocol.server.McpServerFeatures.AsyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import reactor.core.publisher.Mono;
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
    private final CallAdmission admission;
    /**
     * Carries every admitted call from the door to its answer: queue waits, approvals and runs block
     * these threads, never the MCP SDK's (its bounded pool of 10 per core would let about twenty
     * long calls stall every other client's). Their number is bounded by the admission's total.
     */
    private final ThreadPoolExecutor callThreads;
    /** How held calls ask by elicitation; set once at start-up ({@link #elicitation(ElicitationMode)}). */
    private volatile ElicitationMode elicitation = ElicitationMode.FORM;
    /** On a replica of a fleet: calls that belong to another replica go there ({@link FleetCalls}); null alone. */
    private volatile FleetCalls fleet;

    /** @param languages the language enum, read when a server's tool list is built (after the container probe) */
    public WardenTools(CallPipeline pipeline, LimitsConfig limits, Supplier<List<String>> languages,
            Duration approvalTimeout, ObjectMapper json) {
        this(pipeline, limits, languages, approvalTimeout, json, new CallAdmission(64, 256));
    }

    public WardenTools(CallPipeline pipeline, LimitsConfig limits, Supplier<List<String>> languages,
            Duration approvalTimeout, ObjectMapper json, CallAdmission admission) {
        this.admission = admission;
        AtomicInteger n = new AtomicInteger();
        // A thread is made only when no idle one is waiting (a hand-off queue), so their number follows
        // the calls in flight, which the admission bounds: a pool with as many core threads as the
        // admission's total would make a new thread for each of the first 256 calls, even one at a
        // time, and keep them all (each stack a few hundred KB of memory that never comes back).
        this.callThreads = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                r -> {
                    Thread t = new Thread(r, "warden-call-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.pipeline = pipeline;
        this.arguments = new ToolArguments(limits);
        this.catalog = new ToolCatalog(json);
        this.json = json;
        this.languages = languages;
        this.maxTimeoutMs = limits.maxTimeoutMs();
        this.approvalTimeout = approvalTimeout;
    }

    /** How held calls ask a client that declared elicitation (approvals.elicitation): form, or URL mode. */
    public WardenTools elicitation(ElicitationMode mode) {
        this.elicitation = mode;
        return this;
    }

    /**
     * Makes this server a replica of a fleet: a call whose execution, held call or durable workspace
     * another replica owns is answered by that replica (set once at start-up, before any transport).
     */
    public WardenTools fleet(FleetLink link) {
        this.fleet = new FleetCalls(link, json);
        return this;
    }

    /** The fleet's routing of calls, or null on a single server. */
    FleetCalls fleetCalls() {
        return fleet;
    }

    /** The pipeline every tool call and resource read of both eras goes through. */
    CallPipeline pipeline() {
        return pipeline;
    }

    /** How long a server-to-client request (an elicitation) may wait: a little past the approval timeout. */
    Duration requestTimeout() {
        return approvalTimeout.plusSeconds(15);
    }

    /** The workspaces as resources (their one template), read through the same door as the tools. */
    List<io.modelcontextprotocol.server.McpServerFeatures.AsyncResourceTemplateSpecification> resourceTemplates(
            String transport) {
        return new WorkspaceResources(this).templates(transport);
    }

    /**
     * One tool: its definition and the code that answers it, shared by both protocol eras (the
     * 2025-11-25 server through {@link #specifications}, the 2026-07-28 one through {@link ModernEra}).
     */
    record Entry(McpSchema.Tool tool, Body body) {

        String name() {
            return tool.name();
        }
    }

    /** What a tool does with a call once it is admitted, on Warden's own thread. */
    interface Body {

        McpSchema.CallToolResult call(Caller caller, McpSchema.CallToolRequest req);
    }

    /** Every tool, in the order tools/list shows them (on a fleet's replica, each routed to its owner). */
    List<Entry> entries() {
        FleetCalls f = fleet;
        List<Entry> local = localEntries();
        return f == null ? local : local.stream().map(e -> new Entry(e.tool(), f.routed(e.name(), e.body()))).toList();
    }

    /** Every tool, answered here. */
    List<Entry> localEntries() {
        return List.of(
                new Entry(catalog.runCommand(maxTimeoutMs), (caller, req) -> handle(caller, "run_command", req)),
                new Entry(catalog.executeCode(languages.get(), maxTimeoutMs),
                        (caller, req) -> handle(caller, "execute_code", req)),
                new Entry(catalog.requestApproval(approvalTimeout.toSeconds()), this::approval),
                new Entry(catalog.getExecution(), (caller, req) -> execution(caller, "get_execution", req)),
                new Entry(catalog.sendInput(), (caller, req) -> execution(caller, "send_input", req)),
                new Entry(catalog.stopExecution(), (caller, req) -> execution(caller, "stop_execution", req)),
                new Entry(catalog.listExecutions(), (caller, req) -> execution(caller, "list_executions", req)),
                new Entry(catalog.readFile(), (caller, req) -> file(caller, "read_file", req)),
                new Entry(catalog.writeFile(), (caller, req) -> file(caller, "write_file", req)),
                new Entry(catalog.listFiles(), (caller, req) -> file(caller, "list_files", req)),
                new Entry(catalog.createWorkspace(), (caller, req) -> workspace(caller, "create_workspace", req)),
                new Entry(catalog.deleteWorkspace(), (caller, req) -> workspace(caller, "delete_workspace", req)));
    }

    /** The tools for the 2025-11-25 server: each entry behind the same door. */
    List<AsyncToolSpecification> specifications(String transport) {
        return entries().stream()
            .map(e -> AsyncToolSpecification.builder().tool(e.tool())
                .callHandler((ex, req) -> admitted(ex, transport, e.name(), req, caller -> e.body().call(caller, req)))
                .build())
            .toList();
    }

    /**
     * A call of either era through the door (see {@link #admitted(Caller, Function, java.util.function.BiFunction)}),
     * its answer as a future: over the caller's share it is rate_limited at once.
     */
    CompletableFuture<McpSchema.CallToolResult> call(Caller caller, Entry entry, McpSchema.CallToolRequest req) {
        return submit(caller, c -> entry.body().call(c, req),
                (retryAfterMs, why) -> refused(caller, entry.name(), req, retryAfterMs, why));
    }

    /** create_workspace, delete_workspace. */
    private McpSchema.CallToolResult workspace(Caller caller, String tool, McpSchema.CallToolRequest req) {
        Map<String, Object> args = req.arguments();
        WorkspaceResult r;
        try {
            r = tool.equals("create_workspace") ? pipeline.createWorkspace(caller, arguments.createWorkspace(args))
                    : pipeline.deleteWorkspace(caller, arguments.deleteWorkspace(args));
        }
        catch (InvalidArguments e) {
            r = pipeline.invalidWorkspaceCall(caller, tool, args, e.getMessage());
        }
        FleetCalls f = fleet;
        if (f != null && !r.isError() && r.workspaceId() != null) { // the fleet's index of durable workspaces
            if (tool.equals("create_workspace")) {
                f.link().workspaceCreated(r.workspaceId(), caller.owner());
            }
            else {
                f.link().workspaceDeleted(r.workspaceId());
            }
        }
        return structured(r, r.isError(), null);
    }

    /** read_file, write_file, list_files; a whole image read also comes back as MCP image content. */
    private McpSchema.CallToolResult file(Caller caller, String tool, McpSchema.CallToolRequest req) {
        Map<String, Object> args = req.arguments();
        FileResult r;
        try {
            r = switch (tool) {
                case "read_file" -> pipeline.readFile(caller, arguments.readFile(args));
                case "write_file" -> pipeline.writeFile(caller, arguments.writeFile(args));
                case "list_files" -> pipeline.listFiles(caller, arguments.listFiles(args));
                default -> throw new IllegalStateException("no such tool " + tool);
            };
        }
        catch (InvalidArguments e) {
            r = pipeline.invalidFileCall(caller, tool, args, e.getMessage());
        }
        McpSchema.CallToolResult mcp = structured(r, r.isError(), r.executionId());
        if (r.image() == null) {
            return mcp;
        }
        List<McpSchema.Content> content = new java.util.ArrayList<>(mcp.content());
        content.add(McpSchema.ImageContent.builder(r.image(), r.mime()).build());
        return McpSchema.CallToolResult.builder().content(content).structuredContent(mcp.structuredContent())
            .isError(mcp.isError()).build();
    }

    /** get_execution, send_input, stop_execution, list_executions: bad arguments get status invalid, like every tool. */
    private McpSchema.CallToolResult execution(Caller caller, String tool, McpSchema.CallToolRequest req) {
        Map<String, Object> args = req.arguments();
        try {
            return switch (tool) {
                case "get_execution" -> {
                    CallResult r = pipeline.getExecution(caller, arguments.getExecution(args));
                    yield withFiles(structured(r, r.isError(), r.executionId()), r);
                }
                case "stop_execution" -> {
                    CallResult r = pipeline.stopExecution(caller, arguments.stopExecution(args));
                    yield withFiles(structured(r, r.isError(), r.executionId()), r);
                }
                case "send_input" -> {
                    InputResult r = pipeline.sendInput(caller, arguments.sendInput(args));
                    yield structured(r, r.isError(), r.executionId());
                }
                case "list_executions" -> {
                    arguments.listExecutions(args);
                    ExecutionList r = pipeline.listExecutions(caller);
                    yield structured(r, r.isError(), null);
                }
                default -> throw new IllegalStateException("no such tool " + tool);
            };
        }
        catch (InvalidArguments e) {
            return structured(pipeline.invalidExecutionCall(caller, tool, args, e.getMessage()), true, null);
        }
    }

    /**
     * The door: on the SDK's thread only what cannot block (who is calling, a count); over the
     * caller's share the answer is rate_limited at once, else the call continues on Warden's own
     * thread and the SDK's thread is free again.
     */
    private Mono<McpSchema.CallToolResult> admitted(McpAsyncServerExchange async, String transport, String tool,
            McpSchema.CallToolRequest req, Function<Caller, McpSchema.CallToolResult> body) {
        Caller caller = caller(new McpSyncServerExchange(async), transport, req.meta(),
                req.arguments() == null ? null : req.arguments().get(ToolArguments.WORKSPACE), elicitation);
        return admitted(caller, body, (retryAfterMs, why) -> refused(caller, tool, req, retryAfterMs, why));
    }

    /**
     * The door for any request that may block (a tool call, a resources/read): over the caller's
     * share, {@code refusal} answers at once; else {@code body} runs on Warden's own thread.
     */
    <T> Mono<T> admitted(Caller caller, Function<Caller, T> body, java.util.function.BiFunction<Long, String, T> refusal) {
        // suppressCancel: a call is never abandoned half way because the SDK dropped its subscriber;
        // cancellation goes through ClientCancels, which stops the run and still answers and audits
        return Mono.fromFuture(submit(caller, body, refusal), true);
    }

    /** The door itself: the answer as a future, completed on Warden's own thread (or at once when refused). */
    <T> CompletableFuture<T> submit(Caller caller, Function<Caller, T> body,
            java.util.function.BiFunction<Long, String, T> refusal) {
        Optional<CallAdmission.Permit> permit = admission.enter(caller.identity());
        if (permit.isEmpty()) {
            CallAdmission.Refusal r = admission.refusal(caller.identity());
            return CompletableFuture.supplyAsync(() -> refusal.apply(r.retryAfterMs(), r.why()), Runnable::run);
        }
        try {
            return CompletableFuture.supplyAsync(() -> {
                try (CallAdmission.Permit p = permit.get()) {
                    return body.apply(caller);
                }
            }, callThreads);
        }
        catch (RejectedExecutionException shuttingDown) {
            permit.get().close();
            return CompletableFuture.supplyAsync(() -> refusal.apply(1000L, "Warden is shutting down"), Runnable::run);
        }
    }

    private McpSchema.CallToolResult refused(Caller caller, String tool, McpSchema.CallToolRequest req,
            long retryAfterMs, String why) {
        CallResult result = pipeline.busy(caller, tool, req.arguments(), retryAfterMs, why);
        return structured(result, true, result.executionId());
    }

    /** From now on every new call is answered at once: Warden is shutting down. */
    public void stopAccepting() {
        callThreads.shutdown();
    }

    /** Whether new calls are taken: false once Warden is shutting down ({@link #stopAccepting}). */
    public boolean accepting() {
        return !callThreads.isShutdown();
    }

    /** Waits (at most {@code wait}) until every call in flight has been answered. */
    public boolean drain(Duration wait) throws InterruptedException {
        callThreads.shutdown();
        return callThreads.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    int maxCalls() {
        return admission.total();
    }

    public int inFlight() {
        return admission.inFlight();
    }

    /**
     * The caller: its session, its name, the identity rate limits count against, elicitation if declared,
     * and the durable workspace its call names ({@code workspace}, raw; null for none).
     */
    static Caller caller(McpSyncServerExchange exchange, String transport, Map<String, Object> meta, Object workspace) {
        return caller(exchange, transport, meta, workspace, ElicitationMode.FORM);
    }

    /** As above, with how this server asks by elicitation (form or URL mode). */
    static Caller caller(McpSyncServerExchange exchange, String transport, Map<String, Object> meta, Object workspace,
            ElicitationMode elicitation) {
        McpSchema.Implementation client = exchange.getClientInfo();
        var ctx = exchange.transportContext();
        Object sseSession = ctx == null ? null : ctx.get(SSE_SESSION);
        String session = sseSession instanceof String s ? s : exchange.sessionId();
        Object token = ctx == null ? null : ctx.get(CLIENT_IDENTITY);
        String name = client == null ? null : client.name() + "/" + client.version();
        McpSchema.ClientCapabilities caps = exchange.getClientCapabilities();
        ElicitationPrompter prompter = caps != null && caps.elicitation() != null
                ? new ElicitationPrompter(exchange, name, elicitation.urlBase(caps.elicitation())) : null;
        Object progressToken = meta == null ? null : meta.get("progressToken");
        Caller.Progress progress = progressToken == null ? Caller.Progress.NONE : (done, message) -> {
            try {
                exchange.progressNotification(new McpSchema.ProgressNotification(progressToken, done, null, message, null));
            }
            catch (RuntimeException e) {
                log.debug("progress notification failed: {}", e.getMessage());
            }
        };
        return new Caller(session, name, transport, token instanceof String t ? t : session, prompter, progress,
                new Cancel(), workspace);
    }

    /** What the transport guards tell about tools/call and notifications/cancelled messages. */
    ClientCancels cancels() {
        return cancels;
    }

    private McpSchema.CallToolResult approval(Caller caller, McpSchema.CallToolRequest req) {
        ApprovalResult result;
        try {
            result = pipeline.requestApproval(caller, arguments.requestApproval(req.arguments()));
        }
        catch (InvalidArguments e) {
            result = pipeline.invalidApproval(caller, req.arguments(), e.getMessage());
        }
        McpSchema.CallToolResult mcp = structured(result, result.isError(), result.executionId());
        return result.result() == null ? mcp : withFiles(mcp, result.result()); // the approved call's files
    }

    private McpSchema.CallToolResult handle(Caller caller, String tool, McpSchema.CallToolRequest req) {
        long t0 = System.nanoTime();
        Map<String, Object> args = req.arguments();
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
        McpSchema.CallToolResult mcp = withFiles(structured(result, result.isError(), result.executionId()), result);
        if (log.isDebugEnabled()) {
            log.debug("{} {}: pipeline {}us, to MCP {}us", tool, result.executionId(), (t1 - t0) / 1000,
                    (System.nanoTime() - t1) / 1000);
        }
        return mcp;
    }

    /**
     * A run's artifacts as {@code resource_link} items after the JSON text (one per file, in the order
     * of {@code artifacts}), then the images it wrote as {@code image} items.
     */
    static McpSchema.CallToolResult withFiles(McpSchema.CallToolResult mcp, CallResult r) {
        List<Artifact> files = r.artifacts() == null ? List.of() : r.artifacts();
        List<Image> images = r.images() == null ? List.of() : r.images();
        if (files.isEmpty() && images.isEmpty()) {
            return mcp;
        }
        List<McpSchema.Content> content = new java.util.ArrayList<>(mcp.content());
        for (Artifact a : files) {
            content.add(McpSchema.ResourceLink.builder().name(a.path()).uri(a.uri()).mimeType(a.mime()).size(a.size())
                .description("a file this run created or changed; read it with resources/read").build());
        }
        for (Image i : images) {
            content.add(McpSchema.ImageContent.builder(i.data(), i.mime()).build());
        }
        return McpSchema.CallToolResult.builder().content(content).structuredContent(mcp.structuredContent())
            .isError(mcp.isError()).build();
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
