package dev.warden;

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
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The operator's command line, for a running server: {@code approvals list|approve ID|deny ID},
 * {@code executions list|stop ID}, {@code kill-switch on|off}. It talks to the server's operator API
 * with the operator token; the address and token come from --url/--token, WARDEN_OPERATOR_URL and
 * WARDEN_OPERATOR_TOKEN, or the state file the server wrote at start-up (0600, readable by the
 * user who started it).
 */
final class OperatorCli {

    static final Set<String> COMMANDS = Set.of("approvals", "executions", "kill-switch");

    static final String USAGE = """
        usage: java -jar warden.jar approvals list
               java -jar warden.jar approvals approve ID [--session]
               java -jar warden.jar approvals deny ID
               java -jar warden.jar executions list
               java -jar warden.jar executions stop ID
               java -jar warden.jar kill-switch on|off
        options: --url URL (the server's /operator address), --token TOKEN (the operator token),
                 --state FILE (where the server wrote both; default ~/.local/state/warden/operator.json),
                 --as NAME (recorded as the approver; default $USER)
        exit status: 0 done, 1 refused by the server (unknown id, already decided, ...), 2 usage or connection error
        """;

    private static final ObjectMapper json = new ObjectMapper();

    private OperatorCli() {
    }

    static Path defaultState() {
        return Path.of(System.getProperty("user.home"), ".local", "state", "warden", "operator.json");
    }

    /** Written by the server at start-up: where its console is and the token (0600). */
    static void remember(Path state, String url, String token) {
        try {
            Files.createDirectories(state.toAbsolutePath().getParent());
            Path tmp = state.resolveSibling(state.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("url", url);
            m.put("token", token);
            m.put("pid", ProcessHandle.current().pid());
            Files.write(tmp, json.writeValueAsBytes(m), StandardOpenOption.TRUNCATE_EXISTING);
            Files.move(tmp, state, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(OperatorCli.class).warn("could not write {}: {}", state, e.getMessage());
        }
    }

    /** Removed at exit, if it is still this server's. */
    static void forget(Path state) {
        try {
            Map<String, Object> m = json.readValue(state.toFile(), new TypeReference<Map<String, Object>>() {
            });
            if (String.valueOf(ProcessHandle.current().pid()).equals(String.valueOf(m.get("pid")))) {
                Files.deleteIfExists(state);
            }
        }
        catch (IOException ignored) {
            // not there, or another server's: leave it
        }
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        List<String> words = new ArrayList<>();
        String url = System.getenv("WARDEN_OPERATOR_URL");
        String token = System.getenv("WARDEN_OPERATOR_TOKEN");
        String as = System.getenv("USER");
        Path state = defaultState();
        boolean session = false;
        try {
            for (int i = 0; i < argv.length; i++) {
                switch (argv[i]) {
                    case "--url" -> url = argv[++i];
                    case "--token" -> token = argv[++i];
                    case "--state" -> state = Path.of(argv[++i]);
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
        if ((url == null || token == null) && Files.isRegularFile(state)) {
            try {
                Map<String, Object> m = json.readValue(state.toFile(), new TypeReference<Map<String, Object>>() {
                });
                url = url == null ? (String) m.get("url") : url;
                token = token == null ? (String) m.get("token") : token;
            }
            catch (IOException e) {
                err.println("warden: cannot read " + state + ": " + e.getMessage());
                return 2;
            }
        }
        if (url == null || token == null) {
            err.println("warden: no running server found: pass --url and --token, or set WARDEN_OPERATOR_URL and "
                    + "WARDEN_OPERATOR_TOKEN (the server writes both to " + state + " when it starts)");
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
                case "approvals approve" -> id == null ? usage(err) : post(base + "/api/approvals/" + id + "/approve"
                        + (session ? "?scope=session" : ""), token, by, out, err);
                case "approvals deny" -> id == null ? usage(err) : post(base + "/api/approvals/" + id + "/deny", token, by,
                        out, err);
                case "executions stop" -> id == null ? usage(err) : post(base + "/api/executions/" + id + "/stop", token, by,
                        out, err);
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
        if (items.isEmpty()) {
            out.println(which.equals("pending") ? "no pending approvals" : "no running executions");
        }
        StringBuilder b = new StringBuilder();
        for (Map<String, Object> p : items) {
            if (which.equals("pending")) {
                b.append(pending(p));
            }
            else {
                b.append(field(p, "execution_id")).append("  ").append(field(p, "tool")).append("  ").append(field(p, "tier"))
                    .append("  since ").append(field(p, "started")).append('\n')
                    .append(box("the command (secrets redacted, as in results)", AgentText.of(String.valueOf(p.get("subject"))),
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
        b.append("  tier ").append(field(p, "tier")).append("  expires ").append(field(p, "expires")).append('\n');
        b.append("    client: ").append(field(p, "client")).append('\n');
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
