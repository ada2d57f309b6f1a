package dev.warden.operator;

import dev.warden.call.Channel;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.Scope;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The operator's JSON API at /operator/api, for the CLI and scripts: {@code GET state} (held calls,
 * recent decisions, running executions, the sessions' kernels, the kill switch), {@code GET version},
 * {@code POST approvals/ID/approve[?scope=session]}, {@code approvals/ID/deny},
 * {@code executions/ID/stop}, {@code kernels/ID/end}, {@code kill-switch?on=true|false}. Every call
 * needs the operator token as a bearer token, except that the page's own script may read (GET) with
 * its login cookie.
 * {@code X-Warden-Operator: NAME} is recorded as the approver, {@code X-Warden-Channel: cli} as the
 * channel. Answers are {@code {"ok", "message"}} with an HTTP status, or the state.
 */
public final class OperatorApiServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    private static final Pattern APPROVAL = Pattern.compile("/approvals/([^/]{1,100})/(approve|deny)");
    private static final Pattern STOP = Pattern.compile("/executions/([^/]{1,100})/stop");
    private static final Pattern END_KERNEL = Pattern.compile("/kernels/([^/]{1,100})/end");
    private static final Pattern NAME = Pattern.compile("[\\w.@+-]{1,64}");

    private final transient OperatorConsole console;
    private final transient OperatorAuth auth;
    private final transient ObjectMapper json;

    public OperatorApiServlet(OperatorConsole console, OperatorAuth auth, ObjectMapper json) {
        this.console = console;
        this.auth = auth;
        this.json = json;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
        OperatorAuth.hardened(res);
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        String method = req.getMethod();
        boolean bearer = auth.bearer(req.getHeader("Authorization"));
        // the page's own script reads the state with its cookie; every change needs the bearer token
        boolean readByPage = "GET".equals(method) && auth.cookie(req);
        if (!bearer && !readByPage) {
            res.setHeader("WWW-Authenticate", "Bearer realm=\"warden-operator\"");
            answer(res, new OperatorConsole.Answer(401, "the operator token is required (Authorization: Bearer …); "
                    + "client tokens do not open the operator API"));
            return;
        }
        if ("GET".equals(method) && path.equals("/state")) {
            write(res, 200, console.state());
            return;
        }
        if ("GET".equals(method) && path.equals("/version")) {
            write(res, 200, Map.of("version", console.version()));
            return;
        }
        if (!"POST".equals(method)) {
            answer(res, new OperatorConsole.Answer(path.startsWith("/state") ? 405 : 404, "no such operator API call"));
            return;
        }
        String by = req.getHeader("X-Warden-Operator");
        by = by != null && NAME.matcher(by).matches() ? by : "operator";
        Channel channel = "cli".equals(req.getHeader("X-Warden-Channel")) ? Channel.CLI : Channel.API;
        Matcher m = APPROVAL.matcher(path);
        if (m.matches()) {
            String id = m.group(1);
            answer(res, m.group(2).equals("approve")
                    ? console.approve(id, "session".equals(req.getParameter("scope")) ? Scope.SESSION : Scope.ONCE, by, channel)
                    : console.deny(id, by, channel));
            return;
        }
        m = STOP.matcher(path);
        if (m.matches()) {
            answer(res, console.stop(m.group(1), by));
            return;
        }
        m = END_KERNEL.matcher(path);
        if (m.matches()) {
            answer(res, console.endKernel(m.group(1), by));
            return;
        }
        if (path.equals("/kill-switch")) {
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
}
