package dev.warden.operator;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.Scope;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The operator console at /operator: a server-rendered page for a browser (login with the operator
 * token, which becomes an HttpOnly SameSite=Strict cookie; every form also carries a CSRF token and
 * is refused from a foreign Origin), and a JSON API at /operator/api for the CLI (bearer operator
 * token). Client tokens never open it. Everything an agent wrote (commands, code, reasons) is
 * HTML-escaped, shown exact (never redacted or cut) with invisible characters as escapes, and a
 * strict Content-Security-Policy allows only this page's own script.
 */
public final class OperatorServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    private static final String COOKIE = "warden_operator";
    private static final Pattern API_APPROVAL = Pattern.compile("/api/approvals/([^/]{1,100})/(approve|deny)");
    private static final Pattern API_STOP = Pattern.compile("/api/executions/([^/]{1,100})/stop");
    private static final Pattern NAME = Pattern.compile("[\\w.@+-]{1,64}");

    private final transient OperatorConsole console;
    private final transient ObjectMapper json;
    private final byte[] token;
    private final String cookieValue;
    private final String csrf;

    public OperatorServlet(OperatorConsole console, String operatorToken, ObjectMapper json) {
        this.console = console;
        this.json = json;
        this.token = operatorToken.getBytes(StandardCharsets.UTF_8);
        this.cookieValue = hmac(operatorToken, "warden-operator-cookie");
        this.csrf = hmac(operatorToken, "warden-operator-csrf");
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
        res.setHeader("Cache-Control", "no-store");
        res.setHeader("X-Content-Type-Options", "nosniff");
        res.setHeader("X-Frame-Options", "DENY");
        // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on form posts
        res.setHeader("Referrer-Policy", "same-origin");
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        String method = req.getMethod();
        if (path.startsWith("/api/")) {
            api(req, res, path, method);
            return;
        }
        if (!"GET".equals(method) && !"POST".equals(method)) {
            res.sendError(405);
            return;
        }
        if ("POST".equals(method) && !sameOrigin(req)) {
            page(res, 403, "Refused: the form came from another origin.", false);
            return;
        }
        if (path.equals("/login") && "POST".equals(method)) {
            String given = req.getParameter("token");
            if (given == null || !MessageDigest.isEqual(token, given.strip().getBytes(StandardCharsets.UTF_8))) {
                page(res, 401, "That is not the operator token.", false);
                return;
            }
            res.addHeader("Set-Cookie", COOKIE + "=" + cookieValue + "; Path=/operator; HttpOnly; SameSite=Strict");
            redirect(res, null);
            return;
        }
        if (!cookieOk(req)) {
            page(res, path.isEmpty() || path.equals("/") ? 200 : 401, path.isEmpty() || path.equals("/") ? null
                    : "Log in with the operator token first.", false);
            return;
        }
        if ("GET".equals(method)) {
            if (path.isEmpty() || path.equals("/")) {
                page(res, 200, req.getParameter("m"), true);
            }
            else {
                res.sendError(404);
            }
            return;
        }
        if (!MessageDigest.isEqual(csrf.getBytes(StandardCharsets.UTF_8),
                String.valueOf(req.getParameter("csrf")).getBytes(StandardCharsets.UTF_8))) {
            page(res, 403, "Refused: the form's CSRF token is missing or wrong; reload the page.", true);
            return;
        }
        String id = req.getParameter("id");
        OperatorConsole.Answer a = switch (path) {
            case "/approve" -> console.approve(id, "session".equals(req.getParameter("scope")) ? Scope.SESSION : Scope.ONCE,
                    "operator", "operator");
            case "/deny" -> console.deny(id, "operator", "operator");
            case "/stop" -> console.stop(id, "operator");
            case "/kill-switch" -> console.killSwitch("on".equals(req.getParameter("on")), "operator");
            case "/logout" -> {
                res.addHeader("Set-Cookie", COOKIE + "=; Path=/operator; HttpOnly; SameSite=Strict; Max-Age=0");
                yield new OperatorConsole.Answer(200, "logged out");
            }
            default -> new OperatorConsole.Answer(404, "no such action");
        };
        redirect(res, a.message());
    }

    // ---- JSON API (bearer operator token) ---------------------------------------------------

    private void api(HttpServletRequest req, HttpServletResponse res, String path, String method) throws IOException {
        boolean bearer = bearerOk(req.getHeader("Authorization"));
        // the page's own script reads the state with its cookie; every change needs the bearer token
        boolean readByPage = "GET".equals(method) && cookieOk(req);
        if (!bearer && !readByPage) {
            res.setHeader("WWW-Authenticate", "Bearer realm=\"warden-operator\"");
            answer(res, new OperatorConsole.Answer(401, "the operator token is required (Authorization: Bearer …); "
                    + "client tokens do not open the operator API"));
            return;
        }
        if ("GET".equals(method) && path.equals("/api/state")) {
            write(res, 200, console.state());
            return;
        }
        if ("GET".equals(method) && path.equals("/api/version")) {
            write(res, 200, Map.of("version", version()));
            return;
        }
        if (!"POST".equals(method)) {
            answer(res, new OperatorConsole.Answer(path.startsWith("/api/state") ? 405 : 404, "no such operator API call"));
            return;
        }
        String by = req.getHeader("X-Warden-Operator");
        by = by != null && NAME.matcher(by).matches() ? by : "operator";
        String channel = "cli".equals(req.getHeader("X-Warden-Channel")) ? "cli" : "api";
        Matcher m = API_APPROVAL.matcher(path);
        if (m.matches()) {
            String id = m.group(1);
            answer(res, m.group(2).equals("approve")
                    ? console.approve(id, "session".equals(req.getParameter("scope")) ? Scope.SESSION : Scope.ONCE, by, channel)
                    : console.deny(id, by, channel));
            return;
        }
        m = API_STOP.matcher(path);
        if (m.matches()) {
            answer(res, console.stop(m.group(1), by));
            return;
        }
        if (path.equals("/api/kill-switch")) {
            String on = req.getParameter("on");
            if (!"true".equals(on) && !"false".equals(on)) {
                answer(res, new OperatorConsole.Answer(400, "kill-switch needs on=true or on=false"));
                return;
            }
            answer(res, console.killSwitch(on.equals("true"), by));
            return;
        }
        answer(res, new OperatorConsole.Answer(404, "no such operator API call"));
    }

    private void answer(HttpServletResponse res, OperatorConsole.Answer a) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("ok", a.ok());
        body.put("message", a.message());
        write(res, a.code(), body);
    }

    private void write(HttpServletResponse res, int status, Object body) throws IOException {
        res.setStatus(status);
        res.setContentType("application/json");
        res.setCharacterEncoding("UTF-8");
        res.getOutputStream().write(json.writeValueAsBytes(body));
    }

    /** Changes whenever anything the page shows changes: the page reloads itself only then. */
    private String version() {
        try {
            return Integer.toHexString(json.writeValueAsString(console.state()).hashCode());
        }
        catch (IOException e) {
            return "0";
        }
    }

    // ---- the page --------------------------------------------------------------------------

    private void page(HttpServletResponse res, int status, String message, boolean loggedIn) throws IOException {
        byte[] n = new byte[12];
        new SecureRandom().nextBytes(n);
        String nonce = HexFormat.of().formatHex(n);
        res.setHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"
                + nonce + "'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
        res.setStatus(status);
        res.setContentType("text/html");
        res.setCharacterEncoding("UTF-8");
        StringBuilder h = new StringBuilder(8192);
        h.append("<!doctype html><html lang=en><head><meta charset=utf-8><title>Warden operator</title>")
            .append("<meta name=viewport content='width=device-width, initial-scale=1'><style>")
            .append("body{font:14px system-ui,sans-serif;margin:1.5em;max-width:72em;color:#222}")
            .append("h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}")
            .append("table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.4em;")
            .append("text-align:left;vertical-align:top}pre{white-space:pre-wrap;word-break:break-all;margin:0;")
            .append("background:#f6f6f6;padding:.4em;max-height:16em;overflow:auto}form{display:inline}")
            .append("button{margin:.1em;padding:.3em .8em;cursor:pointer}.approve{background:#dfd}.deny{background:#fdd}")
            .append(".msg{background:#ffd;padding:.5em;border:1px solid #ee9}.on{color:#b00;font-weight:bold}")
            .append(".muted{color:#777}pre.agent{max-height:none;border-left:3px solid #99c}ul.notes{margin:.3em 0;padding-left:1.2em}")
            .append(".notes .secret{color:#900;font-weight:bold}</style></head><body><h1>Warden operator</h1>");
        if (message != null && !message.isBlank()) {
            h.append("<p class=msg role=status id=message>").append(esc(message)).append("</p>");
        }
        if (!loggedIn) {
            h.append("<form method=post action='/operator/login'><label>Operator token ")
                .append("<input type=password name=token id=token autocomplete=off required></label> ")
                .append("<button type=submit id=login>Log in</button></form></body></html>");
            res.getOutputStream().write(h.toString().getBytes(StandardCharsets.UTF_8));
            return;
        }
        Map<String, Object> s = console.state();
        @SuppressWarnings("unchecked")
        Map<String, Object> ks = (Map<String, Object>) s.get("kill_switch");
        boolean halted = Boolean.TRUE.equals(ks.get("on"));
        h.append("<h2>Kill switch</h2><p id=kill-state>");
        if (halted) {
            h.append("<span class=on>ON</span> since ").append(esc(ks.get("since"))).append(" (").append(esc(ks.get("by")))
                .append("): nothing runs. ").append(form("/kill-switch", "on", "off", "Turn off", "kill-off", ""));
        }
        else {
            h.append("off. ").append(form("/kill-switch", "on", "on", "Stop everything and refuse new executions",
                    "kill-on", "deny"));
        }
        h.append("</p><h2>Pending approvals</h2>");
        List<Map<String, Object>> pending = list(s.get("pending"));
        if (pending.isEmpty()) {
            h.append("<p class=muted id=no-pending>Nothing waits for approval.</p>");
        }
        else {
            h.append("<table id=pending><tr><th>Call</th><th>What</th><th>Why held</th><th>Decide</th></tr>");
            for (Map<String, Object> p : pending) {
                String id = String.valueOf(p.get("execution_id"));
                h.append("<tr data-id='").append(esc(id)).append("'><td><code>").append(esc(id)).append("</code><br>")
                    .append(esc(p.get("kind"))).append(p.get("language") == null ? "" : " (" + esc(p.get("language")) + ")")
                    .append("<br><span class=muted>").append(esc(p.get("client"))).append("<br>expires ")
                    .append(esc(p.get("expires"))).append("</span></td><td class=what>");
                // Warden's fields first; the agent's text last, exact, in its own <pre> (escaped, so it
                // cannot close it), with the notes on it: size, likely secrets, invisible characters
                if (p.get("cwd") != null) {
                    h.append("in <code>").append(esc(p.get("cwd"))).append("</code>, ");
                }
                h.append("runs at tier ").append(esc(p.get("tier"))).append(" once approved")
                    .append(agentText(p.get("subject_notes"), p.get("subject_display"), "subject")).append("</td><td>");
                if (p.get("reason_display") != null) {
                    h.append("the agent's reason:").append(agentText(p.get("reason_notes"), p.get("reason_display"), "reason"));
                }
                else {
                    h.append(esc(p.get("reason")));
                }
                for (Map<String, Object> f : list(p.get("findings"))) {
                    h.append("<br><span class=muted>").append(esc(f.get("rule"))).append(": ").append(esc(f.get("detail")))
                        .append("</span>");
                }
                h.append("</td><td>")
                    .append(form("/approve", "scope", "once", "Approve once", "approve-" + id, "approve", "id", id))
                    .append(form("/approve", "scope", "session", "Approve for session", "approve-session-" + id, "approve",
                            "id", id))
                    .append(form("/deny", "scope", "once", "Deny", "deny-" + id, "deny", "id", id))
                    .append("</td></tr>");
            }
            h.append("</table>");
        }
        h.append("<h2>Running executions (").append(esc(s.get("queued"))).append(" queued)</h2>");
        List<Map<String, Object>> running = list(s.get("running"));
        if (running.isEmpty()) {
            h.append("<p class=muted id=no-running>Nothing is running.</p>");
        }
        else {
            h.append("<table id=running><tr><th>Call</th><th>What</th><th>Since</th><th></th></tr>");
            for (Map<String, Object> r : running) {
                String id = String.valueOf(r.get("execution_id"));
                h.append("<tr data-id='").append(esc(id)).append("'><td><code>").append(esc(id)).append("</code><br>")
                    .append(esc(r.get("tool"))).append(", ").append(esc(r.get("tier"))).append("</td><td><pre>")
                    .append(esc(r.get("subject_display"))).append("</pre></td><td>").append(esc(r.get("started"))).append("</td><td>")
                    .append(form("/stop", "scope", "once", "Stop", "stop-" + id, "deny", "id", id)).append("</td></tr>");
            }
            h.append("</table>");
        }
        h.append("<h2>Recent decisions</h2>");
        List<Map<String, Object>> recent = list(s.get("recent"));
        if (recent.isEmpty()) {
            h.append("<p class=muted>None yet.</p>");
        }
        else {
            h.append("<table id=recent><tr><th>Call</th><th>What</th><th>Decision</th></tr>");
            for (Map<String, Object> r : recent) {
                h.append("<tr data-id='").append(esc(r.get("execution_id"))).append("'><td><code>")
                    .append(esc(r.get("execution_id"))).append("</code></td><td><pre class=agent>")
                    .append(esc(r.get("subject_display"))).append("</pre></td><td class=decision>").append(esc(r.get("decision"))).append(" (")
                    .append(esc(r.get("scope"))).append(") by ").append(esc(r.get("approver") == null ? "Warden" : r.get("approver")))
                    .append(" via ").append(esc(r.get("channel"))).append("<br><span class=muted>")
                    .append(esc(r.get("decided_at"))).append(r.get("note") == null ? "" : ": " + esc(r.get("note")))
                    .append("</span></td></tr>");
            }
            h.append("</table>");
        }
        h.append("<p>").append(form("/logout", "scope", "once", "Log out", "logout", "")).append("</p>");
        // reload only when what the page shows has changed, so a click is never lost to a refresh
        h.append("<script nonce='").append(nonce).append("'>(function(){var v='").append(version())
            .append("';setInterval(function(){fetch('/operator/api/version',{credentials:'same-origin'})")
            .append(".then(function(r){return r.json()}).then(function(j){if(j.version!==v){location.replace('/operator')}})")
            .append(".catch(function(){})},1500)})()</script></body></html>");
        res.getOutputStream().write(h.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The notes on a text of the agent's (a likely secret stands out), then the text itself. */
    private static String agentText(Object notes, Object display, String cls) {
        StringBuilder b = new StringBuilder("<ul class=notes>");
        for (Object n : notes instanceof List<?> l ? l : List.of()) {
            String note = String.valueOf(n);
            b.append(note.startsWith("contains what looks like a secret") ? "<li class=secret>" : "<li>").append(esc(note))
                .append("</li>");
        }
        return b.append("</ul><pre class='agent ").append(cls).append("'>").append(esc(display)).append("</pre>").toString();
    }

    private String form(String action, String key, String value, String label, String buttonId, String cls,
            String... hidden) {
        StringBuilder f = new StringBuilder("<form method=post action='/operator").append(action).append("'>")
            .append("<input type=hidden name=csrf value='").append(csrf).append("'>")
            .append("<input type=hidden name='").append(esc(key)).append("' value='").append(esc(value)).append("'>");
        for (int i = 0; i + 1 < hidden.length; i += 2) {
            f.append("<input type=hidden name='").append(esc(hidden[i])).append("' value='").append(esc(hidden[i + 1]))
                .append("'>");
        }
        return f.append("<button type=submit class='").append(cls).append("' id='").append(esc(buttonId)).append("'>")
            .append(esc(label)).append("</button></form>").toString();
    }

    private static void redirect(HttpServletResponse res, String message) throws IOException {
        res.setStatus(303);
        res.setHeader("Location", message == null ? "/operator"
                : "/operator?m=" + URLEncoder.encode(message, StandardCharsets.UTF_8));
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object o) {
        return o instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
    }

    static String esc(Object o) {
        if (o == null) {
            return "";
        }
        String s = String.valueOf(o);
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    // ---- auth ------------------------------------------------------------------------------

    private boolean bearerOk(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return MessageDigest.isEqual(token, header.substring(7).strip().getBytes(StandardCharsets.UTF_8));
    }

    private boolean cookieOk(HttpServletRequest req) {
        String header = req.getHeader("Cookie");
        if (header == null) {
            return false;
        }
        for (String part : header.split(";")) {
            String p = part.strip();
            if (p.startsWith(COOKIE + "=") && MessageDigest.isEqual(cookieValue.getBytes(StandardCharsets.UTF_8),
                    p.substring(COOKIE.length() + 1).getBytes(StandardCharsets.UTF_8))) {
                return true;
            }
        }
        return false;
    }

    /** A form post from a page of another origin is refused (with SameSite=Strict and the CSRF token, a third lock). */
    private static boolean sameOrigin(HttpServletRequest req) {
        String origin = req.getHeader("Origin");
        if (origin == null) {
            return true; // not a browser's cross-site form; the cookie and the CSRF token still decide
        }
        String host = req.getHeader("Host");
        return host != null && (origin.equals("http://" + host) || origin.equals("https://" + host));
    }

    private static String hmac(String key, String what) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(what.getBytes(StandardCharsets.UTF_8)));
        }
        catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException(e);
        }
    }
}
