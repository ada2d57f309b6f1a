package dev.warden.operator;

import dev.warden.approval.AgentText;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.approval.Scope;
import dev.warden.audit.AuditLog;
import dev.warden.limit.Executions;
import dev.warden.sanitize.Sanitizer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What an operator can see and do, whatever the channel (the /operator page, its JSON API, the CLI):
 * held calls and recent decisions, running executions, approve, deny, stop, and the kill switch.
 * Every action is checked (a malformed id, an unknown one, a second decision all change nothing and
 * say why) and recorded in the audit; the kill switch is an incident.
 */
public final class OperatorConsole {

    /** Execution ids Warden makes; anything else is refused before it is looked up. */
    private static final Pattern ID = Pattern.compile("ex_[0-9a-f]{20}");

    /** How an operator action went: {@code ok}, else an HTTP-like code and one sentence. */
    public record Answer(int code, String message) {

        public boolean ok() {
            return code == 200;
        }
    }

    private final ApprovalService approvals;
    private final Executions executions;
    private final AuditLog audit;
    private final Sanitizer sanitizer;

    public OperatorConsole(ApprovalService approvals, Executions executions, AuditLog audit, Sanitizer sanitizer) {
        this.approvals = approvals;
        this.executions = executions;
        this.audit = audit;
        this.sanitizer = sanitizer;
    }

    public Answer approve(String id, Scope scope, String by, String channel) {
        return decide(id, Ruling.approve(scope, by, channel));
    }

    public Answer deny(String id, String by, String channel) {
        return decide(id, Ruling.deny(by, channel, "an operator denied it"));
    }

    private Answer decide(String id, Ruling ruling) {
        if (id == null || !ID.matcher(id).matches()) {
            return new Answer(400, "not an execution id: expected ex_ and 20 hex digits");
        }
        return switch (approvals.decide(id, ruling)) {
            case DECIDED -> new Answer(200, id + " " + ruling.verdict().wire() + " by " + ruling.approver());
            case UNKNOWN -> new Answer(404, "no pending approval " + id);
            case ALREADY_DECIDED -> new Answer(409, id + " was already decided ("
                    + approvals.find(id).flatMap(ApprovalService.Pending::decided).map(r -> r.verdict().wire()
                            + " by " + (r.approver() == null ? "Warden" : r.approver())).orElse("?")
                    + "); nothing changed");
        };
    }

    public Answer stop(String id, String by) {
        if (id == null || !ID.matcher(id).matches()) {
            return new Answer(400, "not an execution id: expected ex_ and 20 hex digits");
        }
        if (!executions.stop(id, by)) {
            return new Answer(404, "no running execution " + id);
        }
        event("operator.stop", by, Map.of("target", id));
        return new Answer(200, id + " is being stopped");
    }

    public Answer killSwitch(boolean on, String by) {
        executions.killSwitch(on, by);
        event(on ? "operator.kill_switch_on" : "operator.kill_switch_off", by, Map.of());
        return new Answer(200, on ? "kill switch on: every execution was stopped and new ones are refused"
                : "kill switch off: executions run again");
    }

    private void event(String what, String by, Map<String, Object> extra) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", Instant.now().toString());
        line.put("type", "operator");
        line.put("event", what);
        line.put("by", by);
        line.putAll(extra);
        audit.incident(line);
    }

    /**
     * The state the page and the API show, as plain maps. Approvals show the exact text (see
     * {@link #view}); running executions' commands are sanitized (secrets redacted) as in results.
     */
    public Map<String, Object> state() {
        Map<String, Object> s = new LinkedHashMap<>();
        List<Map<String, Object>> pending = new ArrayList<>();
        for (ApprovalService.Pending p : approvals.pending()) {
            pending.add(view(p.request()));
        }
        s.put("pending", pending);
        List<Map<String, Object>> recent = new ArrayList<>();
        for (ApprovalService.Pending p : approvals.recent()) {
            Map<String, Object> v = view(p.request());
            p.decided().ifPresent(r -> {
                v.put("decision", r.verdict().wire());
                v.put("approver", r.approver());
                v.put("channel", r.channel());
                v.put("scope", r.scope().wire());
                v.put("decided_at", r.decidedAt().toString());
                v.put("note", r.note());
            });
            recent.add(v);
        }
        s.put("recent", recent);
        List<Map<String, Object>> running = new ArrayList<>();
        for (Executions.Running r : executions.running()) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("execution_id", r.id());
            v.put("tool", r.tool());
            v.put("subject", clean(r.subject()));
            v.put("subject_display", AgentText.visible(String.valueOf(v.get("subject"))));
            v.put("tier", r.tier());
            v.put("client", r.client());
            v.put("started", r.started().toString());
            running.add(v);
        }
        s.put("running", running);
        s.put("queued", executions.queued());
        Executions.Halted h = executions.halted();
        s.put("kill_switch", h == null ? Map.of("on", false) : Map.of("on", true, "by", h.by(), "since", h.since().toString()));
        return s;
    }

    /**
     * One approval as every channel shows it: the exact text that runs ({@code subject}, never
     * redacted or cut) beside its display form ({@code subject_display}, invisible and control
     * characters as escapes) and the notes on it (size, likely secrets, escapes). Warden's own fields
     * are single lines with the same escapes, so nothing in them reads as two.
     */
    private Map<String, Object> view(ApprovalRequest r) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("execution_id", r.id());
        v.put("kind", r.kind());
        AgentText subject = AgentText.of(r.subject());
        v.put("subject", subject.exact());
        v.put("subject_display", subject.display());
        v.put("subject_chars", subject.chars());
        v.put("subject_lines", subject.lines());
        v.put("subject_notes", subject.notes());
        v.put("likely_secrets", subject.secrets());
        v.put("language", AgentText.visibleLine(r.language()));
        v.put("cwd", AgentText.visibleLine(r.workspaceDir()));
        v.put("tier", r.tier());
        if (r.kind().equals("action")) {
            // an action's reason is the agent's words too: exact and display, like the subject
            AgentText reason = AgentText.of(r.reason());
            v.put("reason", r.reason() == null ? null : reason.exact());
            v.put("reason_display", r.reason() == null ? null : reason.display());
            v.put("reason_notes", r.reason() == null ? List.of() : reason.notes());
        }
        else {
            v.put("reason", AgentText.visibleLine(r.reason()));
        }
        v.put("rules", r.rules());
        List<Map<String, Object>> findings = new ArrayList<>();
        r.findings().forEach(f -> findings.add(Map.of("rule", f.rule(), "severity", f.severity().name().toLowerCase(),
                "detail", AgentText.visibleLine(f.detail()))));
        v.put("findings", findings);
        v.put("client", AgentText.visibleLine(r.client()));
        v.put("created", r.created().toString());
        v.put("expires", r.expires().toString());
        return v;
    }

    private String clean(String s) {
        return s == null ? null : sanitizer.clean(s.getBytes(StandardCharsets.UTF_8)).text();
    }
}
