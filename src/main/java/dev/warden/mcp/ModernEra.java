package dev.warden.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.contract.ToolArguments;
import dev.warden.pipeline.Caller;
import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import io.modelcontextprotocol.modern.McpException;
import io.modelcontextprotocol.modern.McpSchema;
import io.modelcontextprotocol.modern.server.HmacRequestStateCodec;
import io.modelcontextprotocol.modern.server.McpAsyncNotifier;
import io.modelcontextprotocol.modern.server.McpAsyncResponse;
import io.modelcontextprotocol.modern.server.McpRequestContext;
import io.modelcontextprotocol.modern.server.McpServer;
import io.modelcontextprotocol.modern.server.feature.McpAsyncResource;
import io.modelcontextprotocol.modern.server.feature.McpAsyncResourceRepository;
import io.modelcontextprotocol.modern.server.feature.McpAsyncTool;
import io.modelcontextprotocol.modern.server.feature.McpAsyncToolRepository;
import io.modelcontextprotocol.modern.server.feature.ResourceTemplatesPage;
import io.modelcontextprotocol.modern.server.feature.ResourcesFeature;
import io.modelcontextprotocol.modern.server.feature.ResourcesPage;
import io.modelcontextprotocol.modern.server.feature.ToolsFeature;
import io.modelcontextprotocol.modern.server.feature.ToolsPage;
import io.modelcontextprotocol.spec.McpError;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * Warden in MCP revision 2026-07-28 (the SDK's {@code io.modelcontextprotocol.modern} server): the same
 * tools, with the same definitions and the same handler code ({@link WardenTools#entries}), and the same
 * workspace resources, behind that revision's envelope.
 *
 * <p><b>What differs, and why.</b>
 * <ul>
 * <li>No session. Over stdio the connection is still one client, so the whole process is its one
 *     session, as in the 2025-11-25 era. Over HTTP each client identity (its bearer token; without
 *     tokens, the one local client) has one standing session, {@code modern-…}: a call without
 *     {@code workspace} works in that session's workspace, which lives until the identity has been
 *     idle for {@code server.session_idle_timeout_s}, like any HTTP session's. Durable workspaces
 *     ({@code create_workspace}, the {@code workspace} argument) are the handles to use for anything
 *     that must be kept apart or kept longer.</li>
 * <li>A call held for a person asks through {@code input_required} rounds ({@link InputRounds}) when
 *     the request declares form elicitation; otherwise the operator decides, as for a client without
 *     elicitation.</li>
 * <li>Every tools/call answers as a stream (SSE over HTTP): progress notifications travel on it, and
 *     its keep-alive frames show when the client has gone. A request the transport cancels (stdio's
 *     {@code notifications/cancelled}, an HTTP client closing the stream) cancels the call's run, as
 *     {@link ClientCancels} does in the 2025-11-25 era; the call is still audited.</li>
 * </ul>
 * Input is validated by Warden, not by the SDK, so bad arguments get the contract's {@code invalid}
 * result in this era too.
 */
final class ModernEra {

    private static final Logger log = LoggerFactory.getLogger(ModernEra.class);

    /** The revisions this server answers with per-request metadata. */
    static final List<String> VERSIONS = List.of("2026-07-28");

    /** No schema checks by the SDK: Warden answers bad input itself ({@code status: invalid}). */
    private static final JsonSchemaValidator WARDEN_VALIDATES = new JsonSchemaValidator() {
        @Override
        public ValidationResponse validate(Map<String, Object> schema, Object value) {
            return ValidationResponse.asValid(null);
        }
    };

    private final WardenTools tools;
    private final McpJsonMapper mapper;
    private final ObjectMapper json;
    private final String transport;
    /** The one session of a stdio process. */
    private final String stdioSession;
    private final InputRounds rounds;

    private ModernEra(WardenTools tools, McpJsonMapper mapper, ObjectMapper json, String transport) {
        this.tools = tools;
        this.mapper = mapper;
        this.json = json;
        this.transport = transport;
        byte[] id = new byte[8];
        new SecureRandom().nextBytes(id);
        this.stdioSession = "stdio-" + HexFormat.of().formatHex(id);
        this.rounds = new InputRounds(json, System::nanoTime);
    }

    /**
     * The 2026-07-28 server of one transport ({@code stdio} or {@code http}). The request-state key is
     * made here, once per server start, and never leaves the process: a held call lives in this
     * process, so a state could not outlive it anyway.
     */
    static McpServer server(WardenTools tools, McpJsonMapper mapper, ObjectMapper json, String version,
            String transport) {
        return new ModernEra(tools, mapper, json, transport).build(version);
    }

    private McpServer build(String version) {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        HmacRequestStateCodec codec = HmacRequestStateCodec.builder()
            .key(key)
            // a state is good for as long as its call can wait for the answer
            .ttl(tools.requestTimeout())
            .principalExtractor(this::principal)
            .jsonMapper(mapper)
            .build();
        return McpServer.builder()
            .serverInfo(McpSchema.Implementation.builder("warden", version).build())
            .instructions(McpServers.INSTRUCTIONS)
            .supportedVersions(VERSIONS)
            .jsonMapper(mapper)
            .requestStateCodec(codec)
            .feature(ToolsFeature.ofAsync(new Tools(), mapper, WARDEN_VALIDATES, 0, McpSchema.CacheScope.PRIVATE))
            .feature(ResourcesFeature.ofAsync(new Resources(), mapper, 0, McpSchema.CacheScope.PRIVATE))
            .build();
    }

    /** The client identity a request comes from: its token's fingerprint, else the one local client. */
    private String identity(McpTransportContext ctx) {
        Object token = ctx == null ? null : ctx.get(WardenTools.CLIENT_IDENTITY);
        return token instanceof String t ? t : null;
    }

    /** Who a request state is bound to (the SDK's codec refuses it to anyone else). */
    private String principal(McpTransportContext ctx) {
        String identity = identity(ctx);
        return identity == null ? "local" : identity;
    }

    /** The session a call of this identity works in (see the class comment). */
    private String session(McpTransportContext ctx) {
        if (transport.equals("stdio")) {
            return stdioSession;
        }
        String identity = identity(ctx);
        return identity == null ? "modern-local" : "modern-" + identity.replace("token:", "");
    }

    private Caller caller(McpRequestContext ctx, Object workspace, dev.warden.approval.Prompter prompter,
            AtomicReference<McpAsyncNotifier> notifier, dev.warden.exec.Cancel cancel) {
        McpSchema.Implementation client = ctx.clientInfo();
        String name = client == null ? null : client.name() + "/" + client.version();
        String session = session(ctx.transportContext());
        String identity = identity(ctx.transportContext());
        Caller.Progress progress = ctx.progressToken() == null ? Caller.Progress.NONE : (done, message) -> {
            McpAsyncNotifier n = notifier.get();
            if (n != null) {
                n.progress(done, null, message).subscribe(v -> {
                }, e -> log.debug("progress notification failed: {}", e.getMessage()));
            }
        };
        return new Caller(session, name, transport, identity == null ? session : identity, prompter, progress, cancel,
                workspace);
    }

    private static boolean elicits(McpRequestContext ctx) {
        return ctx.clientCapabilities() != null && ctx.clientCapabilities().supportsElicitationForm();
    }

    /** tools/list and tools/call: every entry of {@link WardenTools#entries}, in its modern shape. */
    private final class Tools implements McpAsyncToolRepository {

        @Override
        public Mono<ToolsPage> list(McpRequestContext ctx, String cursor) {
            return Mono.fromCallable(() -> ToolsPage.of(tools.entries().stream().map(e -> modern(e.tool())).toList()));
        }

        @Override
        public Mono<McpAsyncTool> find(McpRequestContext ctx, String name) {
            return Mono.fromCallable(() -> tools.entries().stream().filter(e -> e.name().equals(name)).findFirst()
                .map(e -> McpAsyncTool.of(modern(e.tool()), (c, req) -> call(c, e, req)))
                .orElse(null));
        }
    }

    private McpSchema.Tool modern(io.modelcontextprotocol.spec.McpSchema.Tool legacy) {
        return mapper.convertValue(legacy, McpSchema.Tool.class);
    }

    /** One round of a tools/call: a new call, or the answer to the question a held one asked. */
    private Mono<McpAsyncResponse<McpSchema.CallToolOutcome>> call(McpRequestContext ctx, WardenTools.Entry entry,
            McpSchema.CallToolRequest req) {
        String owner = principal(ctx.transportContext());
        if (req.requestState() != null) {
            String[] state = InputRounds.parse(json, req.requestState());
            InputRounds.Conversation c = state == null ? null : rounds.find(state[0], owner).orElse(null);
            if (c == null || !c.tool.equals(entry.name())) {
                return Mono.error(McpException.invalidParams("This call is no longer waiting for an answer: it was "
                        + "decided, timed out or the server restarted. Call " + entry.name() + " again without "
                        + "requestState."));
            }
            if (!state[1].equals(c.digest) || !rounds.digest(req.arguments()).equals(c.digest)) {
                return Mono.error(McpException.invalidParams("The retry's arguments differ from those of the call "
                        + "that asked for approval; an approval covers only the call it was asked for."));
            }
            if (!c.result().isDone() && (req.inputResponses() == null
                    || !req.inputResponses().containsKey(InputRounds.APPROVAL))) {
                // the answer is missing: the same question again, as SEP-2322 has a server re-request it
                return Mono.just(McpAsyncResponse.result(inputRequired(c)));
            }
            return Mono.just(McpAsyncResponse.streaming(notifier -> {
                c.notifier.set(notifier);
                c.answered(decision(req.inputResponses()));
                return next(c, c.cancel);
            }));
        }
        return Mono.just(McpAsyncResponse.streaming(notifier -> {
            InputRounds.Conversation c = rounds.open(owner, entry.name(), req.arguments(), approver(ctx));
            c.notifier.set(notifier);
            Object workspace = req.arguments() == null ? null : req.arguments().get(ToolArguments.WORKSPACE);
            Caller caller = caller(ctx, workspace, elicits(ctx) ? c : null, c.notifier, c.cancel);
            io.modelcontextprotocol.spec.McpSchema.CallToolRequest legacy =
                    new io.modelcontextprotocol.spec.McpSchema.CallToolRequest(entry.name(), req.arguments(), req.meta());
            c.running(tools.call(caller, entry, legacy));
            return next(c, c.cancel);
        }));
    }

    private static String approver(McpRequestContext ctx) {
        McpSchema.Implementation client = ctx.clientInfo();
        return "user of " + (client == null ? "the MCP client" : client.name() + "/" + client.version());
    }

    /**
     * The end of this round: the call's result if it comes first, else the question it asks. A round
     * the client abandons (stdio's notifications/cancelled, a closed HTTP stream) cancels the run.
     */
    private Mono<McpSchema.CallToolOutcome> next(InputRounds.Conversation c, dev.warden.exec.Cancel cancel) {
        // suppressCancel: the call itself is never dropped half way; the Cancel stops its run and it
        // still answers (to nobody) and is audited
        return Mono.fromFuture(c.round(), true)
            .<McpSchema.CallToolOutcome>map(first -> {
                if (c.result().isDone()) {
                    return modern(c.result().join());
                }
                return inputRequired(c);
            })
            .doOnCancel(() -> cancel.cancel("the client cancelled the request"));
    }

    /** The round's end when the held call asks: its question as the approval form, and its sealed state. */
    private McpSchema.CallToolOutcome inputRequired(InputRounds.Conversation c) {
        return McpSchema.InputRequiredResult.builder()
            .elicit(InputRounds.APPROVAL,
                    McpSchema.ElicitFormRequest.builder(c.question(), ElicitationPrompter.SCHEMA).build())
            .requestState(InputRounds.state(json, c))
            .build();
    }

    /** The approval form's answer: a decision, or what stands for a refusal (decline, cancel, nothing). */
    private String decision(Map<String, Object> responses) {
        Object r = responses == null ? null : responses.get(InputRounds.APPROVAL);
        if (!(r instanceof Map<?, ?> m)) {
            return "error";
        }
        McpSchema.ElicitResult result;
        try {
            result = mapper.convertValue(m, McpSchema.ElicitResult.class);
        }
        catch (RuntimeException e) {
            return "invalid";
        }
        if (result.action() != McpSchema.ElicitResult.Action.ACCEPT || result.content() == null) {
            return result.action() == null ? "error" : result.action().name().toLowerCase();
        }
        Object d = result.content().get("decision");
        return d instanceof String s ? s : "invalid";
    }

    /** A result of the shared handler code in this revision's shape (the same content, structure and isError). */
    private McpSchema.CallToolResult modern(io.modelcontextprotocol.spec.McpSchema.CallToolResult legacy) {
        // through the whole result's JSON: a bare List<Content> would lose each item's "type"
        Map<String, Object> whole = mapper.convertValue(legacy, new TypeRef<Map<String, Object>>() {
        });
        McpSchema.CallToolResult.Builder b = McpSchema.CallToolResult.builder()
            .content(mapper.convertValue(whole.get("content"), new TypeRef<List<McpSchema.Content>>() {
            }))
            .isError(Boolean.TRUE.equals(legacy.isError()));
        if (legacy.structuredContent() != null) {
            b.structuredContent(legacy.structuredContent());
        }
        return b.build();
    }

    /** The workspace files: the one template, read through the same door and code as in the 2025-11-25 era. */
    private final class Resources implements McpAsyncResourceRepository {

        @Override
        public Mono<ResourcesPage> list(McpRequestContext ctx, String cursor) {
            return Mono.just(ResourcesPage.of(List.of()));
        }

        @Override
        public Mono<ResourceTemplatesPage> listTemplates(McpRequestContext ctx, String cursor) {
            return Mono.fromCallable(() -> ResourceTemplatesPage.of(List.of(mapper.convertValue(
                    WorkspaceResources.template(), McpSchema.ResourceTemplate.class))));
        }

        @Override
        public Mono<McpAsyncResource> find(McpRequestContext ctx, String uri) {
            if (uri == null || !uri.startsWith("warden://workspace/")) {
                return Mono.empty();
            }
            return Mono.just(McpAsyncResource.of((c, req) -> {
                Caller caller = caller(c, null, null, new AtomicReference<>(), new dev.warden.exec.Cancel());
                return Mono.fromFuture(tools.submit(caller, who -> read(who, req.uri()), (retryAfterMs, why) -> {
                    throw new McpException(McpSchema.ErrorCodes.INTERNAL_ERROR,
                            "Rate limited: " + why + "; retry after " + retryAfterMs + " ms.",
                            Map.of("retry_after_ms", retryAfterMs));
                }), true).map(McpAsyncResponse::result);
            }));
        }

        private McpSchema.ReadResourceOutcome read(Caller caller, String uri) {
            io.modelcontextprotocol.spec.McpSchema.ReadResourceResult r;
            try {
                r = WorkspaceResources.read(tools, caller, uri);
            }
            catch (McpError e) {
                var err = e.getJsonRpcError();
                throw new McpException(err.code(), err.message(), err.data());
            }
            Map<String, Object> body = new LinkedHashMap<>(mapper.convertValue(r, new TypeRef<Map<String, Object>>() {
            }));
            return McpSchema.ReadResourceResult.builder(mapper.convertValue(body.get("contents"),
                    new TypeRef<List<McpSchema.ResourceContents>>() {
                    })).build();
        }
    }
}
