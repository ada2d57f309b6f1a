package dev.warden.pipeline;

import dev.warden.call.Status;
import dev.warden.contract.ApprovalCall;
import dev.warden.contract.ApprovalResult;
import dev.warden.contract.CallResult;
import dev.warden.contract.CodeCall;
import dev.warden.contract.CommandCall;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.approval.Scope;
import dev.warden.approval.Verdict;
import dev.warden.audit.AuditLog;
import dev.warden.config.ContainerLimits;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.exec.Cancel;
import dev.warden.exec.ContainerStatus;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Language;
import dev.warden.exec.Languages;
import dev.warden.exec.Limits;
import dev.warden.exec.Output;
import dev.warden.exec.Phase;
import dev.warden.exec.Usage;
import dev.warden.policy.Decision;
import dev.warden.policy.Finding;
import dev.warden.limit.Executions;
import dev.warden.limit.RateLimits;
import dev.warden.policy.Policy;
import dev.warden.policy.Severity;
import dev.warden.call.Tier;
import dev.warden.sanitize.Sanitizer;
import dev.warden.session.Workspace;
import dev.warden.session.WorkspaceDirs;
import dev.warden.session.Workspaces;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Warden does with a call, top to bottom: resolve the session's workspace, check paths and
 * limits, let the policy decide, run in the tier's executor, sanitize, write the audit line, answer.
 */
public final class CallPipeline {

    private static final Logger log = LoggerFactory.getLogger(CallPipeline.class);
    private static final SecureRandom random = new SecureRandom();
    private static final int AUDIT_TEXT_MAX = 4096;

    private final Policy policy;
    private final Workspaces workspaces;
    private final Languages languages;
    private final Function<Tier, Executor> executors;
    private final Sanitizer sanitizer;
    private final AuditLog audit;
    private final LimitsConfig limits;
    private final ApprovalService approvals;
    private final RateLimits rates;
    private final Executions executions;
    private final ContainerStatus containers;
    /** Held calls by execution id, what runs once approved; the oldest are dropped past HELD_MAX. */
    private final Map<String, Held> held = java.util.Collections.synchronizedMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Held> eldest) {
            return size() > HELD_MAX;
        }
    });

    /** The longest run an approval can grant to a call that asked for more than max_timeout_ms. */
    static final long APPROVED_TIMEOUT_MAX_MS = 3_600_000;
    private static final int HELD_MAX = 500;

    /**
     * @param containers whether L3 can run a language now (else a call routed there is refused or falls back)
     */
    public CallPipeline(Policy policy, Workspaces workspaces, Languages languages, Function<Tier, Executor> executors,
            Sanitizer sanitizer, AuditLog audit, LimitsConfig limits, ContainerStatus containers,
            ApprovalService approvals, RateLimits rates, Executions executions) {
        this.containers = containers;
        this.policy = policy;
        this.workspaces = workspaces;
        this.languages = languages;
        this.executors = executors;
        this.sanitizer = sanitizer;
        this.audit = audit;
        this.limits = limits;
        this.approvals = approvals;
        this.rates = rates;
        this.executions = executions;
        workspaces.onSessionEnd(session -> {
            approvals.endSession(session);
            held.values().removeIf(h -> h.request.session().equals(session));
        });
    }

    /** What a held call is, and how it runs once approved (at most once, whoever asks). */
    private static final class Held {

        final ApprovalRequest request;
        /** Holds the call's input (stdin, files) until it ran or was refused: then let go of it. */
        private Function<Ruling, CallResult> runner;
        private CallResult result;

        Held(ApprovalRequest request, Function<Ruling, CallResult> runner) {
            this.request = request;
            this.runner = runner;
        }

        synchronized CallResult result(Ruling ruling) {
            if (result == null && runner != null) {
                result = runner.apply(ruling);
                runner = null;
            }
            return result;
        }

        synchronized void refused() {
            runner = null;
        }
    }

    /** The call as a person sees it when asked to approve, and as the operator sees it running. */
    private record Subject(String tool, String text, String language, String cwd, Long askedTimeoutMs) {
    }

    public CallResult runCommand(Caller caller, CommandCall call) {
        String id = newId();
        Map<String, Object> auditArgs = new LinkedHashMap<>();
        auditArgs.put("command", clip(call.command()));
        auditArgs.put("cwd", call.cwd());
        auditArgs.put("timeout_ms", call.timeoutMs());
        auditArgs.put("stdin_bytes", call.stdin() == null ? 0 : call.stdin().length());
        auditArgs.put("env_keys", call.env() == null ? List.of() : List.copyOf(call.env().keySet()));
        return guarded(caller, "run_command", id, auditArgs, () -> {
            Optional<CallResult> limited = clientLimit(caller, id);
            if (limited.isPresent()) {
                return limited.get();
            }
            Workspace ws = workspaces.forSession(caller.sessionId());
            Optional<String> cwd = directoryInside(ws, call.cwd());
            if (cwd.isEmpty()) {
                return invalidResult(id, "cwd must name an existing directory inside the session workspace.");
            }
            Optional<Limits> granted = limitsFor(call.timeoutMs());
            if (granted.isEmpty()) {
                return invalidResult(id, timeoutMessage());
            }
            Policy.EnvFilter env = policy.filterEnv(call.env());
            Decision decision = policy.decideCommand(call.command(), ws, cwd.get(), asksTooLong(call.timeoutMs()));
            List<Finding> findings = concat(decision.findings(), env.findings());
            if (decision.blocked()) {
                return notRun(id, Status.BLOCKED, decision.tier(), findings, decision.reason(), granted.get());
            }
            ExecRequest req = new ExecRequest(decision.argv(), ws.root(), cwd.get(), bytes(call.stdin()), env.kept(),
                    Map.of(), caller.cancel());
            Subject what = new Subject("run_command", call.command(), null, cwd.get(), call.timeoutMs());
            return decided(caller, id, decision, req, granted.get(), call.timeoutMs(), findings, ws, what);
        });
    }

    public CallResult executeCode(Caller caller, CodeCall call) {
        String id = newId();
        Map<String, Object> auditArgs = new LinkedHashMap<>();
        auditArgs.put("language", call.language());
        auditArgs.put("code", clip(call.code()));
        auditArgs.put("timeout_ms", call.timeoutMs());
        auditArgs.put("stdin_bytes", call.stdin() == null ? 0 : call.stdin().length());
        auditArgs.put("files", call.files() == null ? List.of() : List.copyOf(call.files().keySet()));
        return guarded(caller, "execute_code", id, auditArgs, () -> {
            Optional<CallResult> limited = clientLimit(caller, id);
            if (limited.isPresent()) {
                return limited.get();
            }
            Optional<Language> lang = languages.find(call.language());
            if (lang.isEmpty()) {
                return invalidResult(id, "unknown language \"" + clip(call.language()) + "\"; available: "
                        + String.join(", ", languages.allNames()) + ".");
            }
            Optional<Limits> granted = limitsFor(call.timeoutMs());
            if (granted.isEmpty()) {
                return invalidResult(id, timeoutMessage());
            }
            Workspace ws = workspaces.forSession(caller.sessionId());
            StringBuilder why = new StringBuilder();
            Map<String, String> files = checkedFiles(ws, call.files() == null ? Map.of() : call.files(), why);
            if (files == null) {
                return invalidResult(id, why.toString());
            }
            Decision decision = policy.decideCode(lang.get().name(), call.code(), asksTooLong(call.timeoutMs()));
            if (decision.blocked()) {
                return notRun(id, Status.BLOCKED, decision.tier(), decision.findings(), decision.reason(), granted.get());
            }
            String name = lang.get().name();
            ExecRequest req = ExecRequest.code(lang.get().onHost() ? lang.get().argv(call.code()) : List.of(), ws.root(),
                    bytes(call.stdin()), lang.get().env(), files, name, call.code(), caller.cancel());
            Subject what = new Subject("execute_code", call.code(), name, "", call.timeoutMs());
            return decided(caller, id, decision, req, granted.get(), call.timeoutMs(), decision.findings(), ws, what);
        });
    }

    /** The per-client bucket: every call of a client counts, whatever its tier. */
    private Optional<CallResult> clientLimit(Caller caller, String id) {
        return rates.take(caller.identity(), null).map(ms -> rateLimited(id, Tier.L2, List.of(), ms,
                "this client is over its rate limit of calls"));
    }

    private CallResult rateLimited(String id, Tier tier, List<Finding> findings, long retryAfterMs, String what) {
        return withRetry(notRun(id, Status.RATE_LIMITED, tier, findings,
                "Rate limited: " + what + "; retry after " + retryAfterMs + " ms.", Limits.of(limits)), retryAfterMs);
    }

    /** After the policy: a held call waits for a person, anything else runs in its tier. */
    private CallResult decided(Caller caller, String id, Decision decision, ExecRequest req, Limits granted,
            Long askedTimeoutMs, List<Finding> findings, Workspace ws, Subject what) {
        if (!decision.held()) {
            return run(caller, id, decision.tier(), req, granted, findings, ws, what);
        }
        // An approval of a call that asked for more time than allowed grants that time: that is what was asked.
        Limits approvedLimits = askedTimeoutMs != null && askedTimeoutMs > granted.timeoutMs()
                ? granted.withTimeoutMs(Math.min(askedTimeoutMs, APPROVED_TIMEOUT_MAX_MS)) : granted;
        Tier runTier = decision.approvedTier();
        if (approvals.covered(caller.sessionId(), decision.heldBy())) {
            List<Finding> withGrant = concat(findings, List.of(new Finding("approval.session_grant", Severity.INFO,
                    "runs without asking: a person approved " + String.join(", ", decision.heldBy())
                            + " for this session earlier")));
            Ruling grant = Ruling.approve(Scope.SESSION, "session grant", "session_grant");
            return approvedRun(caller, id, runTier, req, approvedLimits, withGrant, ws, what, grant);
        }
        Optional<Long> wait = rates.take(caller.identity(), Tier.L4.name());
        if (wait.isPresent()) {
            return rateLimited(id, Tier.L4, findings, wait.get(), "this client asks for approvals faster than its L4 rate allows");
        }
        Instant now = Instant.now();
        ApprovalRequest request = new ApprovalRequest(id, caller.sessionId(), caller.client(), what.tool(),
                what.text(), what.language(), what.cwd(), runTier.name(), findings, decision.heldBy(),
                decision.reason(), now, now.plus(approvals.timeout()));
        Optional<ApprovalService.Pending> pending = approvals.open(request);
        if (pending.isEmpty()) {
            return rateLimited(id, Tier.L4, findings, approvals.timeout().toMillis(),
                    "this session already has the most pending approvals it may have open");
        }
        Held h = new Held(request, ruling -> approvedRun(caller, id, runTier, req, approvedLimits, findings, ws, what, ruling));
        held.put(id, h);
        if (caller.prompter() != null) {
            approvals.ask(pending.get(), caller.prompter());
            // the client giving up on this call (notifications/cancelled) answers the question for it
            Ruling ruling;
            try (Cancel.Registration givenUp = caller.cancel().onCancel(() -> approvals.decide(id,
                    Ruling.deny(caller.client(), "client", "the client cancelled the request while it waited")))) {
                ruling = await(pending.get(), caller.progress());
            }
            if (ruling.approved()) {
                return h.result(ruling);
            }
            h.refused();
            return notRun(id, Status.DENIED, Tier.L4, findings, deniedMessage(ruling), granted)
                .withApproval(approvalInfo(ruling), null, deniedMessage(ruling));
        }
        return notRun(id, Status.NEEDS_APPROVAL, Tier.L4, findings, decision.reason() + " It waits for a person as execution "
                + id + ": call request_approval with this execution_id to wait for the decision (an operator answers on "
                + "the /operator page or with `warden approvals approve " + id + "`); it expires in "
                + approvals.timeout().toSeconds() + " s.", granted);
    }

    private static String deniedMessage(Ruling r) {
        return (r.verdict() == Verdict.EXPIRED ? "Denied: " : "Denied by " + (r.approver() == null ? "Warden" : r.approver())
                + " (" + r.channel() + "): ") + (r.note() == null ? "a person said no" : r.note()) + ".";
    }

    private static Map<String, Object> approvalInfo(Ruling r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("decision", r.verdict().wire());
        m.put("approver", r.approver());
        m.put("channel", r.channel());
        m.put("scope", r.scope().wire());
        m.put("decided_at", r.decidedAt().toString());
        return m;
    }

    /** Waits for the decision, reporting progress; the expiry timer guarantees it comes. */
    private Ruling await(ApprovalService.Pending p, Caller.Progress progress) {
        long total = Math.max(1, Duration.between(p.request().created(), p.request().expires()).toSeconds());
        for (;;) {
            try {
                return p.ruling().get(2, TimeUnit.SECONDS);
            }
            catch (TimeoutException e) {
                long left = Math.max(0, Duration.between(Instant.now(), p.request().expires()).toSeconds());
                progress.report(total - left, "waiting for a person to approve or deny execution "
                        + p.request().id() + " (" + left + " s left)");
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Ruling.deny(null, "policy", "the call was interrupted while it waited");
            }
            catch (ExecutionException e) {
                return Ruling.deny(null, "policy", "the approval failed inside Warden");
            }
        }
    }

    /**
     * An approved call: the workspace is checkpointed first (if small enough), the call runs in its
     * tier, and if it does not succeed the workspace is put back as it was.
     */
    private CallResult approvedRun(Caller caller, String id, Tier tier, ExecRequest req, Limits limits,
            List<Finding> findings, Workspace ws, Subject what, Ruling ruling) {
        Optional<java.nio.file.Path> checkpoint = Optional.empty();
        List<Finding> all = new ArrayList<>(findings);
        if (policy.checkpointMaxBytes() > 0) {
            try {
                checkpoint = workspaces.checkpoint(ws, id, policy.checkpointMaxBytes());
                if (checkpoint.isEmpty()) {
                    all.add(new Finding("approval.no_checkpoint", Severity.LOW, "the workspace is larger than "
                            + (policy.checkpointMaxBytes() >> 20) + " MB, so it was not checkpointed before the call"));
                }
            }
            catch (IOException e) {
                log.warn("checkpoint of {} failed: {}", id, e.getMessage());
                all.add(new Finding("approval.no_checkpoint", Severity.LOW, "the workspace could not be checkpointed"));
            }
        }
        CallResult r = run(caller, id, tier, req, limits, all, ws, what);
        Boolean restored = null;
        String message = r.message();
        if (checkpoint.isPresent()) {
            // a failure that ran (a non-zero exit, a timeout, a kill) may have left the workspace half-changed;
            // one that never started changed nothing
            boolean failedRun = r.status() == Status.FAILED && r.exitCode() != null || r.status() == Status.TIMEOUT
                    || r.status() == Status.KILLED;
            restored = false;
            if (failedRun) {
                try {
                    workspaces.restore(ws, checkpoint.get());
                    restored = true;
                    message = (message == null ? "" : message + " ")
                            + "The workspace was restored to its checkpoint from before this approved call.";
                }
                catch (IOException e) {
                    log.error("restoring the checkpoint of {} failed: {}", id, e.getMessage());
                    message = (message == null ? "" : message + " ") + "Restoring the workspace from its checkpoint failed.";
                }
            }
            if (!restored) {
                WorkspaceDirs.delete(checkpoint.get());
            }
        }
        return r.withApproval(approvalInfo(ruling), restored, message);
    }

    /** The tier's rate, the kill switch and the concurrency cap, then the executor. */
    private CallResult run(Caller caller, String id, Tier tier, ExecRequest req, Limits granted, List<Finding> findings,
            Workspace ws, Subject what) {
        // L3: a container if the engine and the language's image are there; else refused, or the L2
        // sandbox when the operator's policy allows it (l3_fallback: L2), and the result says so
        String name = req.language() == null ? "bash" : req.language(); // a command runs in the bash image
        boolean onHost = req.language() == null || languages.find(name).map(Language::onHost).orElse(false);
        if (tier == Tier.L3) {
            Optional<String> down = containers.unavailable(name);
            if (down.isEmpty()) {
                granted = containerLimits(name, what.askedTimeoutMs(), granted);
            }
            else if (policy.l3FallbackToL2() && req.language() != null && onHost) {
                tier = Tier.L2;
                findings = concat(findings, List.of(new Finding("container.fallback", Severity.MEDIUM,
                        "the policy routes this to a container (L3), but " + down.get()
                                + "; it ran in the L2 sandbox instead, as the policy's l3_fallback allows")));
            }
            else {
                return notRun(id, Status.FAILED, Tier.L3, findings, l3Refusal(down.get()), granted);
            }
        }
        else if (!onHost) {
            return notRun(id, Status.FAILED, tier, findings, "It did not run: " + name
                    + " exists only in containers (L3), and the policy routes this call to " + tier + ".", granted);
        }
        Optional<Long> wait = rates.take(caller.identity(), tier.name());
        if (wait.isPresent()) {
            return rateLimited(id, tier, findings, wait.get(), "this client is over its " + tier + " rate");
        }
        // a held call approved while the audit went down does not run either
        Optional<String> unaudited = auditDown();
        if (unaudited.isPresent()) {
            return notRun(id, Status.FAILED, tier, findings, unaudited.get(), granted);
        }
        Executions.Running running = new Executions.Running(id, caller.sessionId(), caller.client(), what.tool(),
                clip(what.text(), 300), tier.name(), Instant.now(), req.cancel());
        Executions.Entry entry;
        try {
            entry = executions.enter(running, caller.identity(), position -> caller.progress().report(0,
                    "queued for an execution place (" + position + " waiting)"));
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return notRun(id, Status.FAILED, tier, findings, "The call was interrupted while it waited to run.", granted);
        }
        if (entry instanceof Executions.Halted h) {
            return notRun(id, Status.DENIED, tier, concat(findings, List.of(new Finding("operator.kill_switch",
                    Severity.CRITICAL, "the kill switch was turned on by " + h.by() + " at " + h.since()))),
                    "Denied: Warden's operator turned on the kill switch, so nothing runs until they turn it off.", granted);
        }
        if (entry instanceof Executions.Busy b) {
            return rateLimited(id, tier, findings, b.retryAfterMs(), b.why());
        }
        try (Executions.Ticket ticket = ((Executions.Admitted) entry).ticket()) {
            return execute(id, tier, req, granted, findings, ws);
        }
    }

    /**
     * request_approval: waits for the decision on a held call of this session (then runs it if
     * approved and returns its result), or asks for a free-text action the agent wants to take.
     */
    public ApprovalResult requestApproval(Caller caller, ApprovalCall call) {
        long start = System.nanoTime();
        boolean byId = call.executionId() != null;
        String id = byId ? call.executionId() : newId();
        Map<String, Object> auditArgs = new LinkedHashMap<>();
        if (byId) {
            auditArgs.put("execution_id", clip(call.executionId()));
        }
        else {
            auditArgs.put("action", clip(call.action()));
            auditArgs.put("reason", clip(call.reason()));
        }
        ApprovalResult result;
        try {
            Optional<String> unaudited = auditDown();
            result = unaudited.isPresent() ? ApprovalResult.refused(null, unaudited.get(), null)
                    : byId ? awaitHeld(caller, id) : askAction(caller, id, call);
        }
        catch (RuntimeException e) {
            log.error("request_approval {} failed inside Warden", id, e);
            result = ApprovalResult.refused(id, "Warden could not complete this request because of an internal error.", null);
        }
        recordApproval(caller, auditArgs, id, result, (System.nanoTime() - start) / 1_000_000);
        return result;
    }

    private ApprovalResult awaitHeld(Caller caller, String id) {
        Held h = held.get(id);
        Optional<ApprovalService.Pending> p = approvals.find(id);
        if (h == null || p.isEmpty() || !h.request.session().equals(caller.sessionId())) {
            return ApprovalResult.refused(null, "No held call with execution_id \"" + clip(id, 80)
                    + "\" in this session: pass the execution_id of a call of this session that returned needs_approval.", null);
        }
        Ruling r = await(p.get(), caller.progress());
        if (!r.approved()) {
            h.refused();
        }
        CallResult ran = r.approved() ? h.result(r) : null;
        return decisionResult(id, r, ran);
    }

    private ApprovalResult askAction(Caller caller, String id, ApprovalCall call) {
        Optional<Long> wait = rates.take(caller.identity(), null).or(() -> rates.take(caller.identity(), Tier.L4.name()));
        if (wait.isPresent()) {
            return ApprovalResult.refused(null, "Rate limited: this client asks for approvals faster than its rate allows; retry after "
                    + wait.get() + " ms.", wait.get());
        }
        Instant now = Instant.now();
        ApprovalRequest request = new ApprovalRequest(id, caller.sessionId(), caller.client(), "action", call.action(),
                null, null, Tier.L4.name(), List.of(), List.of(), call.reason(), now, now.plus(approvals.timeout()));
        Optional<ApprovalService.Pending> pending = approvals.open(request);
        if (pending.isEmpty()) {
            return ApprovalResult.refused(null, "Rate limited: this session already has the most pending approvals it may have open.",
                    approvals.timeout().toMillis());
        }
        if (caller.prompter() != null) {
            approvals.ask(pending.get(), caller.prompter());
        }
        return decisionResult(id, await(pending.get(), caller.progress()), null);
    }

    private static ApprovalResult decisionResult(String id, Ruling r, CallResult ran) {
        String message = switch (r.verdict()) {
            case APPROVED -> ran == null ? "Approved by " + r.approver() + " (" + r.channel() + ")."
                    : "Approved by " + r.approver() + " (" + r.channel() + "); the held call ran and its result is in `result`.";
            case DENIED -> deniedMessage(r);
            case EXPIRED -> "Expired: " + r.note() + ".";
        };
        return new ApprovalResult(r.verdict(), r.approver(), r.decidedAt().toString(), id, r.scope(), r.channel(), ran,
                null, message);
    }

    /** One audit line per request_approval call: the decision, and the held call's outcome if it ran. */
    private void recordApproval(Caller caller, Map<String, Object> args, String id, ApprovalResult r, long totalMs) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", Instant.now().toString());
        line.put("type", "call");
        line.put("execution_id", id);
        line.put("session", caller.sessionId());
        line.put("client", caller.client());
        line.put("identity", caller.identity());
        line.put("transport", caller.transport());
        line.put("tool", "request_approval");
        line.put("arguments", redactArgs(args));
        line.put("decision", r.decision() == null ? null : r.decision().wire());
        line.put("approver", r.approver());
        line.put("channel", r.channel());
        line.put("scope", r.scope() == null ? null : r.scope().wire());
        line.put("decided_at", r.decidedAt());
        if (r.result() != null) {
            line.put("tier", r.result().tier());
            line.put("executor", r.result().executor());
            line.put("findings", r.result().findings());
            line.put("status", r.result().status());
            line.put("exit_code", r.result().exitCode());
            line.put("duration_ms", r.result().durationMs());
            line.put("usage", r.result().usage());
            line.put("workspace_restored", r.result().workspaceRestored());
        }
        line.put("total_ms", totalMs);
        line.put("message", r.message());
        audit.append(line);
    }

    /** The audit line of one decision, from whichever channel (and of every expiry). */
    public static Map<String, Object> decisionRecord(ApprovalRequest req, Ruling r, Sanitizer sanitizer) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", Instant.now().toString());
        line.put("type", "decision");
        line.put("execution_id", req.id());
        line.put("session", req.session());
        line.put("client", req.client());
        line.put("kind", req.kind());
        line.put("subject", sanitizer.clean(clip(req.subject()).getBytes(StandardCharsets.UTF_8)).text());
        line.put("rules", req.rules());
        line.put("decision", r.verdict().wire());
        line.put("approver", r.approver());
        line.put("channel", r.channel());
        line.put("scope", r.scope().wire());
        line.put("decided_at", r.decidedAt().toString());
        line.put("note", r.note());
        return line;
    }

    /** request_approval with bad arguments: answered and audited like any other call. */
    public ApprovalResult invalidApproval(Caller caller, Map<String, Object> rawArgs, String message) {
        ApprovalResult r = ApprovalResult.refused(null, "Invalid request_approval arguments: " + message, null);
        Map<String, Object> auditArgs = new LinkedHashMap<>();
        auditArgs.put("keys", rawArgs == null ? List.of() : List.copyOf(rawArgs.keySet()));
        recordApproval(caller, auditArgs, newId(), r, 0);
        return r;
    }

    /** A call whose arguments failed validation before they reached the road: still answered and audited. */
    public CallResult invalid(Caller caller, String tool, Map<String, Object> rawArgs, String message) {
        String id = newId();
        Map<String, Object> auditArgs = new LinkedHashMap<>();
        auditArgs.put("keys", rawArgs == null ? List.of() : List.copyOf(rawArgs.keySet()));
        return guarded(caller, tool, id, auditArgs, () -> invalidResult(id, message));
    }

    /**
     * A call refused at the door because its client (or every client together) already has as many
     * calls in flight as Warden admits: answered at once, without waiting, and audited.
     */
    public CallResult busy(Caller caller, String tool, Map<String, Object> rawArgs, long retryAfterMs, String why) {
        String id = newId();
        Map<String, Object> auditArgs = new LinkedHashMap<>();
        auditArgs.put("keys", rawArgs == null ? List.of() : List.copyOf(rawArgs.keySet()));
        return guarded(caller, tool, id, auditArgs, () -> rateLimited(id, Tier.L2, List.of(), retryAfterMs, why));
    }

    private interface Step {
        CallResult run() throws IOException;
    }

    /** Every call ends here: whatever happened becomes a result, and the audit line is written first. */
    private CallResult guarded(Caller caller, String tool, String id, Map<String, Object> auditArgs, Step step) {
        long start = System.nanoTime();
        CallResult result;
        try {
            Optional<String> unaudited = auditDown();
            result = unaudited.isPresent() ? notRun(id, Status.FAILED, Tier.L2, List.of(), unaudited.get(),
                    Limits.of(limits)) : step.run();
        }
        catch (Workspaces.Unavailable e) {
            log.error("call {}: {}", id, e.getMessage());
            result = notRun(id, Status.FAILED, Tier.L2, List.of(), "It did not run: " + sanitizer.message(e.getMessage())
                    + ".", Limits.of(limits));
        }
        catch (IOException | RuntimeException e) {
            log.error("call {} failed inside Warden", id, e);
            result = notRun(id, Status.FAILED, Tier.L2, List.of(),
                    "Warden could not complete this call because of an internal error (execution id " + id + ").",
                    Limits.of(limits));
        }
        record(caller, tool, auditArgs, result, (System.nanoTime() - start) / 1_000_000);
        return result;
    }

    /**
     * Fail closed: while the audit log cannot be written (and audit.fail_closed is on), the refusal
     * a call gets instead of running unaudited; empty while it can be written.
     */
    private Optional<String> auditDown() {
        if (!audit.failClosed()) {
            return Optional.empty();
        }
        return audit.unwritable().map(why -> "It did not run: the audit log cannot be written ("
                + sanitizer.message(why) + "); Warden refuses calls rather than run them unaudited.");
    }

    private static String l3Refusal(String why) {
        return "It did not run: the policy routes it to a container (L3), and " + why
                + ". Warden does not run it anywhere else.";
    }

    /**
     * A container's limits: memory and pids of the language's container (policy), the call's timeout
     * if it named one (already capped at the maximum), else the language's; the rest as configured.
     */
    private Limits containerLimits(String language, Long askedTimeoutMs, Limits granted) {
        ContainerLimits c = policy.containerLimits(language);
        long timeout = askedTimeoutMs != null ? granted.timeoutMs() : Math.min(c.timeoutMs(), limits.maxTimeoutMs());
        return new Limits(timeout, granted.cpuMs(), c.memoryMb(), c.pids(), granted.outputBytes(), granted.fileSizeMb(),
                granted.openFiles(), granted.tmpMb());
    }

    private CallResult execute(String id, Tier tier, ExecRequest req, Limits granted, List<Finding> findings,
            Workspace ws) {
        Executor executor = executors.apply(tier);
        ExecOutcome outcome = executor.run(req, granted);
        Map<String, String> rewrites = Map.of(ws.root().toString(), "/workspace");
        Limits reported = tier == Tier.L1 ? new Limits(granted.timeoutMs(), granted.cpuMs(), granted.memoryMb(), 1,
                granted.outputBytes(), 0, granted.openFiles(), 0) : granted;
        if (outcome instanceof ExecOutcome.Completed c) {
            Status status = c.exitCode() == 0 ? Status.OK : Status.FAILED;
            String msg = status == Status.OK ? null : "The program exited with code " + c.exitCode() + ".";
            return withCompile(ran(id, status, c.exitCode(), c.stdout(), c.stderr(), c.durationMs(), tier,
                    executor.name(), findings, reported, c.usage(), msg, rewrites), c.compile(), rewrites);
        }
        if (outcome instanceof ExecOutcome.TimedOut t) {
            return withCompile(ran(id, Status.TIMEOUT, null, t.stdout(), t.stderr(), t.durationMs(), tier,
                    executor.name(), findings, reported, t.usage(), "It ran past its time limit of " + granted.timeoutMs()
                            + " ms and was stopped, with every process it started.", rewrites), t.compile(), rewrites);
        }
        if (outcome instanceof ExecOutcome.Killed k) {
            return withCompile(ran(id, Status.KILLED, null, k.stdout(), k.stderr(), k.durationMs(), tier,
                    executor.name(), findings, reported, k.usage(), "It was stopped because " + k.reason() + ".",
                    rewrites), k.compile(), rewrites);
        }
        if (outcome instanceof ExecOutcome.CompileFailed f) {
            // the run phase never started: the top-level fields describe a run that did not happen
            CallResult base = ran(id, Status.FAILED, null, Output.EMPTY, Output.EMPTY, 0, tier, executor.name(),
                    findings, reported, f.usage(), "The compile failed (" + f.reason()
                            + "), so the program was not run; see compile.stderr.", rewrites);
            return withCompile(base, f.compile(), rewrites);
        }
        ExecOutcome.Refused r = (ExecOutcome.Refused) outcome;
        if (r.busy()) {
            CallResult base = notRun(id, Status.RATE_LIMITED, tier, findings,
                    "Warden is at its limit of concurrent runs (" + r.reason() + "); retry shortly.", granted);
            return withRetry(base, 1000L);
        }
        return notRun(id, Status.FAILED, tier, findings,
                "It did not run: " + sanitizer.message(r.reason()) + ". Warden never runs code outside its sandbox.",
                granted);
    }

    private CallResult ran(String id, Status status, Integer exit, Output out, Output err, long durationMs, Tier tier,
            String executor, List<Finding> findings, Limits limits, Usage usage, String message,
            Map<String, String> rewrites) {
        Sanitizer.Clean o = sanitizer.clean(out.bytes(), rewrites);
        Sanitizer.Clean e = sanitizer.clean(err.bytes(), rewrites);
        return new CallResult(status, exit, o.text(), e.text(), out.truncated(), err.truncated(), durationMs,
                tier.name(), executor, findings, o.redactions() + e.redactions(), id, limitsMap(limits),
                usageMap(usage), null, message);
    }

    /** The compile phase, sanitized like the run's output, added to a result. */
    private CallResult withCompile(CallResult r, Phase compile, Map<String, String> rewrites) {
        if (compile == null) {
            return r;
        }
        Sanitizer.Clean o = sanitizer.clean(compile.stdout().bytes(), rewrites);
        Sanitizer.Clean e = sanitizer.clean(compile.stderr().bytes(), rewrites);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", compile.status());
        m.put("exit_code", compile.exitCode());
        m.put("stdout", o.text());
        m.put("stderr", e.text());
        m.put("stdout_truncated", compile.stdout().truncated());
        m.put("stderr_truncated", compile.stderr().truncated());
        m.put("duration_ms", compile.durationMs());
        return new CallResult(r.status(), r.exitCode(), r.stdout(), r.stderr(), r.stdoutTruncated(),
                r.stderrTruncated(), r.durationMs(), r.tier(), r.executor(), r.findings(),
                r.redactions() + o.redactions() + e.redactions(), r.executionId(), r.limits(), r.usage(),
                r.retryAfterMs(), r.message(), m, r.approval(), r.workspaceRestored());
    }

    private CallResult notRun(String id, Status status, Tier tier, List<Finding> findings, String message, Limits l) {
        return new CallResult(status, null, "", "", false, false, 0, tier.name(), "none", findings, 0, id,
                limitsMap(l), Map.of(), null, message);
    }

    private CallResult invalidResult(String id, String message) {
        return notRun(id, Status.INVALID, Tier.L2, List.of(), message, Limits.of(limits));
    }

    private static CallResult withRetry(CallResult r, Long retryAfterMs) {
        return new CallResult(r.status(), r.exitCode(), r.stdout(), r.stderr(), r.stdoutTruncated(),
                r.stderrTruncated(), r.durationMs(), r.tier(), r.executor(), r.findings(), r.redactions(),
                r.executionId(), r.limits(), r.usage(), retryAfterMs, r.message());
    }

    /**
     * The configured limits, with the call's timeout if it asked for one; a request above the maximum
     * is held to the maximum here, and the policy decides what asking for more means (by default a
     * human's approval): a tool argument never raises a limit by itself.
     */
    private Optional<Limits> limitsFor(Long timeoutMs) {
        Limits base = Limits.of(limits);
        if (timeoutMs == null) {
            return Optional.of(base);
        }
        if (timeoutMs < 1) {
            return Optional.empty();
        }
        return Optional.of(base.withTimeoutMs(Math.min(timeoutMs, limits.maxTimeoutMs())));
    }

    private boolean asksTooLong(Long timeoutMs) {
        return timeoutMs != null && timeoutMs > limits.maxTimeoutMs();
    }

    private String timeoutMessage() {
        return "timeout_ms must be a positive number of milliseconds (this server allows up to " + limits.maxTimeoutMs() + ").";
    }

    private static Optional<String> directoryInside(Workspace ws, String cwd) {
        Optional<String> rel = ws.resolve(cwd);
        if (rel.isEmpty() || !Files.isDirectory(ws.root().resolve(rel.get()), LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        return rel;
    }

    /** The files of execute_code with their paths checked and normalised; null and a reason if one escapes. */
    private static Map<String, String> checkedFiles(Workspace ws, Map<String, String> files, StringBuilder why) {
        Map<String, String> checked = new LinkedHashMap<>();
        for (Map.Entry<String, String> f : files.entrySet()) {
            Optional<String> rel = ws.resolve(f.getKey());
            if (rel.isEmpty() || rel.get().isEmpty()) {
                why.append("files: \"").append(clip(f.getKey())).append("\" must be a relative path inside the session workspace.");
                return null;
            }
            checked.put(rel.get(), f.getValue());
        }
        return checked;
    }

    private void record(Caller caller, String tool, Map<String, Object> args, CallResult r, long totalMs) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", Instant.now().toString());
        line.put("type", "call");
        line.put("execution_id", r.executionId());
        line.put("session", caller.sessionId());
        line.put("client", caller.client());
        line.put("identity", caller.identity());
        line.put("transport", caller.transport());
        line.put("tool", tool);
        line.put("arguments", redactArgs(args));
        line.put("tier", r.tier());
        line.put("executor", r.executor());
        line.put("findings", r.findings());
        line.put("status", r.status());
        line.put("exit_code", r.exitCode());
        line.put("duration_ms", r.durationMs());
        line.put("total_ms", totalMs);
        line.put("usage", r.usage());
        line.put("stdout_chars", r.stdout().length());
        line.put("stderr_chars", r.stderr().length());
        line.put("redactions", r.redactions());
        line.put("message", r.message());
        if (r.approval() != null) {
            line.put("approval", r.approval());
        }
        if (r.workspaceRestored() != null) {
            line.put("workspace_restored", r.workspaceRestored());
        }
        // the incident stream: what someone on call should look at
        boolean incident = r.status() == Status.BLOCKED || r.status() == Status.KILLED
                || r.findings().stream().anyMatch(f -> f.severity() == Severity.CRITICAL);
        if (incident) {
            audit.incident(line);
        }
        else {
            audit.append(line);
        }
    }

    private Map<String, Object> redactArgs(Map<String, Object> args) {
        Map<String, Object> out = new LinkedHashMap<>();
        args.forEach((k, v) -> out.put(k, v instanceof String s ? sanitizer.clean(s.getBytes(StandardCharsets.UTF_8)).text() : v));
        return out;
    }

    private Map<String, Object> limitsMap(Limits l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timeout_ms", l.timeoutMs());
        m.put("memory_mb", l.memoryMb());
        m.put("pids", l.pids());
        m.put("output_bytes", l.outputBytes());
        m.put("cpu_ms", l.cpuSeconds() * 1000);
        m.put("file_size_mb", l.fileSizeMb());
        m.put("open_files", l.openFiles());
        workspaces.diskMb().ifPresent(mb -> m.put("disk_mb", mb));
        return m;
    }

    private static Map<String, Object> usageMap(Usage u) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (u.cpuMs() != null) {
            m.put("cpu_ms", u.cpuMs());
        }
        if (u.peakMemoryKb() != null) {
            m.put("peak_memory_kb", u.peakMemoryKb());
        }
        return m;
    }

    private static List<Finding> concat(List<Finding> a, List<Finding> b) {
        List<Finding> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static byte[] bytes(String s) {
        return s == null ? new byte[0] : s.getBytes(StandardCharsets.UTF_8);
    }

    private static String clip(String s) {
        return clip(s, AUDIT_TEXT_MAX);
    }

    private static String clip(String s, int max) {
        if (s == null) {
            return null;
        }
        return s.length() <= max ? s : s.substring(0, max) + "…";
    }

    private static String newId() {
        byte[] b = new byte[10];
        random.nextBytes(b);
        return "ex_" + HexFormat.of().formatHex(b);
    }

}
