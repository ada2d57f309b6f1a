package dev.warden.pipeline;

import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.Ruling;
import dev.warden.audit.AuditLog;
import dev.warden.call.CallMeter;
import dev.warden.call.Status;
import dev.warden.call.Tier;
import dev.warden.contract.ApprovalResult;
import dev.warden.contract.CallResult;
import dev.warden.limit.ExecutionIndex;
import dev.warden.policy.Severity;
import dev.warden.sanitize.Sanitizer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The audit record of each call, written before its answer leaves (the last step of every call,
 * whatever happened before), and the fail-closed check: while the log cannot be written, nothing runs.
 * Each call's line is also where the call is counted ({@link CallMeter}): one place, the same facts.
 */
final class CallAudit {

    static final int TEXT_MAX = 4096;

    private final AuditLog audit;
    private final Sanitizer sanitizer;
    private final Clock clock;
    private volatile CallMeter meter = CallMeter.NONE;
    private volatile ExecutionIndex index = ExecutionIndex.NONE;

    CallAudit(AuditLog audit, Sanitizer sanitizer, Clock clock) {
        this.audit = audit;
        this.sanitizer = sanitizer;
        this.clock = clock;
    }

    /**
     * Fail closed: while the audit log cannot be written (and audit.fail_closed is on), the refusal
     * a call gets instead of running unaudited; empty while it can be written.
     */
    Optional<String> down() {
        if (!audit.failClosed()) {
            return Optional.empty();
        }
        return audit.unwritable().map(why -> "It did not run: the audit log cannot be written ("
                + sanitizer.message(why) + "); Warden refuses calls rather than run them unaudited.");
    }

    void meter(CallMeter m) {
        meter = m;
    }

    void index(ExecutionIndex i) {
        index = i;
    }

    /** The index is told each execution's final status; a failure there never touches the answer. */
    private void indexEnded(String id, Status status, String message) {
        if (id == null || status == Status.RUNNING) {
            return;
        }
        try {
            index.ended(id, status, message);
        }
        catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(CallAudit.class).warn("execution {}: the fleet's index was not told its end: {}",
                    id, e.toString());
        }
    }

    /** One line per run_command / execute_code call; what someone on call should see goes to the incident stream too. */
    void call(CallContext c, CallResult r) {
        meter.ended(c.tool, r.tier(), r.status(), System.nanoTime() - c.startNanos);
        indexEnded(r.executionId(), r.status(), r.message());
        Map<String, Object> line = head(c.caller, r.executionId(), c.tool, c.auditArgs);
        line.put("tier", r.tier());
        line.put("executor", r.executor());
        line.put("findings", r.findings());
        line.put("status", r.status());
        line.put("exit_code", r.exitCode());
        line.put("duration_ms", r.durationMs());
        line.put("total_ms", c.elapsedMs());
        line.put("usage", r.usage());
        start(line, c);
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
        artifacts(line, r);
        if (r.kernel() != null) {
            line.put("kernel", r.kernel());
        }
        boolean refused = false;
        if (c.networkReport() != null) {
            dev.warden.egress.NetworkReport n = c.networkReport();
            line.put("network", Map.of("presets", n.presets(), "connections", n.attempts()));
            refused = !n.denied().isEmpty();
        }
        boolean incident = refused || r.status() == Status.BLOCKED || r.status() == Status.KILLED
                || r.findings().stream().anyMatch(f -> f.severity() == Severity.CRITICAL);
        if (incident) {
            audit.incident(line);
        }
        else {
            audit.append(line);
        }
    }

    /**
     * How an L2 run's sandbox was started ({@code sandbox_start}: cold, warm_sandbox: pre-created up to
     * its stub, warm_interpreter: its interpreter already waiting for the code), so an operator sees
     * which calls were warm. Absent where the executor does not say (L1, L3, runs that never ran).
     */
    private static void start(Map<String, Object> line, CallContext c) {
        if (c.sandboxStart() != null) {
            line.put("sandbox_start", c.sandboxStart());
        }
    }

    /** How many files the run created or changed: the count only (up to 100 names would swell every line). */
    private static void artifacts(Map<String, Object> line, CallResult r) {
        if (r.artifacts() != null) {
            line.put("artifacts", r.artifacts().size());
            if (Boolean.TRUE.equals(r.artifactsTruncated())) {
                line.put("artifacts_truncated", true);
            }
        }
    }

    /**
     * The end of a background run: its final result, as a call's line (type {@code execution_end}),
     * written before any client can read that result. The call's own line said {@code running}.
     */
    void ended(CallContext c, CallResult r) {
        indexEnded(r.executionId(), r.status(), r.message());
        Map<String, Object> line = head(c.caller, r.executionId(), c.tool, c.auditArgs);
        line.put("type", "execution_end");
        line.put("tier", r.tier());
        line.put("executor", r.executor());
        line.put("status", r.status());
        line.put("exit_code", r.exitCode());
        line.put("duration_ms", r.durationMs());
        line.put("usage", r.usage());
        start(line, c);
        line.put("redactions", r.redactions());
        line.put("message", r.message());
        artifacts(line, r);
        if (c.networkReport() != null) {
            line.put("network", Map.of("presets", c.networkReport().presets(), "connections", c.networkReport().attempts()));
        }
        if (!r.findings().isEmpty()) {
            line.put("findings", r.findings()); // those found after the run (the project's git check)
        }
        if (r.status() == Status.KILLED || r.findings().stream().anyMatch(f -> f.severity() == Severity.CRITICAL)) {
            audit.incident(line);
        }
        else {
            audit.append(line);
        }
    }

    /** One line per read_file, write_file, list_files call: a call of its own (type {@code call}, tier L2). */
    void file(CallContext c, dev.warden.contract.FileResult r) {
        meter.ended(c.tool, "L2", r.status(), System.nanoTime() - c.startNanos);
        Map<String, Object> line = head(c.caller, r.executionId(), c.tool, c.auditArgs);
        line.put("tier", Tier.L2);
        line.put("executor", "sandbox");
        line.put("status", r.status());
        line.put("size", r.size());
        line.put("entries", r.entries() == null ? null : r.entries().size());
        line.put("redactions", r.redactions());
        line.put("total_ms", c.elapsedMs());
        line.put("message", r.message());
        audit.append(line);
    }

    /** One line per get_execution, send_input, stop_execution, list_executions call (type {@code execution}). */
    void execution(Caller caller, String tool, Map<String, Object> args, String id, Status status, String message) {
        meter.ended(tool, null, status, -1); // no tier, and these calls do not carry their start
        Map<String, Object> line = head(caller, id, tool, args);
        line.put("type", "execution");
        line.put("status", status);
        line.put("message", message);
        audit.append(line);
    }

    /** One line per request_approval call: the decision, and the held call's outcome if it ran. */
    void approval(Caller caller, Map<String, Object> args, String id, ApprovalResult r, long totalMs) {
        meter.ended("request_approval", "L4", approvalStatus(r), totalMs * 1_000_000);
        if (r.result() != null) {
            indexEnded(r.result().executionId(), r.result().status(), r.result().message());
        }
        Map<String, Object> line = head(caller, id, "request_approval", args);
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

    /**
     * request_approval's outcome as a status, for the metrics: the held call's own when it ran, ok for an
     * approval, denied for a denial or no decision in time; refused: rate_limited, invalid or failed.
     */
    private static Status approvalStatus(ApprovalResult r) {
        if (r.result() != null) {
            return r.result().status();
        }
        if (r.decision() != null) {
            return r.decision() == dev.warden.approval.Verdict.APPROVED ? Status.OK : Status.DENIED;
        }
        if (r.retryAfterMs() != null) {
            return Status.RATE_LIMITED;
        }
        return r.message() != null && r.message().startsWith("Invalid ") ? Status.INVALID : Status.FAILED;
    }

    private Map<String, Object> head(Caller caller, String id, String tool, Map<String, Object> args) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", clock.instant().toString());
        line.put("type", "call");
        line.put("execution_id", id);
        line.put("session", caller.sessionId());
        line.put("client", caller.client());
        line.put("identity", caller.identity());
        line.put("transport", caller.transport());
        line.put("tool", tool);
        line.put("arguments", redact(args));
        return line;
    }

    /** The audit line of one decision, from whichever channel (and of every expiry). */
    static Map<String, Object> decision(ApprovalRequest req, Ruling r, Sanitizer sanitizer, Clock clock) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", clock.instant().toString());
        line.put("type", "decision");
        line.put("execution_id", req.id());
        line.put("session", req.session());
        line.put("client", req.client());
        line.put("kind", req.kind());
        line.put("subject", sanitizer.clean(clip(req.subject(), TEXT_MAX).getBytes(StandardCharsets.UTF_8)).text());
        line.put("rules", req.rules());
        line.put("decision", r.verdict().wire());
        line.put("approver", r.approver());
        line.put("channel", r.channel().wire());
        line.put("scope", r.scope().wire());
        line.put("decided_at", r.decidedAt().toString());
        line.put("note", r.note());
        return line;
    }

    private Map<String, Object> redact(Map<String, Object> args) {
        Map<String, Object> out = new LinkedHashMap<>();
        args.forEach((k, v) -> out.put(k, v instanceof String s ? sanitizer.clean(s.getBytes(StandardCharsets.UTF_8)).text() : v));
        return out;
    }

    static String clip(String s, int max) {
        if (s == null) {
            return null;
        }
        return s.length() <= max ? s : s.substring(0, max) + "…";
    }
}
