package dev.warden.pipeline;

import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.audit.AuditLog;
import dev.warden.call.Status;
import dev.warden.call.Tier;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.contract.ApprovalCall;
import dev.warden.contract.ApprovalResult;
import dev.warden.contract.CallResult;
import dev.warden.contract.CodeCall;
import dev.warden.contract.CommandCall;
import dev.warden.contract.ExecutionCall;
import dev.warden.contract.ExecutionList;
import dev.warden.contract.FileCall;
import dev.warden.contract.FileResult;
import dev.warden.contract.InputResult;
import dev.warden.egress.Addresses;
import dev.warden.egress.CallNetwork;
import dev.warden.egress.NetworkPolicy;
import dev.warden.exec.ContainerStatus;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.KernelHost;
import dev.warden.exec.Language;
import dev.warden.exec.Languages;
import dev.warden.exec.Limits;
import dev.warden.limit.ExecutionIndex;
import dev.warden.limit.Executions;
import dev.warden.limit.RateLimits;
import dev.warden.policy.Decision;
import dev.warden.policy.Policy;
import dev.warden.sanitize.Sanitizer;
import dev.warden.session.Workspace;
import dev.warden.session.Workspaces;
import dev.warden.session.DurableStore;
import dev.warden.contract.WorkspaceResult;
import dev.warden.contract.WorkspaceCall;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Warden does with a call, top to bottom. Each public method is the list of steps one tool
 * call takes; each step is one line that passes or ends the call with its answer ({@link Stop}):
 *
 * <ol>
 * <li>the client's rate ({@link Gate#client}),
 * <li>the arguments against the session's workspace and the limits,
 * <li>the policy's decision ({@code blocked} ends here),
 * <li>a held call goes to a person ({@link HeldCalls}), with a checkpoint if approved ({@link Checkpoint}),
 * <li>where it runs ({@link Routing}), the tier's rate, the audit still writable, a fair place ({@link Gate}),
 * <li>the executor, and its outcome rendered as the contract's result ({@link Results}),
 * <li>the audit line ({@link CallAudit}), written before the answer leaves, whatever happened before.
 * </ol>
 */
public final class CallPipeline {

    private static final Logger log = LoggerFactory.getLogger(CallPipeline.class);
    private static final SecureRandom random = new SecureRandom();

    private final Policy policy;
    private final Workspaces workspaces;
    private final Languages languages;
    private final Function<Tier, Executor> executors;
    private final Sanitizer sanitizer;
    private final LimitsConfig limits;
    private final Results results;
    private final CallAudit audit;
    private final Gate gate;
    private final Routing routing;
    private final HeldCalls held;
    private final Checkpoint checkpoint;
    private final NetworkGate network;
    private final Heartbeats heartbeats;
    private final BackgroundRuns background;
    private final FileTools files;
    private final Artifacts artifacts;
    private final Kernels kernels;

    /**
     * @param containers whether L3 can run a language now (else a call routed there is refused or falls back)
     */
    public CallPipeline(Policy policy, Workspaces workspaces, Languages languages, Function<Tier, Executor> executors,
            Sanitizer sanitizer, AuditLog audit, LimitsConfig limits, ContainerStatus containers,
            ApprovalService approvals, RateLimits rates, Executions executions) {
        this(policy, workspaces, languages, executors, sanitizer, audit, limits, containers, approvals, rates, executions,
                Clock.systemUTC());
    }

    public CallPipeline(Policy policy, Workspaces workspaces, Languages languages, Function<Tier, Executor> executors,
            Sanitizer sanitizer, AuditLog audit, LimitsConfig limits, ContainerStatus containers,
            ApprovalService approvals, RateLimits rates, Executions executions, Clock clock) {
        this(policy, workspaces, languages, executors, sanitizer, audit, limits, containers, approvals, rates, executions,
                clock, NetworkPolicy.parse(policy.networkSection(), policy.preset()), Addresses.ofThisMachine());
    }

    /**
     * @param network the policy's network section, compiled (the same the egress proxy serves)
     * @param addresses the addresses a run may not reach unless named (this machine's among them)
     */
    public CallPipeline(Policy policy, Workspaces workspaces, Languages languages, Function<Tier, Executor> executors,
            Sanitizer sanitizer, AuditLog audit, LimitsConfig limits, ContainerStatus containers,
            ApprovalService approvals, RateLimits rates, Executions executions, Clock clock, NetworkPolicy network,
            Addresses addresses) {
        this.policy = policy;
        this.workspaces = workspaces;
        this.languages = languages;
        this.executors = executors;
        this.sanitizer = sanitizer;
        this.limits = limits;
        this.results = new Results(sanitizer, limits, workspaces::diskMb);
        this.audit = new CallAudit(audit, sanitizer, clock);
        this.gate = new Gate(rates, executions, results, clock);
        this.routing = new Routing(policy, languages, containers, limits, results);
        this.held = new HeldCalls(approvals, rates, gate, results, workspaces, clock);
        this.checkpoint = new Checkpoint(policy, workspaces);
        this.network = new NetworkGate(network, addresses, workspaces);
        this.heartbeats = new Heartbeats(sanitizer);
        this.background = new BackgroundRuns(limits, workspaces, clock);
        this.files = new FileTools(workspaces, executors, sanitizer, limits, results, gate);
        this.artifacts = new Artifacts(new ChangedFiles(limits.artifactsWalkMs()), executors, results, limits, clock,
                new GitTripwire(workspaces::project, workspaces::guarded));
        this.kernels = new Kernels(limits);
        workspaces.onSessionEnd(kernels::endSession);
    }

    public CallResult runCommand(Caller caller, CommandCall call) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("command", clip(call.command()));
        args.put("cwd", call.cwd());
        args.put("timeout_ms", call.timeoutMs());
        args.put("stdin_bytes", call.stdin() == null ? 0 : call.stdin().length());
        args.put("env_keys", call.env() == null ? List.of() : List.copyOf(call.env().keySet()));
        if (call.network() != null) {
            args.put("network", call.network());
        }
        if (call.background()) {
            args.put("background", true);
        }
        CallContext c = new CallContext(newId(), caller, "run_command", args, results.defaults());
        c.background(call.background());
        return answer(c, () -> {
            gate.client(c);
            Workspace ws = CallWorkspace.of(c, workspaces, results);
            String cwd = directoryInside(c, ws, call.cwd());
            Limits granted = c.limits(limitsFor(c, call.timeoutMs()));
            Policy.EnvFilter env = policy.filterEnv(call.env());
            c.decided(policy.decideCommand(call.command(), ws, cwd, asksTooLong(c, call.timeoutMs()),
                    network.hosts(caller.sessionId())), env.findings());
            notBlocked(c, granted);
            c.asked(network.judge(c, call.network(), results));
            c.subject(new CallContext.Subject("run_command", call.command(), null, cwd, call.timeoutMs()));
            return decided(c, new ExecRequest(c.decision().argv(), ws.root(), cwd, bytes(call.stdin()), env.kept(),
                    Map.of(), caller.cancel()));
        });
    }

    public CallResult executeCode(Caller caller, CodeCall call) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("language", call.language());
        args.put("code", clip(call.code()));
        args.put("timeout_ms", call.timeoutMs());
        args.put("stdin_bytes", call.stdin() == null ? 0 : call.stdin().length());
        args.put("files", call.files() == null ? List.of() : List.copyOf(call.files().keySet()));
        if (call.network() != null) {
            args.put("network", call.network());
        }
        if (call.background()) {
            args.put("background", true);
        }
        if (call.kernel() != null) {
            args.put("kernel", call.kernel());
            if (call.restartKernel()) {
                args.put("restart_kernel", true);
            }
        }
        CallContext c = new CallContext(newId(), caller, "execute_code", args, results.defaults());
        c.background(call.background());
        return answer(c, () -> {
            gate.client(c);
            Language lang = language(c, call.language());
            if (call.kernel() != null) {
                c.kernel(kernelAsk(c, call, lang));
            }
            else if (call.restartKernel()) {
                throw new Stop(results.invalid(c.id, "restart_kernel needs kernel: name the kernel to restart."));
            }
            Limits granted = c.limits(limitsFor(c, call.timeoutMs()));
            Workspace ws = CallWorkspace.of(c, workspaces, results);
            if (c.kernel() != null) {
                kernelRoom(c, ws);
            }
            Map<String, String> files = checkedFiles(c, ws, call.files() == null ? Map.of() : call.files());
            c.decided(policy.decideCode(lang.name(), call.code(), asksTooLong(c, call.timeoutMs()),
                    network.hosts(caller.sessionId())),
                    List.of());
            notBlocked(c, granted);
            c.asked(network.judge(c, call.network(), results));
            c.subject(new CallContext.Subject("execute_code", call.code(), lang.name(), "", call.timeoutMs()));
            return decided(c, ExecRequest.code(lang.onHost() ? lang.argv(call.code()) : List.of(), ws.root(),
                    bytes(call.stdin()), lang.env(), files, lang.name(), call.code(), caller.cancel()));
        });
    }

    /** What a cell of a kernel asks, once it is known to make sense (else the call is invalid). */
    private Kernels.Ask kernelAsk(CallContext c, CodeCall call, Language lang) {
        String why = null;
        if (call.background()) {
            why = "a kernel's cell runs while the call waits: leave out background, or kernel";
        }
        else if (!KernelHost.LANGUAGES.contains(lang.name()) || !lang.onHost()) {
            why = "kernels exist for " + String.join(", ", KernelHost.LANGUAGES) + ", not " + lang.name();
        }
        else if (call.files() != null && !call.files().isEmpty()) {
            why = "files cannot be given with kernel: write them with write_file first, or from the cell itself";
        }
        else if (call.stdin() != null && !call.stdin().isEmpty() && lang.name().equals("javascript")) {
            why = "a javascript kernel's cells take no stdin: pass the data in the code, or in a file";
        }
        if (why != null) {
            throw new Stop(results.invalid(c.id, why + "."));
        }
        return new Kernels.Ask(call.kernel(), lang.name(), call.restartKernel());
    }

    /** After the policy: a held call waits for a person, anything else runs in its tier. */
    private CallResult decided(CallContext c, ExecRequest req) {
        return c.decision().held() ? held.hold(c, req, this::approvedRun) : run(c, req);
    }

    /** An approved call: checkpointed, run in the tier it was approved for, and the approval shown. */
    private CallResult approvedRun(CallContext c, ExecRequest req, Ruling ruling) {
        c.ruling(ruling);
        if (c.background()) { // no checkpoint: the run goes on after the answer, nothing to roll back to then
            CallResult r;
            try {
                r = run(c, req);
            }
            catch (Stop refused) {
                r = refused.result();
            }
            return r.withApproval(HeldCalls.approvalInfo(ruling), null, r.message());
        }
        Checkpoint.Outcome o = checkpoint.around(c, () -> {
            try {
                return run(c, req);
            }
            catch (Stop refused) {
                return refused.result();
            }
        });
        CallResult r = o.result();
        if (Boolean.TRUE.equals(o.restored()) && r.artifacts() != null) { // put back as it was: nothing changed
            r = r.withArtifacts(List.of(), false, List.of());
        }
        return r.withApproval(HeldCalls.approvalInfo(ruling), o.restored(), o.message());
    }

    /** Where it runs, the tier's rate, the audit still writable, a fair place; then the executor. */
    private CallResult run(CallContext c, ExecRequest req) {
        routing.route(c, req);
        if (c.kernel() != null) {
            kernelTier(c);
        }
        gate.tier(c, c.tier(), "this client is over its " + c.tier() + " rate");
        auditWritable(c, c.tier()); // a held call approved while the audit went down does not run either
        if (c.background()) {
            return inBackground(c, req);
        }
        try (Executions.Ticket place = gate.place(c); Heartbeats.Beat beat = heartbeats.start(c, req.live())) {
            return execute(c, req);
        }
    }

    /**
     * The executor of the call's tier runs it, with the call's network where there is one; then the
     * files it created or changed are listed ({@link Artifacts}), while the call still holds its place.
     */
    private CallResult execute(CallContext c, ExecRequest req) {
        Executor executor = executors.apply(c.tier());
        java.time.Instant since = artifacts.mark();
        if (!network.enabled() || c.tier() == Tier.L1) {
            Kernels.Ran ran = runIn(executor, c, req, since);
            c.ran(ran.outcome());
            return asCell(ran, artifacts.attach(c, results.outcome(c, executor.name(), ran.outcome()), since,
                    ran.outcome(), ran.changed()));
        }
        CallNetwork net = network.forCall(c, c.asked(), c.ruling());
        Kernels.Ran ran;
        CallResult result;
        try {
            ran = runIn(executor, c, req.withEgress(net), since);
            c.ran(ran.outcome());
            result = results.outcome(c, executor.name(), ran.outcome());
        }
        finally {
            c.networkReport(net.report()); // once the run is over: for the result and the audit line alike
        }
        return asCell(ran, artifacts.attach(c, network.withReport(result, c.networkReport()), since, ran.outcome(),
                ran.changed()));
    }

    /** The executor runs it, or, for a cell, the session's kernel of that name in the executor's sandbox. */
    private Kernels.Ran runIn(Executor executor, CallContext c, ExecRequest req, java.time.Instant since) {
        Kernels.Ask ask = c.kernel();
        if (ask == null) {
            return new Kernels.Ran(executor.run(req, c.limits()), null, List.of(), null);
        }
        if (!(executor instanceof KernelHost host)) {
            return new Kernels.Ran(new ExecOutcome.Refused("the L2 sandbox, where kernels live, is not available",
                    false), null, List.of(), null);
        }
        // An approved cell runs inside the workspace's checkpoint, which a kernel started before it does not
        // see (its sandbox binds the workspace as it was): it gets a new kernel, and its result says so.
        boolean approved = c.ruling() != null && !ask.restart();
        Kernels.Ran ran = kernels.run(c.caller.sessionId(), c.caller.client(), req,
                approved ? new Kernels.Ask(ask.name(), ask.language(), true) : ask, c.limits(), host,
                limits.maxImages(), limits.maxImageBytes(), artifacts.walkMs(), since);
        if (!approved || ran.note() != null && ran.note().startsWith(Kernels.ENDED)) {
            return ran;
        }
        return new Kernels.Ran(ran.outcome(), ran.info(), ran.figures(), "An approved call runs in a new kernel, "
                + "inside the workspace's checkpoint: the variables and imports of earlier cells are gone.",
                ran.changed());
    }

    /** A kernel's cell's result: its kernel, its figures, and a word when the kernel ended. */
    private static CallResult asCell(Kernels.Ran ran, CallResult r) {
        return ran.info() == null ? r : r.withKernel(ran.info(), ran.figures(), ran.note());
    }

    /**
     * Kernels live in L2 sandboxes: a cell the policy sends to L1 runs there all the same (more
     * isolation, never less), one it sends to a container does not run as a cell at all.
     */
    private void kernelTier(CallContext c) {
        if (c.tier() == Tier.L1) {
            c.tier(Tier.L2);
        }
        else if (c.tier() == Tier.L3) {
            throw new Stop(results.notRun(c.id, Status.FAILED, Tier.L3, c.findings(), "It did not run: the policy "
                    + "routes this code to a container (L3), and kernels live in L2 sandboxes. Run it without kernel "
                    + "(a one-off run in a container).", c.limits()));
        }
    }

    /** Refuses a new kernel over a cap (rate_limited, with the reason) before anything is held or run. */
    private void kernelRoom(CallContext c, Workspace ws) {
        kernels.refusal(c.caller.sessionId(), ws.root(), c.kernel()).ifPresent(why -> {
            throw new Stop(why.startsWith("kernel \"") ? results.invalid(c.id, why + ".")
                    : results.rateLimited(c.id, Tier.L2, c.findings(), 5000, why));
        });
    }

    /**
     * A background run: under the caps, with a fair place like any run (held until it ends), started
     * on a thread of its own; the call answers at once with status running. The end of the run is
     * audited (its own line) before any client can read its final result.
     */
    private CallResult inBackground(CallContext c, ExecRequest req) {
        background.admit(c).ifPresent(why -> {
            throw new Stop(results.rateLimited(c.id, c.tier(), c.findings(), 5000, why));
        });
        Executions.Ticket place;
        try {
            place = gate.place(c);
        }
        catch (Stop refused) {
            background.abandon(c.id);
            throw refused;
        }
        BackgroundRuns.Run r = background.get(c.id);
        CallResult started = results.running(c, executors.apply(c.tier()).name());
        ExecRequest streamed = req.inBackground(r.live, r.input);
        try {
            background.start(r, started, () -> {
                try (place) {
                    return execute(c, streamed);
                }
            }, result -> audit.ended(c, result));
        }
        catch (RuntimeException | OutOfMemoryError couldNotStart) { // no thread for it: nothing ran
            place.close();
            background.abandon(c.id);
            log.error("background run {} could not start: {}", c.id, couldNotStart.toString());
            throw new Stop(results.notRun(c.id, Status.FAILED, c.tier(), c.findings(),
                    "It did not run: Warden could not start a thread for it; retry later.", c.limits()));
        }
        return started;
    }

    /**
     * The live kernels, for the operator: {id, session, client, name, language, execution_count, running,
     * busy, created_at, idle_s, memory_kb}.
     */
    public List<Map<String, Object>> kernels() {
        return kernels.list();
    }

    /** An operator ends a kernel by its id (from {@link #kernels}); false: no such kernel. */
    public boolean endKernel(String id) {
        return kernels.endById(id);
    }

    /** At shutdown, once every run was stopped: waits (at most {@code wait}) for the background runs to end; how many did not. */
    public int awaitBackground(java.time.Duration wait) {
        return background.awaitAll(wait.toMillis());
    }

    /** get_execution: the output after the offsets, waiting up to wait_ms for news; the final result once ended. */
    public CallResult getExecution(Caller caller, ExecutionCall call) {
        return executionCall(caller, "get_execution", call, r -> {
            try {
                r.await(call.stdoutOffset(), call.stderrOffset(), call.waitMs());
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return read(r, call.stdoutOffset(), call.stderrOffset());
        });
    }

    /** stop_execution: ends the run (status killed) and returns its final result, all its output kept. */
    public CallResult stopExecution(Caller caller, ExecutionCall call) {
        return executionCall(caller, "stop_execution", call, r -> {
            try {
                background.stop(r, "its client stopped it (stop_execution)");
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return read(r, 0, 0);
        });
    }

    private CallResult read(BackgroundRuns.Run r, long outOffset, long errOffset) {
        CallResult end = r.ended();
        if (end != null) {
            return results.read(end, end.status(), end.message(), end.durationMs(), r.out, r.err, outOffset, errOffset,
                    false, r.c.workspace().root());
        }
        long ms = r.durationMs();
        return results.read(background.started(r), Status.RUNNING, "It is still running (" + ms / 1000 + " s so far): "
                + "call get_execution again with the offsets given here for what comes next.", ms, r.out, r.err,
                outOffset, errOffset, true, r.c.workspace().root());
    }

    private CallResult executionCall(Caller caller, String tool, ExecutionCall call,
            Function<BackgroundRuns.Run, CallResult> body) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("execution_id", clip(call.executionId()));
        if (call.waitMs() > 0) {
            args.put("wait_ms", call.waitMs());
        }
        CallResult r;
        Optional<RateLimits.Refusal> over = gate.rate(caller);
        if (over.isPresent()) {
            r = results.rateLimited(call.executionId(), Tier.L2, List.of(), over.get().retryAfterMs(),
                    over.get().reasonOr(Results.OVER_RATE));
        }
        else {
            Optional<BackgroundRuns.Run> run = background.of(caller, call);
            r = run.isEmpty() ? results.invalid(newId(), unknown(call.executionId())) : body.apply(run.get());
        }
        audit.execution(caller, tool, args, call.executionId(), r.status(), r.message());
        return r;
    }

    private static String unknown(String id) {
        return "No background execution \"" + clip(id) + "\" of this client: execution ids come from run_command or "
                + "execute_code called with background: true (list_executions lists this session's).";
    }

    /** send_input: the data waits for the program's stdin (bounded), and close ends its input. */
    public InputResult sendInput(Caller caller, ExecutionCall call) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("execution_id", clip(call.executionId()));
        args.put("data_bytes", bytes(call.data()).length);
        args.put("close", call.close());
        InputResult r;
        Optional<RateLimits.Refusal> over = gate.rate(caller);
        Optional<BackgroundRuns.Run> run = background.of(caller, call);
        if (over.isPresent()) {
            r = new InputResult(Status.RATE_LIMITED, call.executionId(), 0, false, over.get().retryAfterMs(),
                    Results.overRate(over.get()));
        }
        else if (run.isEmpty()) {
            r = new InputResult(Status.INVALID, call.executionId(), 0, false, null, unknown(call.executionId()));
        }
        else if (run.get().ended() != null) {
            r = new InputResult(Status.INVALID, call.executionId(), 0, true, null, "Execution " + call.executionId()
                    + " has ended (status " + run.get().ended().status().wire() + "): nothing was sent.");
        }
        else {
            byte[] data = bytes(call.data());
            r = switch (run.get().input.write(data)) {
                case FULL -> new InputResult(Status.RATE_LIMITED, call.executionId(), 0, false, 500L, "The program has not "
                        + "read the " + run.get().input.pending() + " bytes sent before; nothing was sent, retry after 500 ms.");
                case CLOSED -> new InputResult(Status.INVALID, call.executionId(), 0, true, null,
                        "Its stdin was closed by an earlier send_input with close: true; nothing was sent.");
                case SENT -> {
                    if (call.close()) {
                        run.get().input.close();
                    }
                    yield new InputResult(Status.OK, call.executionId(), data.length, call.close(), null, null);
                }
            };
        }
        audit.execution(caller, "send_input", args, call.executionId(), r.status(), r.message());
        return r;
    }

    /** read_file: part or all of a workspace file, as sanitized text or unaltered base64. */
    public FileResult readFile(Caller caller, FileCall call) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("path", clip(call.path()));
        args.put("offset", call.offset());
        args.put("length", call.length());
        args.put("encoding", call.encoding());
        return fileCall(caller, "read_file", args, c -> files.read(c, call));
    }

    /** write_file: creates, overwrites or appends to a workspace file (its directories made as needed). */
    public FileResult writeFile(Caller caller, FileCall call) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("path", clip(call.path()));
        args.put("mode", call.mode());
        args.put("encoding", call.encoding());
        args.put("content_chars", call.content().length());
        return fileCall(caller, "write_file", args, c -> files.write(c, call));
    }

    /** list_files: a workspace directory's entries, or its whole tree. */
    public FileResult listFiles(Caller caller, FileCall call) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("path", clip(call.path()));
        args.put("recursive", call.recursive());
        args.put("max_entries", call.maxEntries());
        return fileCall(caller, "list_files", args, c -> files.list(c, call));
    }

    /**
     * resources/read of a workspace file ({@code warden://workspace/<id>/<path>}): read_file's answer for
     * the whole file (up to the output limit), of this session's workspace only; audited as tool
     * {@code resources/read}.
     */
    public FileResult readResource(Caller caller, String uri) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("uri", clip(uri));
        return fileCall(caller, "resources/read", args, c -> files.readResource(c, uri));
    }

    /** A file tool call that failed validation: answered and audited. */
    public FileResult invalidFileCall(Caller caller, String tool, Map<String, Object> rawArgs, String message) {
        return fileCall(caller, tool, keys(rawArgs), c -> FileResult.refused(Status.INVALID, c.id, null,
                "Invalid " + tool + " arguments: " + message));
    }

    /** Every file tool call ends here: whatever happened becomes its answer, and the audit line is written first. */
    private FileResult fileCall(Caller caller, String tool, Map<String, Object> args,
            Function<CallContext, FileResult> body) {
        CallContext c = new CallContext(newId(), caller, tool, args, results.defaults());
        FileResult r;
        try {
            auditWritable(c, Tier.L2);
            r = body.apply(c);
        }
        catch (Stop stop) {
            r = FileResult.refused(stop.result().status(), c.id, stop.result().retryAfterMs(), stop.result().message());
        }
        catch (FileTools.Refused refused) {
            r = refused.result;
        }
        catch (RuntimeException e) {
            log.error("{} {} failed inside Warden", tool, c.id, e);
            r = FileResult.refused(Status.FAILED, c.id, null, "Warden could not complete this call because of an "
                    + "internal error (execution id " + c.id + ").");
        }
        audit.file(c, r);
        return r;
    }

    /** create_workspace: a durable workspace of this client, which outlives its session. */
    public WorkspaceResult createWorkspace(Caller caller, WorkspaceCall call) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("name", call.name() == null ? null : clip(call.name()));
        args.put("ttl_s", call.ttlS());
        return workspaceCall(caller, "create_workspace", args, () -> {
            DurableStore.Meta m = workspaces.createDurable(caller.owner(), call.name(), call.ttlS());
            return new WorkspaceResult(Status.OK, m.id(), m.name(), java.time.Instant.ofEpochMilli(m.expiresMs())
                .truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString(), null, null);
        });
    }

    /** delete_workspace: stops what runs in it, removes it. */
    public WorkspaceResult deleteWorkspace(Caller caller, WorkspaceCall call) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("workspace_id", clip(call.workspaceId()));
        return workspaceCall(caller, "delete_workspace", args, () -> {
            workspaces.deleteDurable(call.workspaceId(), caller.owner());
            return new WorkspaceResult(Status.OK, call.workspaceId(), null, null, null, null);
        });
    }

    /** A workspace tool call that failed validation: answered and audited. */
    public WorkspaceResult invalidWorkspaceCall(Caller caller, String tool, Map<String, Object> rawArgs, String message) {
        return workspaceCall(caller, tool, keys(rawArgs), () -> WorkspaceResult.refused(Status.INVALID, null,
                "Invalid " + tool + " arguments: " + message));
    }

    private interface WorkspaceStep {
        WorkspaceResult run() throws Workspaces.Refused, java.io.IOException;
    }

    /** Every workspace tool call ends here: rate limited like any call, answered, and audited once. */
    private WorkspaceResult workspaceCall(Caller caller, String tool, Map<String, Object> args, WorkspaceStep step) {
        WorkspaceResult r;
        Optional<RateLimits.Refusal> over = gate.rate(caller);
        if (over.isPresent()) {
            r = WorkspaceResult.refused(Status.RATE_LIMITED, over.get().retryAfterMs(),
                    Results.overRate(over.get()));
        }
        else {
            try {
                r = step.run();
            }
            catch (Workspaces.Refused e) {
                r = WorkspaceResult.refused(Status.INVALID, null, e.getMessage() + ".");
            }
            catch (java.io.IOException | RuntimeException e) {
                log.error("{} failed inside Warden: {}", tool, e.toString());
                // no host path in the answer: the reason is in the server's log
                r = WorkspaceResult.refused(Status.FAILED, null, "Warden could not complete this call (a disk or mount "
                        + "failure on the server; its log says which). Retry later, or work in the session's workspace.");
            }
        }
        audit.execution(caller, tool, args, r.workspaceId(), r.status(), r.message());
        return r;
    }

    /** list_executions: this session's background executions, oldest first. */
    public ExecutionList listExecutions(Caller caller) {
        ExecutionList r;
        Optional<RateLimits.Refusal> over = gate.rate(caller);
        if (over.isPresent()) {
            r = new ExecutionList(Status.RATE_LIMITED, List.of(), over.get().retryAfterMs(),
                    Results.overRate(over.get()));
        }
        else {
            List<Map<String, Object>> all = new java.util.ArrayList<>();
            for (BackgroundRuns.Run run : background.ofSession(caller.sessionId())) {
                Map<String, Object> m = BackgroundRuns.summary(run);
                m.put("summary", sanitizer.message((String) m.get("summary")));
                all.add(m);
            }
            r = new ExecutionList(Status.OK, all, null, null);
        }
        audit.execution(caller, "list_executions", Map.of(), null, r.status(), r.message());
        return r;
    }

    /**
     * A call to one of the execution tools whose arguments failed validation: answered (in the shape of
     * that tool's result) and audited.
     */
    public Object invalidExecutionCall(Caller caller, String tool, Map<String, Object> rawArgs, String message) {
        String why = "Invalid " + tool + " arguments: " + message;
        audit.execution(caller, tool, keys(rawArgs), null, Status.INVALID, why);
        return switch (tool) {
            case "send_input" -> new InputResult(Status.INVALID, null, 0, false, null, why);
            case "list_executions" -> new ExecutionList(Status.INVALID, List.of(), null, why);
            default -> results.invalid(newId(), why);
        };
    }

    /**
     * request_approval: waits for the decision on a held call of this session (then runs it if
     * approved and returns its result), or asks for a free-text action the agent wants to take.
     */
    public ApprovalResult requestApproval(Caller caller, ApprovalCall call) {
        long start = System.nanoTime();
        boolean byId = call.executionId() != null;
        String id = byId ? call.executionId() : newId();
        Map<String, Object> args = new LinkedHashMap<>();
        if (byId) {
            args.put("execution_id", clip(call.executionId()));
        }
        else {
            args.put("action", clip(call.action()));
            args.put("reason", clip(call.reason()));
        }
        ApprovalResult result;
        try {
            Optional<String> unaudited = audit.down();
            result = unaudited.isPresent() ? ApprovalResult.refused(null, unaudited.get(), null)
                    : byId ? held.awaitHeld(caller, id) : held.askAction(caller, id, call);
        }
        catch (RuntimeException e) {
            log.error("request_approval {} failed inside Warden", id, e);
            result = ApprovalResult.refused(id, "Warden could not complete this request because of an internal error.", null);
        }
        audit.approval(caller, args, id, result, (System.nanoTime() - start) / 1_000_000);
        if (result.result() != null && result.result().status() == Status.RUNNING) {
            background.answered(id);
        }
        return result;
    }

    /** The fleet's index of executions: told of each run that starts and of its end (none on a single server). */
    public void index(ExecutionIndex index) {
        gate.index(index);
        audit.index(index);
    }

    /** Where every answered call is counted from now on (the server's metrics); none until set. */
    public void meter(dev.warden.call.CallMeter meter) {
        audit.meter(meter);
    }

    /** The audit line of one decision, from whichever channel (and of every expiry). */
    public static Map<String, Object> decisionRecord(ApprovalRequest req, Ruling r, Sanitizer sanitizer) {
        return CallAudit.decision(req, r, sanitizer, Clock.systemUTC());
    }

    /** request_approval with bad arguments: answered and audited like any other call. */
    public ApprovalResult invalidApproval(Caller caller, Map<String, Object> rawArgs, String message) {
        ApprovalResult r = ApprovalResult.refused(null, "Invalid request_approval arguments: " + message, null);
        audit.approval(caller, keys(rawArgs), newId(), r, 0);
        return r;
    }

    /** A call whose arguments failed validation before they reached the road: still answered and audited. */
    public CallResult invalid(Caller caller, String tool, Map<String, Object> rawArgs, String message) {
        CallContext c = new CallContext(newId(), caller, tool, keys(rawArgs), results.defaults());
        return answer(c, () -> results.invalid(c.id, message));
    }

    /**
     * A call refused at the door because its client (or every client together) already has as many
     * calls in flight as Warden admits: answered at once, without waiting, and audited.
     */
    public CallResult busy(Caller caller, String tool, Map<String, Object> rawArgs, long retryAfterMs, String why) {
        CallContext c = new CallContext(newId(), caller, tool, keys(rawArgs), results.defaults());
        return answer(c, () -> results.rateLimited(c.id, Tier.L2, List.of(), retryAfterMs, why));
    }

    private interface Steps {
        CallResult run() throws IOException;
    }

    /** Every call ends here: whatever happened becomes a result, and the audit line is written first. */
    private CallResult answer(CallContext c, Steps steps) {
        CallResult result;
        try {
            auditWritable(c, Tier.L2);
            result = steps.run();
        }
        catch (Stop stop) {
            result = stop.result();
        }
        catch (Workspaces.Unavailable e) {
            log.error("call {}: {}", c.id, e.getMessage());
            result = results.failed(c.id, "It did not run: " + sanitizer.message(e.getMessage()) + ".");
        }
        catch (IOException | RuntimeException e) {
            log.error("call {} failed inside Warden", c.id, e);
            result = results.failed(c.id, "Warden could not complete this call because of an internal error (execution id "
                    + c.id + ").");
        }
        audit.call(c, result);
        if (result.status() == Status.RUNNING) {
            background.answered(c.id); // its end's line may follow now
        }
        return result;
    }

    // ---- the steps' small checks: each passes, or ends the call with its answer

    /** Fail closed: nothing runs while the audit log cannot be written. */
    private void auditWritable(CallContext c, Tier tier) {
        audit.down().ifPresent(why -> {
            throw new Stop(results.notRun(c.id, Status.FAILED, tier, c.findings(), why, c.limits()));
        });
    }

    private void notBlocked(CallContext c, Limits granted) {
        Decision d = c.decision();
        if (d.blocked()) {
            throw new Stop(results.notRun(c.id, Status.BLOCKED, d.tier(), c.findings(), d.reason(), granted));
        }
    }

    private Language language(CallContext c, String name) {
        return languages.find(name).orElseThrow(() -> new Stop(results.invalid(c.id, "unknown language \""
                + clip(name) + "\"; available: " + String.join(", ", languages.allNames()) + ".")));
    }

    /**
     * The configured limits, with the call's timeout if it asked for one; a request above the maximum
     * is held to the maximum here, and the policy decides what asking for more means (by default a
     * human's approval): a tool argument never raises a limit by itself.
     */
    private Limits limitsFor(CallContext c, Long timeoutMs) {
        Limits base = results.defaults();
        long max = maxTimeoutMs(c);
        if (timeoutMs == null) {
            return c.background() ? base.withTimeoutMs(max) : base;
        }
        if (timeoutMs < 1) {
            throw new Stop(results.invalid(c.id, "timeout_ms must be a positive number of milliseconds (this server "
                    + "allows up to " + max + ")."));
        }
        return base.withTimeoutMs(Math.min(timeoutMs, max));
    }

    /** The most a call may run without a person's approval: a background run has its own, longer limit. */
    private long maxTimeoutMs(CallContext c) {
        return c.background() ? limits.maxBackgroundTimeoutMs() : limits.maxTimeoutMs();
    }

    private boolean asksTooLong(CallContext c, Long timeoutMs) {
        return timeoutMs != null && timeoutMs > maxTimeoutMs(c);
    }

    private String directoryInside(CallContext c, Workspace ws, String cwd) {
        Optional<String> rel = ws.resolve(cwd);
        if (rel.isEmpty() || !Files.isDirectory(ws.root().resolve(rel.get()), LinkOption.NOFOLLOW_LINKS)) {
            throw new Stop(results.invalid(c.id, "cwd must name an existing directory inside the session workspace."));
        }
        return rel.get();
    }

    /** The files of execute_code with their paths checked and normalised; the call ends if one escapes. */
    private Map<String, String> checkedFiles(CallContext c, Workspace ws, Map<String, String> files) {
        Map<String, String> checked = new LinkedHashMap<>();
        for (Map.Entry<String, String> f : files.entrySet()) {
            Optional<String> rel = ws.resolve(f.getKey());
            if (rel.isEmpty() || rel.get().isEmpty()) {
                throw new Stop(results.invalid(c.id, "files: \"" + clip(f.getKey())
                        + "\" must be a relative path inside the session workspace."));
            }
            checked.put(rel.get(), f.getValue());
        }
        return checked;
    }

    private static Map<String, Object> keys(Map<String, Object> rawArgs) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("keys", rawArgs == null ? List.of() : List.copyOf(rawArgs.keySet()));
        return args;
    }

    private static byte[] bytes(String s) {
        return s == null ? new byte[0] : s.getBytes(StandardCharsets.UTF_8);
    }

    private static String clip(String s) {
        return CallAudit.clip(s, CallAudit.TEXT_MAX);
    }

    private static String newId() {
        byte[] b = new byte[10];
        random.nextBytes(b);
        return "ex_" + HexFormat.of().formatHex(b);
    }
}
