package dev.warden.pipeline;

import dev.warden.call.Tier;
import dev.warden.exec.Limits;
import dev.warden.policy.Decision;
import dev.warden.policy.Finding;
import dev.warden.session.Workspace;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One call's state on its way through the pipeline: who asked, its id, what the audit will show of
 * its arguments, and what the steps found out so far (workspace, limits, decision, findings, tier).
 * The steps read and set it instead of passing the same ten values from one method to the next.
 * Belongs to the thread that handles the call; a held call gets a copy of its own
 * ({@link #approved}) for the run a person approves.
 */
final class CallContext {

    /** The call as a person sees it when asked to approve, and as the operator sees it running. */
    record Subject(String tool, String text, String language, String cwd, Long askedTimeoutMs) {
    }

    final String id;
    final Caller caller;
    final String tool;
    final Map<String, Object> auditArgs;
    final long startNanos;

    private Workspace workspace;
    private Limits limits;
    private Decision decision;
    private List<Finding> findings = List.of();
    private Subject subject;
    private Tier tier;
    private NetworkGate.Asked asked = NetworkGate.Asked.NONE;
    private dev.warden.approval.Ruling ruling;
    private dev.warden.egress.NetworkReport networkReport;
    /** How the run's sandbox was started (Usage.start: L2's cold, warm_sandbox, warm_interpreter), or null. */
    private String sandboxStart;
    /** The held call's own context this approved copy was made from: it writes the audit line. */
    private CallContext parent;
    /** Asked to run in the background: answered at once with status running. */
    private boolean background;
    /** Asked to run as a cell of the session's kernel of that name (null: a one-off run). */
    private Kernels.Ask kernel;

    CallContext(String id, Caller caller, String tool, Map<String, Object> auditArgs, Limits defaults) {
        this.id = id;
        this.caller = caller;
        this.tool = tool;
        this.auditArgs = auditArgs;
        this.limits = defaults;
        this.startNanos = System.nanoTime();
    }

    /** A held call's own context for the run a person approved: its tier, limits and findings from now on. */
    CallContext approved(Tier runTier, Limits runLimits, List<Finding> runFindings) {
        CallContext c = new CallContext(id, caller, tool, auditArgs, runLimits);
        c.workspace = workspace;
        c.decision = decision;
        c.findings = List.copyOf(runFindings);
        c.subject = subject;
        c.tier = runTier;
        c.asked = asked;
        c.parent = this;
        c.background = background;
        c.kernel = kernel;
        return c;
    }

    Kernels.Ask kernel() {
        return kernel;
    }

    void kernel(Kernels.Ask ask) {
        kernel = ask;
    }

    boolean background() {
        return background;
    }

    void background(boolean b) {
        background = b;
    }

    Workspace workspace() {
        return workspace;
    }

    Workspace workspace(Workspace ws) {
        this.workspace = ws;
        return ws;
    }

    Limits limits() {
        return limits;
    }

    Limits limits(Limits granted) {
        this.limits = granted;
        return granted;
    }

    Decision decision() {
        return decision;
    }

    /** The policy's decision, with what else was found about the call (its environment, say). */
    void decided(Decision d, List<Finding> more) {
        this.decision = d;
        this.tier = d.tier();
        this.findings = concat(d.findings(), more);
    }

    List<Finding> findings() {
        return findings;
    }

    void found(Finding f) {
        findings = concat(findings, List.of(f));
    }

    Subject subject() {
        return subject;
    }

    void subject(Subject s) {
        this.subject = s;
    }

    Tier tier() {
        return tier;
    }

    void tier(Tier t) {
        this.tier = t;
    }

    /** What the call's network input asked for beyond the policy (and a person must approve). */
    NetworkGate.Asked asked() {
        return asked;
    }

    void asked(NetworkGate.Asked a) {
        this.asked = a;
    }

    /** The approval the run goes ahead under, null when it needed none. */
    dev.warden.approval.Ruling ruling() {
        return ruling;
    }

    void ruling(dev.warden.approval.Ruling r) {
        this.ruling = r;
    }

    /** What the run did on the network, null unless it ran in a tier with egress. */
    String sandboxStart() {
        return sandboxStart;
    }

    /** The run ended: how its sandbox was started, for the audit line (the held call's own context writes it). */
    void ran(dev.warden.exec.ExecOutcome o) {
        this.sandboxStart = o.usage() == null ? null : o.usage().start();
        if (parent != null) {
            parent.ran(o);
        }
    }

    dev.warden.egress.NetworkReport networkReport() {
        return networkReport;
    }

    void networkReport(dev.warden.egress.NetworkReport r) {
        this.networkReport = r;
        if (parent != null) {
            parent.networkReport(r);
        }
    }

    long elapsedMs() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    static List<Finding> concat(List<Finding> a, List<Finding> b) {
        if (b.isEmpty()) {
            return a;
        }
        List<Finding> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
