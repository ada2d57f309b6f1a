package dev.warden.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.ApprovalService;
import dev.warden.audit.AuditLog;
import dev.warden.limit.Executions;
import dev.warden.operator.OperatorCli;
import dev.warden.operator.OperatorConsole;
import dev.warden.sanitize.Sanitizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sessions' kernels over the operator's HTTP surface, served as under stdio: listed in the API's
 * state, ended by {@code POST /operator/api/kernels/ID/end} with the operator token only, by the
 * page's form only with its cookie, its CSRF token and from its origin, and by the CLI.
 */
class OperatorKernelsHttpTest {

    private static final String TOKEN = "operator-kernels-token-0123456789abcdef";
    private static final String ID = "k-1a2b3c4d";

    private final ObjectMapper json = new ObjectMapper();
    private final List<Map<String, Object>> kernels = new CopyOnWriteArrayList<>();
    private final ApprovalService approvals = new ApprovalService(Duration.ofMinutes(10), (r, ruling) -> {
    });
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    private AuditLog audit;
    private HttpTransport.OperatorOnly server;
    private String base;

    @BeforeEach
    void start() throws Exception {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("id", ID);
        k.put("session", "3f2a9c1b-1111-4222-8333-444455556666");
        k.put("client", "claude-code/1.2");
        k.put("name", "main");
        k.put("language", "python");
        k.put("execution_count", 2);
        k.put("running", true);
        k.put("busy", false);
        k.put("created_at", "2026-12-02T22:40:00Z");
        k.put("idle_s", 7);
        k.put("memory_kb", 40_960);
        kernels.add(k);
        audit = new AuditLog(dir.resolve("audit.jsonl"), false, json);
        OperatorConsole console = new OperatorConsole(approvals, new Executions(2, 2, 1000), new OperatorConsole.Kernels(
                () -> new ArrayList<>(kernels), id -> kernels.removeIf(m -> m.get("id").equals(id))), audit,
                new Sanitizer(List.of(), Map.of()));
        server = HttpTransport.startOperatorOnly(new HttpTransport.Binding("127.0.0.1", 0),
                new HttpTransport.Operator(console, TOKEN), json);
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterEach
    void stop() throws Exception {
        server.stop();
        approvals.close();
        audit.close();
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return send(b.header("X-Warden-Operator", "alice"));
    }

    private Map<String, Object> body(HttpResponse<String> r) throws Exception {
        return json.readValue(r.body(), new TypeReference<Map<String, Object>>() {
        });
    }

    @Test
    @SuppressWarnings("unchecked")
    void theStateListsTheKernelsForTheOperatorTokenOnly() throws Exception {
        assertEquals(401, send(HttpRequest.newBuilder(URI.create(base + "/operator/api/state"))).statusCode());
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(base + "/operator/api/state"))
            .header("Authorization", "Bearer " + TOKEN));
        assertEquals(200, r.statusCode(), r.body());
        List<Map<String, Object>> list = (List<Map<String, Object>>) body(r).get("kernels");
        assertEquals(1, list.size(), r.body());
        assertEquals(ID, list.get(0).get("kernel_id"));
        assertEquals(40_960, list.get(0).get("memory_kb"));
        assertEquals("claude-code/1.2 · session 3f2a9c1b", list.get(0).get("client_label"));
    }

    @Test
    void theApiEndsAKernelWithTheOperatorTokenAndSaysWhyItDoesNot() throws Exception {
        HttpResponse<String> none = post("/operator/api/kernels/" + ID + "/end", null);
        assertEquals(401, none.statusCode());
        assertEquals(401, post("/operator/api/kernels/" + ID + "/end", "not-the-token").statusCode());
        assertEquals(1, kernels.size(), "nothing ended without the token");
        HttpResponse<String> bad = post("/operator/api/kernels/ex_00000000000000000001/end", TOKEN);
        assertEquals(400, bad.statusCode());
        assertEquals("not a kernel id: expected k- and 1 to 8 hex digits", body(bad).get("message"));
        HttpResponse<String> unknown = post("/operator/api/kernels/k-0badf00d/end", TOKEN);
        assertEquals(404, unknown.statusCode());
        assertEquals("no live kernel k-0badf00d", body(unknown).get("message"));
        assertEquals(404, send(HttpRequest.newBuilder(URI.create(base + "/operator/api/kernels/" + ID + "/end"))
            .header("Authorization", "Bearer " + TOKEN)).statusCode(), "a GET ends nothing");
        HttpResponse<String> ok = post("/operator/api/kernels/" + ID + "/end", TOKEN);
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals(Map.of("ok", true, "message", "kernel " + ID + " (main, python, session 3f2a9c1b) was ended"), body(ok));
        assertTrue(kernels.isEmpty());
        assertEquals(404, post("/operator/api/kernels/" + ID + "/end", TOKEN).statusCode(), "once");
    }

    @Test
    void thePagesFormEndsAKernelOnlyWithItsCsrfTokenAndFromItsOrigin() throws Exception {
        HttpResponse<String> login = send(form("/operator/login", "token=" + TOKEN, null, null));
        assertEquals(303, login.statusCode());
        String cookie = login.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
        HttpResponse<String> page = send(HttpRequest.newBuilder(URI.create(base + "/operator")).header("Cookie", cookie));
        assertTrue(page.body().contains("id=\"end-kernel-" + ID + "\""), page.body());
        Matcher csrf = Pattern.compile("name=\"csrf\" value=\"([0-9a-f]+)\"").matcher(page.body());
        assertTrue(csrf.find(), page.body());
        assertEquals(403, send(form("/operator/end-kernel", "id=" + ID, cookie, null)).statusCode(), "no CSRF token");
        assertEquals(403, send(form("/operator/end-kernel", "csrf=" + csrf.group(1) + "&id=" + ID, cookie,
                "http://evil.example")).statusCode(), "another origin");
        assertEquals(401, send(form("/operator/end-kernel", "csrf=" + csrf.group(1) + "&id=" + ID, null, null)).statusCode(),
                "no cookie");
        assertEquals(1, kernels.size(), "nothing ended by a refused form");
        HttpResponse<String> ok = send(form("/operator/end-kernel", "csrf=" + csrf.group(1) + "&id=" + ID, cookie, base));
        assertEquals(303, ok.statusCode());
        assertEquals("/operator?m=kernel " + ID + " (main, python, session 3f2a9c1b) was ended",
                URLDecoder.decode(ok.headers().firstValue("Location").orElseThrow(), StandardCharsets.UTF_8));
        assertTrue(kernels.isEmpty());
    }

    @Test
    void theCliListsTheKernelsWithTheirMemoryAndEndsOne() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] at = {"--url", base + "/operator", "--token", TOKEN, "--as", "alice"};
        assertEquals(0, cli(out, err, "kernels", "list", at), err.toString(StandardCharsets.UTF_8));
        String list = out.toString(StandardCharsets.UTF_8);
        assertTrue(list.startsWith("ID "), list);
        assertTrue(list.contains(ID + "  3f2a9c1b  python     main"), list);
        assertTrue(list.contains(" 40.0 MB 7 s "), list);
        out.reset();
        assertEquals(1, cli(out, err, "kernels", "end", at, "k-0badf00d"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("no live kernel k-0badf00d (HTTP 404)"), err.toString());
        assertEquals(0, cli(out, err, "kernels", "end", at, ID));
        assertEquals("kernel " + ID + " (main, python, session 3f2a9c1b) was ended\n", out.toString(StandardCharsets.UTF_8));
        out.reset();
        assertEquals(0, cli(out, err, "kernels", "list", at));
        assertEquals("no live kernels\n", out.toString(StandardCharsets.UTF_8));
        err.reset();
        assertEquals(2, cli(out, err, "kernels", "end", at));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("kernels end ID"), "the usage: " + err);
    }

    private static int cli(ByteArrayOutputStream out, ByteArrayOutputStream err, String word, String verb, String[] at,
            String... rest) {
        List<String> argv = new ArrayList<>(List.of(word, verb));
        argv.addAll(List.of(rest));
        argv.addAll(List.of(at));
        return OperatorCli.run(argv.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private HttpRequest.Builder form(String path, String body, String cookie, String origin) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(body));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        if (origin != null) {
            b.header("Origin", origin);
        }
        return b;
    }
}
