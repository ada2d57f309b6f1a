package dev.warden.operator;

import dev.warden.instance.Instance;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.AgentText;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The operator's command line, for a running server: {@code approvals list|approve ID|deny ID},
 * {@code executions list|stop ID}, {@code kernels list|end ID}, {@code kill-switch on|off}, and
 * {@code instances list}. It talks to the server's operator API with the operator token; the address
 * and token come from --url/--token, WARDEN_OPERATOR_URL and WARDEN_OPERATOR_TOKEN, a state file
 * (--state), or the operator.json of the running server's instance directory (0600, readable by the
 * user who started it): the only one if one runs, the one --instance names if several do.
 */
public final class OperatorCli {

    public static final Set<String> COMMANDS = Set.of("approvals", "executions", "kernels", "kill-switch", "instances");

    static final String USAGE = """
        usage: java -jar warden.jar approvals list
               java -jar warden.jar approvals approve ID [--session]
               java -jar warden.jar approvals deny ID
               java -jar warden.jar executions list
               java -jar warden.jar executions stop ID
               java -jar warden.jar kernels list
               java -jar warden.jar kernels end ID
               java -jar warden.jar kill-switch on|off
               java -jar warden.jar instances list
        options: --instance ID (which running server, when several are; see `instances list`),
                 --url URL (the server's /operator address), --token TOKEN (the operator token),
                 --state FILE (a file the server wrote both to: operator.state_file),
                 --state-dir DIR (its server.state_dir; default $XDG_STATE_HOME/warden or ~/.local/state/warden),
                 --as NAME (recorded as the approver; default $USER)
        exit status: 0 done, 1 refused by the server (unknown id, already decided, ...), 2 usage or connection error
        """;

    private static final ObjectMapper json = new ObjectMapper();

    private OperatorCli() {
    }

    /** operator.state_file, when configured (see {@link OperatorStateFile}). */
    public static void remember(Path state, Map<String, Object> instance) {
        OperatorStateFile.write(state, instance);
    }

    /** Removed at exit, if it is still this server's. */
    public static void forget(Path state) {
        OperatorStateFile.remove(state);
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) {
        List<String> words = new ArrayList<>();
        String url = System.getenv("WARDEN_OPERATOR_URL");
        String token = System.getenv("WARDEN_OPERATOR_TOKEN");
        String as = System.getenv("USER");
        Path state = null;
        Path stateDir = null;
        String instance = null;
        boolean session = false;
        try {
            for (int i = 0; i < argv.length; i++) {
                switch (argv[i]) {
                    case "--url" -> url = argv[++i];
                    case "--token" -> token = argv[++i];
                    case "--state" -> state = Path.of(argv[++i]);
                    case "--state-dir" -> stateDir = Path.of(argv[++i]);
                    case "--instance" -> instance = argv[++i];
                    case "--as" -> as = argv[++i];
                    case "--session" -> session = true;
                    case "-h", "--help" -> {
                        out.print(USAGE);
                        return 0;
                    }
                    default -> words.add(argv[i]);
                }
            }
        }
        catch (ArrayIndexOutOfBoundsException e) {
            err.println("warden: " + argv[argv.length - 1] + " needs a value");
            err.print(USAGE);
            return 2;
        }
        Path root = stateDir != null ? stateDir : Instance.stateRoot(null);
        if (words.size() >= 1 && words.get(0).equals("instances")) {
            return words.size() == 2 && words.get(1).equals("list") ? instances(root, out) : usage(err);
        }
        if ((url == null || token == null) && state == null) {
            Instance.Live server = pick(root, instance, err);
            if (server == null) {
                return 2;
            }
            url = url == null ? server.url() : url;
            token = token == null ? server.token() : token;
        }
        if ((url == null || token == null) && state != null && Files.isRegularFile(state)) {
            try {
                Map<String, Object> m = OperatorStateFile.read(state);
                url = url == null ? (String) m.get("url") : url;
                token = token == null ? (String) m.get("token") : token;
            }
            catch (IOException e) {
                err.println("warden: cannot read " + state + ": " + e.getMessage());
                return 2;
            }
        }
        if (url == null || token == null) {
            err.println("warden: no running server found" + (state != null ? ": " + state + " has no console address "
                    + "and token" : "") + "; pass --url and --token, or set WARDEN_OPERATOR_URL and WARDEN_OPERATOR_TOKEN");
            return 2;
        }
        String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        String cmd = String.join(" ", words.subList(0, Math.min(2, words.size())));
        String id = words.size() > 2 ? words.get(2) : null;
        String by = as == null || as.isBlank() ? "operator" : as.replaceAll("[^\\w.@+-]", "_");
        try {
            return switch (cmd) {
                case "approvals list" -> list(base, token, out, err, "pending");
                case "executions list" -> list(base, token, out, err, "running");
                case "kernels list" -> list(base, token, out, err, "kernels");
                case "approvals approve" -> id == null ? usage(err) : post(base + "/api/approvals/" + id + "/approve"
                        + (session ? "?scope=session" : ""), token, by, out, err);
                case "approvals deny" -> id == null ? usage(err) : post(base + "/api/approvals/" + id + "/deny", token, by,
                        out, err);
                case "executions stop" -> id == null ? usage(err) : post(base + "/api/executions/" + id + "/stop", token, by,
                        out, err);
                case "kernels end" -> id == null ? usage(err) : post(base + "/api/kernels/" + id + "/end", token, by, out, err);
                case "kill-switch on", "kill-switch off" -> post(base + "/api/kill-switch?on=" + cmd.endsWith("on"), token, by,
                        out, err);
                default -> usage(err);
            };
        }
        catch (IOException | IllegalArgumentException e) {
            err.println("warden: cannot reach " + base + ": " + e.getMessage());
            return 2;
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 2;
        }
    }

    /**
     * The running server the command is for: the one --instance names, else the only one running.
     * Several and no --instance: they are listed and the operator picks; a guess could approve a
     * call on the wrong server.
     */
    private static Instance.Live pick(Path root, String id, PrintStream err) {
        List<Instance.Live> live = Instance.live(root);
        if (id != null) {
            Instance.Live named = live.stream().filter(l -> l.id().equals(id)).findFirst().orElse(null);
            if (named == null) {
                err.println("warden: no Warden instance " + id + " is running (under " + root.resolve("instances") + ")"
                        + (live.isEmpty() ? "" : "; running: " + String.join(", ", live.stream().map(Instance.Live::id)
                                .toList())));
                return null;
            }
            return console(named, err);
        }
        if (live.isEmpty()) {
            err.println("warden: no running Warden server found under " + root.resolve("instances")
                    + ": start one, or pass --url and --token (or --state-dir DIR if it uses server.state_dir)");
            return null;
        }
        if (live.size() > 1) {
            err.println("warden: " + live.size() + " Warden servers are running; say which with --instance ID:");
            table(live, err);
            return null;
        }
        return console(live.get(0), err);
    }

    private static Instance.Live console(Instance.Live l, PrintStream err) {
        if (l.url() == null || l.token() == null) {
            err.println("warden: instance " + l.id() + " (pid " + l.pid() + ") has no operator console yet, or it is "
                    + "off (operator.listen: off)");
            return null;
        }
        return l;
    }

    private static int instances(Path root, PrintStream out) {
        List<Instance.Live> live = Instance.live(root);
        if (live.isEmpty()) {
            out.println("no Warden server is running (under " + root.resolve("instances") + ")");
            return 0;
        }
        table(live, out);
        return 0;
    }

    private static void table(List<Instance.Live> live, PrintStream out) {
        String format = "%-16s %-6s %-22s %-8s %-25s %s%n";
        out.printf(format, "ID", "MCP", "ADDRESS", "PID", "STARTED", "CONSOLE");
        for (Instance.Live l : live) {
            Object address = l.state().getOrDefault("address", "-");
            out.printf(format, l.id(), l.state().getOrDefault("transport", "?"), address, l.pid(),
                    l.state().getOrDefault("started", "?"), l.url() == null ? "-" : l.url());
        }
    }

    private static int usage(PrintStream err) {
        err.print(USAGE);
        return 2;
    }

    private static int list(String base, String token, PrintStream out, PrintStream err, String which)
            throws IOException, InterruptedException {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(base + "/api/state")).GET(), token, null);
        if (r.statusCode() != 200) {
            return refused(r, err);
        }
        Map<String, Object> s = json.readValue(r.body(), new TypeReference<Map<String, Object>>() {
        });
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> items = (List<Map<String, Object>>) s.get(which);
        if (items == null) {
            err.println("warden: this server lists no " + which + " (a Warden from before them)");
            return 1;
        }
        if (items.isEmpty()) {
            out.println(switch (which) {
                case "pending" -> "no pending approvals";
                case "running" -> "no running executions";
                default -> "no live kernels";
            });
        }
        StringBuilder b = new StringBuilder();
        if (which.equals("kernels") && !items.isEmpty()) {
            b.append(kernels(items));
        }
        for (Map<String, Object> p : items) {
            if (which.equals("pending")) {
                b.append(pending(p));
            }
            else if (which.equals("running")) {
                b.append(field(p, "execution_id")).append("  ").append(field(p, "tool")).append("  ").append(field(p, "tier"))
                    .append("  since ").append(field(p, "started"))
                    .append(p.get("running_for_ms") instanceof Number n ? " (for " + Readable.span(n.longValue()) + ")" : "")
                    .append('\n');
                if (p.get("replica") != null) {
                    b.append("    replica: ").append(field(p, "replica")).append('\n');
                }
                if (p.get("client_label") != null) {
                    b.append("    client: ").append(field(p, "client_label")).append('\n');
                }
                b.append(box("the command (secrets redacted, as in results)", AgentText.of(String.valueOf(p.get("subject"))),
                        false));
            }
        }
        // UTF-8 whatever the locale: under a POSIX locale the stream's charset would print the agent's
        // non-ASCII characters (a homoglyph, say) as '?', and the person would not see what runs
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        return 0;
    }

    /**
     * One pending approval for a terminal: Warden's fields first, one per line, then the agent's text
     * exact and whole in a box whose every line starts with Warden's {@code │ } (wrapped, never cut,
     * invisible and control characters as escapes), so nothing the agent wrote reads as a field.
     */
    static String pending(Map<String, Object> p) {
        StringBuilder b = new StringBuilder();
        b.append(field(p, "execution_id")).append("  ").append(field(p, "kind"));
        if (p.get("language") != null) {
            b.append(" (").append(field(p, "language")).append(')');
        }
        b.append("  tier ").append(field(p, "tier")).append("  ").append(expiry(p)).append('\n');
        b.append("    client: ").append(field(p, p.get("client_label") != null ? "client_label" : "client")).append('\n');
        if (p.get("replica") != null) {
            b.append("    replica: ").append(field(p, "replica")).append('\n');
        }
        if (p.get("cwd") != null) {
            b.append("    working directory: ").append(field(p, "cwd")).append('\n');
        }
        boolean action = "action".equals(p.get("kind"));
        if (!action) {
            b.append("    held: ").append(field(p, "reason")).append('\n');
        }
        for (Object o : p.get("findings") instanceof List<?> l ? l : List.of()) {
            if (o instanceof Map<?, ?> f) {
                b.append("    rule ").append(AgentText.visibleLine(String.valueOf(f.get("rule")))).append(" (")
                    .append(AgentText.visibleLine(String.valueOf(f.get("severity")))).append("): ")
                    .append(AgentText.visibleLine(String.valueOf(f.get("detail")))).append('\n');
            }
        }
        String what = action ? "the action, in the agent's words" : "execute_code".equals(p.get("kind"))
                ? "the code, exactly as it will run" : "the command, exactly as it will run";
        b.append(box(what, AgentText.of(String.valueOf(p.get("subject"))), true));
        if (action && p.get("reason") != null) {
            b.append(box("its reason, in the agent's words", AgentText.of(String.valueOf(p.get("reason"))), true));
        }
        return b.toString();
    }

    /**
     * The live kernels as a table, one a line, the client (the agent's words, escaped) last so that
     * its length moves no other column: id, session, language, name, cells run, memory now, idle
     * time, busy.
     */
    static String kernels(List<Map<String, Object>> kernels) {
        String format = "%-11s %-9s %-10s %-16s %5s %11s %-12s %-4s %s%n";
        StringBuilder b = new StringBuilder(String.format(format, "ID", "SESSION", "LANGUAGE", "NAME", "CELLS", "MEMORY",
                "IDLE", "BUSY", "CLIENT"));
        for (Map<String, Object> k : kernels) {
            boolean busy = Boolean.TRUE.equals(k.get("busy"));
            b.append(String.format(format, field(k, "kernel_id"), field(k, "session"), field(k, "language"), field(k, "name"),
                    field(k, "execution_count"), Readable.memory(k), busy || !(k.get("idle_s") instanceof Number n) ? "-"
                            : Readable.span(n.longValue() * 1000), busy ? "yes" : "no", field(k, "client")));
        }
        return b.toString();
    }

    /** "expires in 4 min 12 s (at 2026-12-02 22:50:01 UTC)"; from an older server, its instant as it sent it. */
    private static String expiry(Map<String, Object> p) {
        if (p.get("expires_in_ms") instanceof Number left) {
            return Readable.expiresIn(left.longValue()) + " (at " + AgentText.visibleLine(Readable.instant(
                    p.get("expires_at") != null ? p.get("expires_at") : p.get("expires"))) + ")";
        }
        return "expires " + field(p, "expires");
    }

    /** A field of Warden's on one line, escaped again here: the CLI does not rely on the server for it. */
    private static String field(Map<String, Object> p, String key) {
        return AgentText.visibleLine(String.valueOf(p.get(key)));
    }

    /** The notes on a text of the agent's as Warden's lines, then the text in its box. */
    private static String box(String title, AgentText t, boolean notes) {
        StringBuilder b = new StringBuilder();
        for (String n : notes ? t.notes() : List.<String>of()) {
            b.append("    ").append(n.startsWith("contains what looks like a secret") ? "WARNING: " : "").append(n)
                .append('\n');
        }
        b.append("    ┌─ ").append(title).append(" (╎ continues a wrapped line)\n");
        for (String line : t.block(AgentText.WRAP)) {
            b.append("    ").append(line).append('\n');
        }
        return b.append("    └─ end of the agent's text\n").toString();
    }

    private static int post(String url, String token, String by, PrintStream out, PrintStream err)
            throws IOException, InterruptedException {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody()),
                token, by);
        if (r.statusCode() != 200) {
            return refused(r, err);
        }
        out.println(message(r));
        return 0;
    }

    private static HttpResponse<String> send(HttpRequest.Builder b, String token, String by)
            throws IOException, InterruptedException {
        b.header("Authorization", "Bearer " + token).header("X-Warden-Channel", "cli").timeout(Duration.ofSeconds(30));
        if (by != null) {
            b.header("X-Warden-Operator", by);
        }
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build().send(b.build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static int refused(HttpResponse<String> r, PrintStream err) {
        err.println("warden: " + message(r) + " (HTTP " + r.statusCode() + ")");
        return r.statusCode() == 401 ? 2 : 1;
    }

    private static String message(HttpResponse<String> r) {
        try {
            Map<String, Object> m = json.readValue(r.body(), new TypeReference<Map<String, Object>>() {
            });
            return String.valueOf(m.getOrDefault("message", r.body()));
        }
        catch (IOException e) {
            return r.body().length() > 200 ? r.body().substring(0, 200) : r.body();
        }
    }
}
