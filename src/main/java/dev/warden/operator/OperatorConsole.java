package dev.warden.operator;

import dev.warden.call.Channel;
import dev.warden.approval.AgentText;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.approval.Scope;
import dev.warden.audit.AuditLog;
import dev.warden.limit.Executions;
import dev.warden.sanitize.Sanitizer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * What an operator can see and do, whatever the channel (the /operator page, its JSON API, the CLI):
 * held calls and recent decisions, running executions, the sessions' kernels, approve, deny, stop, end
 * a kernel, and the kill switch. Every action is checked (a malformed id, an unknown one, a second
 * decision all change nothing and say why) and recorded in the audit; the kill switch is an incident.
 */
public final class OperatorConsole {
    /** ISO 8601 to the millisecond, always three digits (Instant.toString drops a zero fraction). */
    private static final DateTimeFormatter MILLIS_UTC =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);


    /** Execution ids Warden makes; anything else is refused before it is looked up. */
    private static final Pattern ID = Pattern.compile("ex_[0-9a-f]{20}");

    /** Kernel ids as the pipeline makes them ("k-" and a hash in hex); anything else is refused before it is looked up. */
    private static final Pattern KERNEL_ID = Pattern.compile("k-[0-9a-f]{1,8}");

    /**
     * The sessions' live kernels, as two functions rather than the pipeline that holds them (this package
     * never imports pipeline): {@code list} gives each as {id, session, client, name, language,
     * execution_count, running, busy, created_at, idle_s, memory_kb}, {@code end} ends one by its id
     * (false: there is no such kernel).
     */
    public record Kernels(Supplier<List<Map<String, Object>>> list, Predicate<String> end) {
    }

    /**
     * The other replicas of a fleet, as this console sees and acts on them (the composition root wires the
     * fleet's shared state in); none (null) on a single server, where nothing of this is shown or asked.
     */
    public interface Fleet {

        /** This replica's id. */
        String replica();

        /** Decides an approval held on another replica (404: none pending anywhere in the fleet). */
        Answer decide(String id, Ruling ruling);

        /** Stops an execution running on another replica (404: none running anywhere in the fleet). */
        Answer stop(String id, String by);

        /** Turns the switch for every replica (after this one's): null, or why the others could not be told. */
        String killSwitch(boolean on, String by);

        /** Approvals pending on the other replicas. */
        List<HeldElsewhere> pending();

        /** Executions running on the other replicas. */
        List<RunningElsewhere> running();

        /** Every replica: {id, url, state, heartbeat_age_ms, running, pending, sessions, started_at, self}. */
        List<Map<String, Object>> replicas();
    }

    /** An approval pending on another replica: shown as a local one is, with its replica. */
    public record HeldElsewhere(String replica, ApprovalRequest request) {
    }

    /** An execution running on another replica (its {@code cancel} is null: only its owner stops it). */
    public record RunningElsewhere(String replica, Executions.Running running) {
    }

    /** How an operator action went: {@code ok}, else an HTTP-like code and one sentence. */
    public record Answer(int code, String message) {

        public boolean ok() {
            return code == 200;
        }
    }

    private final ApprovalService approvals;
    private final Executions executions;
    private final Kernels kernels;
    private final AuditLog audit;
    private final Sanitizer sanitizer;
    private final Clock clock;
    private final List<java.util.function.BiConsumer<Boolean, String>> killSwitchWatchers =
            new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile Fleet fleet;

    public OperatorConsole(ApprovalService approvals, Executions executions, Kernels kernels, AuditLog audit,
            Sanitizer sanitizer) {
        this(approvals, executions, kernels, audit, sanitizer, Clock.systemUTC());
    }

    OperatorConsole(ApprovalService approvals, Executions executions, Kernels kernels, AuditLog audit, Sanitizer sanitizer,
            Clock clock) {
        this.approvals = approvals;
        this.executions = executions;
        this.kernels = kernels;
        this.audit = audit;
        this.sanitizer = sanitizer;
        this.clock = clock;
    }

    /** In a fleet: what this console shows and does reaches every replica. */
    public void fleet(Fleet f) {
        fleet = f;
    }

    public Answer approve(String id, Scope scope, String by, Channel channel) {
        return decide(id, Ruling.approve(scope, by, channel));
    }

    public Answer deny(String id, String by, Channel channel) {
        return decide(id, Ruling.deny(by, channel, "an operator denied it"));
    }

    private Answer decide(String id, Ruling ruling) {
        if (id == null || !ID.matcher(id).matches()) {
            return new Answer(400, "not an execution id: expected ex_ and 20 hex digits");
        }
        Fleet f = fleet;
        return switch (approvals.decide(id, ruling)) {
            case DECIDED -> new Answer(200, id + " " + ruling.verdict().wire() + " by " + ruling.approver());
            case UNKNOWN -> f == null ? new Answer(404, "no pending approval " + id) : decideElsewhere(f, id, ruling);
            case ALREADY_DECIDED -> new Answer(409, id + " was already decided ("
                    + approvals.find(id).flatMap(ApprovalService.Pending::decided).map(r -> r.verdict().wire()
                            + " by " + (r.approver() == null ? "Warden" : r.approver())).orElse("?")
                    + "); nothing changed");
        };
    }

    /** Held on another replica: decided in the shared state, recorded here (the holder's audit records it too). */
    private Answer decideElsewhere(Fleet f, String id, Ruling ruling) {
        Answer a = f.decide(id, ruling);
        if (a.ok()) {
            event("operator.decide_elsewhere", ruling.approver(), Map.of("target", id, "decision", ruling.verdict().wire(),
                    "channel", ruling.channel().wire()));
        }
        return a;
    }

    public Answer stop(String id, String by) {
        if (id == null || !ID.matcher(id).matches()) {
            return new Answer(400, "not an execution id: expected ex_ and 20 hex digits");
        }
        if (!executions.stop(id, by)) {
            Fleet f = fleet;
            if (f == null) {
                return new Answer(404, "no running execution " + id);
            }
            Answer a = f.stop(id, by);
            if (a.ok()) {
                event("operator.stop_elsewhere", by, Map.of("target", id));
            }
            return a;
        }
        event("operator.stop", by, Map.of("target", id));
        return new Answer(200, id + " is being stopped");
    }

    /**
     * Ends a session's kernel: its interpreter and sandbox go, with any cell running in it, and the
     * session's next cell under that name starts a fresh one. The audit line names the kernel's session
     * (whole, as the calls' lines do), name and language, since its id is only a hash of them.
     */
    public Answer endKernel(String id, String by) {
        if (id == null || !KERNEL_ID.matcher(id).matches()) {
            return new Answer(400, "not a kernel id: expected k- and 1 to 8 hex digits");
        }
        Map<String, Object> k = kernels.list().get().stream().filter(m -> id.equals(m.get("id"))).findFirst().orElse(null);
        if (k == null || !kernels.end().test(id)) {
            return new Answer(404, "no live kernel " + id);
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("target", id);
        extra.put("session", k.get("session"));
        extra.put("kernel", k.get("name"));
        extra.put("language", k.get("language"));
        event("operator.end_kernel", by, extra);
        return new Answer(200, "kernel " + id + " (" + AgentText.visibleLine((String) k.get("name")) + ", "
                + k.get("language") + ", session " + shortSession((String) k.get("session")) + ") was ended");
    }

    /** Told (after the audit) each time the kill switch is turned on or off, and by whom: the webhook. */
    public void onKillSwitch(java.util.function.BiConsumer<Boolean, String> watcher) {
        killSwitchWatchers.add(watcher);
    }

    public Answer killSwitch(boolean on, String by) {
        executions.killSwitch(on, by); // here at once, before the others are told
        Fleet f = fleet;
        String notShared = f == null ? null : f.killSwitch(on, by);
        event(on ? "operator.kill_switch_on" : "operator.kill_switch_off", by, notShared == null ? Map.of()
                : Map.of("not_shared", notShared));
        killSwitchWatchers.forEach(w -> w.accept(on, by));
        String fleetWide = f == null ? "" : notShared == null ? " on every replica" : " on this replica, but " + notShared;
        return new Answer(200, on ? "kill switch on" + fleetWide + ": every execution was stopped and new ones are refused"
                : "kill switch off" + fleetWide + ": executions run again");
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

    /** The ids of the approvals pending now (in a fleet, on every replica). */
    public List<String> pendingIds() {
        List<String> ids = new ArrayList<>(approvals.pending().stream().map(p -> p.request().id()).toList());
        Fleet f = fleet;
        if (f != null) {
            f.pending().forEach(h -> ids.add(h.request().id()));
        }
        return ids;
    }

    /**
     * The state the page and the API show, as plain maps. Approvals show the exact text (see
     * {@link #view}); running executions' commands are sanitized (secrets redacted) as in results.
     * Times are ISO-8601; what counts down or up ({@code expires_in_ms}, {@code running_for_ms}) is
     * measured now.
     */
    public Map<String, Object> state() {
        return snapshot(clock.instant());
    }

    /**
     * Changes whenever anything the page shows changes, and not as time passes (the page counts down
     * itself): the page reloads only then, so a click is never lost to a refresh.
     */
    public String version() {
        return Integer.toHexString(snapshot(null).toString().hashCode());
    }

    /** The state; with {@code now} null, without what changes as time passes. */
    private Map<String, Object> snapshot(Instant now) {
        Map<String, Object> s = new LinkedHashMap<>();
        Fleet f = fleet;
        List<Map<String, Object>> pending = new ArrayList<>();
        for (ApprovalService.Pending p : approvals.pending()) {
            Map<String, Object> v = view(p.request(), now);
            // the client answered for nobody (approvals.on_client_decline: operator): nobody but an operator will decide
            String declined = p.handedOver().getNow(null);
            if (declined != null) {
                v.put("client_declined", declined);
            }
            if (f != null) {
                v.put("replica", f.replica());
            }
            pending.add(v);
        }
        if (f != null) {
            for (HeldElsewhere h : f.pending()) {
                Map<String, Object> v = view(h.request(), now);
                v.put("replica", h.replica());
                pending.add(v);
            }
        }
        s.put("pending", pending);
        List<Map<String, Object>> recent = new ArrayList<>();
        for (ApprovalService.Pending p : approvals.recent()) {
            Map<String, Object> v = view(p.request(), null);
            p.decided().ifPresent(r -> {
                v.put("decision", r.verdict().wire());
                v.put("approver", r.approver());
                v.put("channel", r.channel().wire());
                v.put("scope", r.scope().wire());
                v.put("decided_at", r.decidedAt().toString());
                v.put("note", r.note());
            });
            recent.add(v);
        }
        s.put("recent", recent);
        List<Map<String, Object>> running = new ArrayList<>();
        List<RunningElsewhere> all = new ArrayList<>();
        executions.running().forEach(r -> all.add(new RunningElsewhere(f == null ? null : f.replica(), r)));
        if (f != null) {
            all.addAll(f.running());
        }
        for (RunningElsewhere e : all) {
            Executions.Running r = e.running();
            Map<String, Object> v = new LinkedHashMap<>();
            if (e.replica() != null) {
                v.put("replica", e.replica());
            }
            v.put("execution_id", r.id());
            v.put("tool", r.tool());
            v.put("subject", clean(r.subject()));
            v.put("subject_display", AgentText.visible(String.valueOf(v.get("subject"))));
            v.put("tier", r.tier());
            v.put("client", r.client());
            v.put("started", r.started().toString());
            who(v, r.client(), r.session());
            if (now != null) {
                v.put("running_for_ms", Math.max(0, Duration.between(r.started(), now).toMillis()));
            }
            running.add(v);
        }
        s.put("running", running);
        if (f != null) {
            s.put("replica", f.replica());
            List<Map<String, Object>> replicas = new ArrayList<>();
            for (Map<String, Object> r : f.replicas()) {
                Map<String, Object> v = new LinkedHashMap<>(r);
                if (now == null) {
                    v.remove("heartbeat_age_ms"); // changes as time passes: the page would reload at every ask
                }
                replicas.add(v);
            }
            s.put("replicas", replicas);
        }
        s.put("queued", executions.queued());
        s.put("kernels", kernels(now));
        Executions.Halted h = executions.halted();
        s.put("kill_switch", h == null ? Map.of("on", false) : Map.of("on", true, "by", h.by(), "since", h.since().toString()));
        return s;
    }

    /**
     * The live kernels: Warden's fields as the pipeline gives them, with the session short, the client
     * labelled as for executions, and the agent's words (the client's name, the kernel's) as single
     * lines with invisible characters escaped. Memory and idle time change as time passes, so they are
     * left out with {@code now} null (the page would otherwise reload every time it asks).
     */
    private List<Map<String, Object>> kernels(Instant now) {
        List<Map<String, Object>> all = new ArrayList<>();
        for (Map<String, Object> k : kernels.list().get()) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("kernel_id", k.get("id"));
            v.put("name", AgentText.visibleLine((String) k.get("name")));
            v.put("language", k.get("language"));
            v.put("client", AgentText.visibleLine((String) k.get("client")));
            who(v, (String) k.get("client"), (String) k.get("session"));
            v.put("execution_count", k.get("execution_count"));
            v.put("running", k.get("running"));
            v.put("busy", k.get("busy"));
            v.put("created_at", k.get("created_at"));
            if (now != null) {
                v.put("idle_s", k.get("idle_s"));
                v.put("memory_kb", k.get("memory_kb"));
            }
            all.add(v);
        }
        return all;
    }

    /**
     * Who asked, so that two sessions of one client can be told apart: {@code session} is a short
     * form of the session id (its first 8 characters, enough to tell sessions apart and to find the
     * session in the audit, which records it whole), {@code client_label} reads
     * "name/version · session 3f2a9c1b". Both single lines with invisible characters escaped.
     */
    private static void who(Map<String, Object> v, String client, String session) {
        String s = shortSession(session);
        v.put("session", s);
        v.put("client_label", (client == null ? "unnamed client" : AgentText.visibleLine(client))
                + (s == null ? "" : " · session " + s));
    }

    /** The first 8 characters of a session id, past an "sse-" or "sse:" of Warden's and any dash. */
    static String shortSession(String session) {
        if (session == null || session.isBlank()) {
            return null;
        }
        String s = session.startsWith("sse-") || session.startsWith("sse:") ? session.substring(4) : session;
        s = s.replace("-", "");
        s = s.isEmpty() ? session : s;
        return AgentText.visibleLine(s.length() > 8 ? s.substring(0, 8) : s);
    }

    /**
     * One approval as every channel shows it: the exact text that runs ({@code subject}, never
     * redacted or cut) beside its display form ({@code subject_display}, invisible and control
     * characters as escapes) and the notes on it (size, likely secrets, escapes). Warden's own fields
     * are single lines with the same escapes, so nothing in them reads as two. {@code expires} is the
     * instant as Java prints it (kept for older readers); {@code expires_at} is the same in ISO-8601 to
     * the millisecond and {@code expires_in_ms} the time left (pending only: a decided call no longer
     * expires).
     */
    private Map<String, Object> view(ApprovalRequest r, Instant now) {
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
        v.put("expires_at", MILLIS_UTC.format(r.expires()));
        if (now != null) {
            v.put("expires_in_ms", Math.max(0, Duration.between(now, r.expires()).toMillis()));
        }
        who(v, r.client(), r.session());
        return v;
    }

    private String clean(String s) {
        return s == null ? null : sanitizer.clean(s.getBytes(StandardCharsets.UTF_8)).text();
    }
}
