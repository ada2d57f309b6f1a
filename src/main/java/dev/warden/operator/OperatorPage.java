package dev.warden.operator;

import com.github.mustachejava.DefaultMustacheFactory;
import com.github.mustachejava.Mustache;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The operator page, rendered on the server from the template operator/page.mustache (with its
 * partial operator/agent-text.mustache) and the console's state, the same maps the JSON API returns.
 * Server-rendered rather than drawn by a script from the API: the page works without script (forms
 * post, the server redirects back), escaping happens in one place (here, for every value), and the
 * Content-Security-Policy allows only one small static script, which counts expiry down and reloads
 * the page when the state changes.
 *
 * <p>Everything the agent wrote (commands, code, reasons, its client name) is hostile: it is shown in
 * its display form (invisible and control characters as escapes, see AgentText) and HTML-escaped
 * like every other value. The template has no unescaped {@code {{{value}}}}.
 */
public final class OperatorPage {

    /** A page's view: the login form when {@code console} is null. */
    /** {@code approval}: the entry a link named (?approval=ID, validated), kept through the login. */
    public record View(String message, String csrf, String nonce, String version, Console console, String approval) {

        public View(String message, String csrf, String nonce, String version, Console console) {
            this(message, csrf, nonce, version, console, null);
        }
    }

    /** {@code replicas}: the fleet's replicas, null on a single server (the page then has no such section). */
    public record Console(KillSwitch killSwitch, List<Held> pending, List<Run> running, Object queued,
            KernelTable kernels, List<Decided> recent, ReplicaTable replicas) {
    }

    public record ReplicaTable(List<ReplicaRow> rows) {
    }

    /** A replica of the fleet and its load; {@code heartbeat} how long ago it was last heard from. */
    public record ReplicaRow(String id, String url, String state, boolean live, String heartbeat, String running,
            String pending, String sessions, boolean self) {
    }

    public record KillSwitch(boolean on, String by, String since, String sinceReadable) {
    }

    /** A held call. {@code who} names the client and the session; {@code expiresIn} is the time left. */
    public record Held(String id, String kind, String language, String who, String expiresIn, long leftMs, boolean soon,
            String expiresAt, String expiresAtReadable, String cwd, String tier, String heldFor, List<Finding> findings,
            AgentBlock subject, AgentBlock reasonText, String clientDeclined, String replica) {
    }

    public record Finding(String rule, String severity, String detail) {
    }

    /** A text of the agent's with Warden's notes on it; {@code cls} is its {@code <pre>}'s second class. */
    public record AgentBlock(String title, List<Note> notes, String text, String cls) {
    }

    public record Note(String text, boolean secret) {
    }

    public record Run(String id, String tool, String tier, String who, String subject, String started,
            String startedReadable, long forMs, String runningFor, String replica) {
    }

    /** The kernels' table; null when there is none, so the page says so instead of drawing an empty table. */
    public record KernelTable(List<KernelRow> rows) {
    }

    /**
     * One kernel: {@code memory} in MB ("not running" while its interpreter is gone and the next cell
     * would start it afresh), {@code idle} the time since its last cell counted up by the page's script
     * from {@code idleMs} (null while a cell runs).
     */
    public record KernelRow(String id, String session, String client, String name, String language, String cells,
            String memory, String idle, Long idleMs, String busy) {
    }

    public record Decided(String id, String kind, String who, String subject, String decision, String scope,
            String approver, String channel, String decidedAt, String decidedAtReadable, String note) {
    }

    private volatile Mustache page;

    /**
     * The template is compiled at the first page asked for, not at start-up: nothing on the way to a
     * server's first answer waits for it (a broken template fails the unit tests, not a start).
     */
    private Mustache template() {
        Mustache m = page;
        if (m == null) {
            synchronized (this) {
                m = page;
                if (m == null) {
                    DefaultMustacheFactory templates = new DefaultMustacheFactory("operator") {
                        @Override
                        public void encode(String value, Writer writer) {
                            try {
                                writer.write(escape(value));
                            }
                            catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        }
                    };
                    m = templates.compile("page.mustache");
                    page = m;
                }
            }
        }
        return m;
    }

    /** The login form, with a message if there is one. */
    public String login(String message) {
        return login(message, null);
    }

    /** The login form; {@code approval} (a valid execution id, or null) is where the login leads back to. */
    public String login(String message, String approval) {
        return render(new View(blankToNull(message), null, null, null, null, approval));
    }

    /** The console: the state as {@link OperatorConsole#state()} gives it. */
    public String console(Map<String, Object> state, String message, String csrf, String nonce, String version) {
        return render(new View(blankToNull(message), csrf, nonce, version, view(state)));
    }

    String render(View v) {
        StringWriter out = new StringWriter(16_384);
        template().execute(out, v);
        return out.toString();
    }

    static Console view(Map<String, Object> s) {
        Map<String, Object> ks = map(s.get("kill_switch"));
        KillSwitch kill = new KillSwitch(Boolean.TRUE.equals(ks.get("on")), str(ks.get("by")), str(ks.get("since")),
                Readable.instant(ks.get("since")));
        List<Held> pending = new ArrayList<>();
        for (Map<String, Object> p : list(s.get("pending"))) {
            long left = number(p.get("expires_in_ms"));
            String kind = str(p.get("kind"));
            boolean action = "action".equals(kind);
            List<Finding> findings = new ArrayList<>();
            for (Map<String, Object> f : list(p.get("findings"))) {
                findings.add(new Finding(str(f.get("rule")), str(f.get("severity")), str(f.get("detail"))));
            }
            AgentBlock subject = new AgentBlock(action ? "the action, in the agent's words"
                    : "execute_code".equals(kind) ? "the code, exactly as it will run" : "the command, exactly as it will run",
                    notes(p.get("subject_notes")), str(p.get("subject_display")), "subject");
            AgentBlock reason = p.get("reason_display") == null ? null : new AgentBlock("its reason, in the agent's words",
                    notes(p.get("reason_notes")), str(p.get("reason_display")), "reason");
            String expiresAt = str(p.get("expires_at") != null ? p.get("expires_at") : p.get("expires"));
            pending.add(new Held(str(p.get("execution_id")), kind, str(p.get("language")), who(p), Readable.expiresIn(left),
                    left, left < 60_000, expiresAt, Readable.instant(expiresAt), str(p.get("cwd")), str(p.get("tier")),
                    action ? null : str(p.get("reason")), findings, subject, reason, str(p.get("client_declined")),
                    str(p.get("replica"))));
        }
        List<Run> running = new ArrayList<>();
        for (Map<String, Object> r : list(s.get("running"))) {
            long since = number(r.get("running_for_ms"));
            running.add(new Run(str(r.get("execution_id")), str(r.get("tool")), str(r.get("tier")), who(r),
                    str(r.get("subject_display")), str(r.get("started")), Readable.instant(r.get("started")), since,
                    Readable.span(since), str(r.get("replica"))));
        }
        List<KernelRow> kernels = new ArrayList<>();
        for (Map<String, Object> k : list(s.get("kernels"))) {
            boolean busy = Boolean.TRUE.equals(k.get("busy"));
            long idleMs = number(k.get("idle_s")) * 1000;
            kernels.add(new KernelRow(str(k.get("kernel_id")), str(k.get("session")), str(k.get("client")),
                    str(k.get("name")), str(k.get("language")), str(k.get("execution_count")), Readable.memory(k), busy ? null
                            : Readable.span(idleMs), busy ? null : idleMs, busy ? "yes" : "no"));
        }
        List<Decided> recent = new ArrayList<>();
        for (Map<String, Object> r : list(s.get("recent"))) {
            recent.add(new Decided(str(r.get("execution_id")), str(r.get("kind")), who(r), str(r.get("subject_display")),
                    str(r.get("decision")), str(r.get("scope")), r.get("approver") == null ? "Warden" : str(r.get("approver")),
                    str(r.get("channel")), str(r.get("decided_at")), Readable.instant(r.get("decided_at")),
                    str(r.get("note"))));
        }
        ReplicaTable replicas = null;
        if (s.get("replicas") != null) {
            replicas = new ReplicaTable(new ArrayList<>());
            for (Map<String, Object> r : list(s.get("replicas"))) {
                replicas.rows().add(new ReplicaRow(str(r.get("id")), str(r.get("url")), str(r.get("state")),
                        "live".equals(r.get("state")), r.get("heartbeat_age_ms") == null ? null
                                : Readable.span(number(r.get("heartbeat_age_ms"))) + " ago",
                        str(r.get("running")), str(r.get("pending")), str(r.get("sessions")),
                        Boolean.TRUE.equals(r.get("self"))));
            }
        }
        return new Console(kill, pending, running, s.getOrDefault("queued", 0), kernels.isEmpty() ? null
                : new KernelTable(kernels), recent, replicas);
    }

    /** "name/version · session 3f2a9c1b", or what there is of it. */
    private static String who(Map<String, Object> m) {
        Object label = m.get("client_label");
        return label != null ? String.valueOf(label) : m.get("client") != null ? String.valueOf(m.get("client"))
                : "unnamed client";
    }

    private static List<Note> notes(Object notes) {
        List<Note> out = new ArrayList<>();
        for (Object n : notes instanceof List<?> l ? l : List.of()) {
            String note = String.valueOf(n);
            out.add(new Note(note, note.startsWith("contains what looks like a secret")));
        }
        return out;
    }

    /**
     * HTML-escapes text for an element or a quoted attribute: {@code & < > " '}. Every value of the
     * page goes through here (the template quotes every attribute a value goes into).
     */
    public static String escape(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            String r = switch (s.charAt(i)) {
                case '<' -> "&lt;";
                case '>' -> "&gt;";
                case '&' -> "&amp;";
                case '"' -> "&quot;";
                case '\'' -> "&#39;";
                default -> null;
            };
            if (r != null && b == null) {
                b = new StringBuilder(s.length() + 32).append(s, 0, i);
            }
            if (b != null) {
                if (r != null) {
                    b.append(r);
                }
                else {
                    b.append(s.charAt(i));
                }
            }
        }
        return b == null ? s : b.toString();
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static String str(Object o) {
        return o == null ? null : String.valueOf(o);
    }

    private static long number(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object o) {
        return o instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
    }
}
