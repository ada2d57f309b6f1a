package dev.warden.pipeline;

import dev.warden.call.Status;
import dev.warden.call.Tier;
import dev.warden.limit.ExecutionIndex;
import dev.warden.limit.Executions;
import dev.warden.limit.RateLimits;
import dev.warden.policy.Finding;
import dev.warden.policy.Severity;
import java.time.Clock;
import java.util.List;

/**
 * How much may run, asked in order: the client's rate (every call), the tier's rate, then the kill
 * switch and a fair execution place. Each either lets the call on or stops it with the answer a
 * client can act on (retry after, or why nothing runs).
 */
final class Gate {

    private final RateLimits rates;
    private final Executions executions;
    private final Results results;
    private final Clock clock;
    /** The fleet's index of executions, told of each run given a place; none on a single server. */
    private volatile ExecutionIndex index = ExecutionIndex.NONE;

    Gate(RateLimits rates, Executions executions, Results results, Clock clock) {
        this.rates = rates;
        this.executions = executions;
        this.results = results;
        this.clock = clock;
    }

    void index(ExecutionIndex index) {
        this.index = index;
    }

    /** The per-client bucket: every call of a client counts, whatever its tier. */
    void client(CallContext c) {
        rates.check(c.caller.identity(), null).ifPresent(r -> {
            throw new Stop(results.rateLimited(c.id, Tier.L2, List.of(), r.retryAfterMs(), r.reasonOr(Results.OVER_RATE)));
        });
    }

    /** The per-client bucket for a call that runs nothing (the execution tools): why not and how long to wait, if refused. */
    java.util.Optional<RateLimits.Refusal> rate(Caller caller) {
        return rates.check(caller.identity(), null);
    }

    /** The tier's bucket (L4: how fast a client may ask people). */
    void tier(CallContext c, Tier tier, String what) {
        rates.check(c.caller.identity(), tier.name()).ifPresent(r -> {
            throw new Stop(results.rateLimited(c.id, tier, c.findings(), r.retryAfterMs(), r.reasonOr(what)));
        });
    }

    /** The kill switch and the fair execution places: the ticket to hold while the run runs. */
    Executions.Ticket place(CallContext c) {
        CallContext.Subject what = c.subject();
        Executions.Running running = new Executions.Running(c.id, c.caller.sessionId(), c.caller.client(), what.tool(),
                CallAudit.clip(what.text(), 300), c.tier().name(), clock.instant(), c.caller.cancel());
        Executions.Entry entry;
        try {
            entry = executions.enter(running, c.caller.identity(), position -> c.caller.progress().report(0,
                    "queued for an execution place (" + position + " waiting)"));
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Stop(results.notRun(c.id, Status.FAILED, c.tier(), c.findings(),
                    "The call was interrupted while it waited to run.", c.limits()));
        }
        if (entry instanceof Executions.Halted h) {
            throw new Stop(results.notRun(c.id, Status.DENIED, c.tier(), CallContext.concat(c.findings(), List.of(
                    new Finding("operator.kill_switch", Severity.CRITICAL, "the kill switch was turned on by " + h.by()
                            + " at " + h.since()))),
                    "Denied: Warden's operator turned on the kill switch, so nothing runs until they turn it off.",
                    c.limits()));
        }
        if (entry instanceof Executions.Cancelled x) {
            throw new Stop(results.notRun(c.id, Status.KILLED, c.tier(), c.findings(), "It was stopped because "
                    + x.why() + ", before it started (it was waiting for an execution place).", c.limits()));
        }
        if (entry instanceof Executions.Busy b) {
            throw new Stop(results.rateLimited(c.id, c.tier(), c.findings(), b.retryAfterMs(), b.why()));
        }
        Executions.Ticket ticket = ((Executions.Admitted) entry).ticket();
        try {
            if (!c.tool.equals("run_command") && !c.tool.equals("execute_code")) {
                return ticket; // the file tools' short runs are no executions anyone asks about
            }
            index.started(new ExecutionIndex.Started(c.id, c.caller.identity(), c.caller.sessionId(), c.caller.client(),
                    what.tool(), c.tier().name(), c.background(), running.subject()));
        }
        catch (RuntimeException e) { // the index is a record for others: never a reason for this run not to run
            org.slf4j.LoggerFactory.getLogger(Gate.class).warn("execution {}: the fleet's index was not told: {}", c.id,
                    e.toString());
        }
        return ticket;
    }
}
