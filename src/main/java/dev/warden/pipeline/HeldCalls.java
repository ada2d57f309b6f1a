package dev.warden.pipeline;

import dev.warden.call.Channel;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.approval.Scope;
import dev.warden.approval.Verdict;
import dev.warden.call.Status;
import dev.warden.call.Tier;
import dev.warden.contract.ApprovalCall;
import dev.warden.contract.ApprovalResult;
import dev.warden.contract.CallResult;
import dev.warden.exec.Cancel;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import dev.warden.limit.RateLimits;
import dev.warden.policy.Decision;
import dev.warden.policy.Finding;
import dev.warden.policy.Severity;
import dev.warden.session.Workspaces;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * L4: calls held for a person. A held call is covered by a grant of its session and runs, or waits
 * for a decision: asked of the client's user at once (elicitation) if it can ask, else answered
 * {@code needs_approval} for request_approval to wait on; the operator page and CLI answer too.
 * What a person approves runs once, whoever asks for its result.
 */
final class HeldCalls {

    /** The longest run an approval can grant to a call that asked for more than max_timeout_ms. */
    static final long APPROVED_TIMEOUT_MAX_MS = 3_600_000;
    private static final int HELD_MAX = 500;

    /** How an approved call runs (the pipeline's checkpointed run). */
    interface ApprovedRun {
        CallResult run(CallContext c, ExecRequest req, Ruling ruling);
    }

    private final ApprovalService approvals;
    private final RateLimits rates;
    private final Gate gate;
    private final Results results;
    private final Clock clock;
    /** Held calls by execution id, what runs once approved; the oldest are dropped past HELD_MAX. */
    private final Map<String, Held> held = Collections.synchronizedMap(new LinkedHashMap<>() {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Held> eldest) {
            return size() > HELD_MAX;
        }
    });

    HeldCalls(ApprovalService approvals, RateLimits rates, Gate gate, Results results, Workspaces workspaces, Clock clock) {
        this.approvals = approvals;
        this.rates = rates;
        this.gate = gate;
        this.results = results;
        this.clock = clock;
        workspaces.onSessionEnd(session -> {
            approvals.endSession(session);
            held.values().removeIf(h -> h.request.session().equals(session));
        });
    }

    /** What a held call is, and how it runs once approved (at most once, whoever asks). */
    private static final class Held {

        final ApprovalRequest request;
        /** Holds the call's input (stdin, files) until it ran or was refused: then let go of it. */
        private java.util.function.Function<Ruling, CallResult> runner;
        private CallResult result;

        Held(ApprovalRequest request, java.util.function.Function<Ruling, CallResult> runner) {
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

    /** A call the policy holds for a person: run under a session grant, asked now, or left waiting. */
    CallResult hold(CallContext c, ExecRequest req, ApprovedRun run) {
        Decision decision = c.decision();
        Limits granted = c.limits();
        Long asked = c.subject().askedTimeoutMs();
        // An approval of a call that asked for more time than allowed grants that time: that is what was asked.
        Limits approvedLimits = asked != null && asked > granted.timeoutMs()
                ? granted.withTimeoutMs(Math.min(asked, APPROVED_TIMEOUT_MAX_MS)) : granted;
        Tier runTier = decision.approvedTier();
        List<Finding> findings = c.findings();
        // a session grant of the rules never covers hosts the call asks for: those are asked every time
        if (!c.asked().any() && approvals.covered(c.caller.sessionId(), decision.heldBy())) {
            List<Finding> withGrant = CallContext.concat(findings, List.of(new Finding("approval.session_grant",
                    Severity.INFO, "runs without asking: a person approved " + String.join(", ", decision.heldBy())
                            + " for this session earlier")));
            Ruling grant = Ruling.approve(Scope.SESSION, "session grant", Channel.SESSION_GRANT);
            return run.run(c.approved(runTier, approvedLimits, withGrant), req, grant);
        }
        gate.tier(c, Tier.L4, "this client asks for approvals faster than its L4 rate allows");
        CallContext.Subject what = c.subject();
        Instant now = clock.instant();
        ApprovalRequest request = new ApprovalRequest(c.id, c.caller.sessionId(), c.caller.client(), what.tool(),
                what.text(), what.language(), what.cwd(), runTier.name(), findings, decision.heldBy(),
                decision.reason(), now, now.plus(approvals.timeout()));
        Optional<ApprovalService.Pending> pending = approvals.open(request);
        if (pending.isEmpty()) {
            return results.rateLimited(c.id, Tier.L4, findings, approvals.timeout().toMillis(),
                    "this session already has the most pending approvals it may have open");
        }
        CallContext approved = c.approved(runTier, approvedLimits, findings);
        Held h = new Held(request, ruling -> run.run(approved, req, ruling));
        held.put(c.id, h);
        if (c.caller.prompter() != null) {
            approvals.ask(pending.get(), c.caller.prompter());
            // the client giving up on this call (notifications/cancelled) answers the question for it
            Ruling ruling;
            try (Cancel.Registration givenUp = c.caller.cancel().onCancel(() -> approvals.decide(c.id,
                    Ruling.deny(c.caller.client(), Channel.CLIENT, "the client cancelled the request while it waited")))) {
                ruling = await(pending.get(), c.caller.progress(), true);
            }
            if (ruling == null) {
                // the client answered for nobody and the call was left to the operator: answered as for a
                // client that cannot ask, and request_approval (or the operator alone) decides it
                String why = pending.get().handedOver().getNow("the client could not ask a person");
                return needsApproval(c, decision, findings, granted, Character.toUpperCase(why.charAt(0))
                        + why.substring(1) + ".");
            }
            if (ruling.approved()) {
                return h.result(ruling);
            }
            h.refused();
            return results.notRun(c.id, Status.DENIED, Tier.L4, findings, deniedMessage(ruling), granted)
                .withApproval(approvalInfo(ruling), null, deniedMessage(ruling));
        }
        return needsApproval(c, decision, findings, granted, null);
    }

    /** The answer for a held call nobody can be asked about in the call: request_approval waits for the operator. */
    private CallResult needsApproval(CallContext c, Decision decision, List<Finding> findings, Limits granted, String why) {
        long left = Math.max(0, Duration.between(clock.instant(), approvals.find(c.id).map(p -> p.request().expires())
                .orElse(clock.instant())).toSeconds());
        return results.notRun(c.id, Status.NEEDS_APPROVAL, Tier.L4, findings, decision.reason()
                + (why == null ? "" : " " + why) + " It waits for a person as execution " + c.id
                + ": call request_approval with this execution_id to wait for the decision (an operator answers on the "
                + "/operator page or with `warden approvals approve " + c.id + "`); it expires in "
                + (why == null ? approvals.timeout().toSeconds() : left) + " s.", granted);
    }

    /** request_approval with an execution_id: waits for the decision on a held call of this session. */
    ApprovalResult awaitHeld(Caller caller, String id) {
        Held h = held.get(id);
        Optional<ApprovalService.Pending> p = approvals.find(id);
        if (h == null || p.isEmpty() || !h.request.session().equals(caller.sessionId())) {
            return ApprovalResult.refused(null, "No held call with execution_id \"" + CallAudit.clip(id, 80)
                    + "\" in this session: pass the execution_id of a call of this session that returned needs_approval.", null);
        }
        Ruling r = await(p.get(), caller.progress(), false);
        if (!r.approved()) {
            h.refused();
        }
        CallResult ran = r.approved() ? h.result(r) : null;
        return decisionResult(id, r, ran);
    }

    /** request_approval with an action: asks a person about something the agent wants to do. */
    ApprovalResult askAction(Caller caller, String id, ApprovalCall call) {
        Optional<RateLimits.Refusal> wait = rates.check(caller.identity(), null)
                .or(() -> rates.check(caller.identity(), Tier.L4.name()));
        if (wait.isPresent()) {
            long ms = wait.get().retryAfterMs();
            return ApprovalResult.refused(null, Results.rateLimitedMessage(
                    wait.get().reasonOr("this client asks for approvals faster than its rate allows"), ms), ms);
        }
        Instant now = clock.instant();
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
        // an action the client could not ask about waits here for the operator either way
        return decisionResult(id, await(pending.get(), caller.progress(), false), null);
    }

    /**
     * Waits for the decision, reporting progress; the expiry timer guarantees it comes. With
     * {@code untilHandedOver}, also stops (null) when the client's answer left the call to the operator.
     */
    private Ruling await(ApprovalService.Pending p, Caller.Progress progress, boolean untilHandedOver) {
        long total = Math.max(1, Duration.between(p.request().created(), p.request().expires()).toSeconds());
        java.util.concurrent.CompletableFuture<?> either = untilHandedOver
                ? java.util.concurrent.CompletableFuture.anyOf(p.ruling(), p.handedOver()) : p.ruling();
        for (;;) {
            try {
                either.get(2, TimeUnit.SECONDS);
                Ruling r = p.ruling().getNow(null);
                if (r != null || !untilHandedOver) {
                    return r == null ? p.ruling().get() : r;
                }
                return null;
            }
            catch (TimeoutException e) {
                long left = Math.max(0, Duration.between(clock.instant(), p.request().expires()).toSeconds());
                progress.report(total - left, "waiting for a person to approve or deny execution "
                        + p.request().id() + " (" + left + " s left)");
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Ruling.deny(null, Channel.POLICY, "the call was interrupted while it waited");
            }
            catch (ExecutionException e) {
                return Ruling.deny(null, Channel.POLICY, "the approval failed inside Warden");
            }
        }
    }

    private static ApprovalResult decisionResult(String id, Ruling r, CallResult ran) {
        String message = switch (r.verdict()) {
            case APPROVED -> ran == null ? "Approved by " + r.approver() + " (" + r.channel() + ")."
                    : "Approved by " + r.approver() + " (" + r.channel() + "); the held call ran and its result is in `result`.";
            case DENIED -> deniedMessage(r);
            case EXPIRED -> "Expired: " + r.note() + ".";
        };
        return new ApprovalResult(r.verdict(), r.approver(), r.decidedAt().toString(), id, r.scope(), r.channel().wire(), ran,
                null, message);
    }

    static String deniedMessage(Ruling r) {
        return (r.verdict() == Verdict.EXPIRED ? "Denied: " : "Denied by " + (r.approver() == null ? "Warden" : r.approver())
                + " (" + r.channel() + "): ") + (r.note() == null ? "a person said no" : r.note()) + ".";
    }

    static Map<String, Object> approvalInfo(Ruling r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("decision", r.verdict().wire());
        m.put("approver", r.approver());
        m.put("channel", r.channel().wire());
        m.put("scope", r.scope().wire());
        m.put("decided_at", r.decidedAt().toString());
        return m;
    }
}
