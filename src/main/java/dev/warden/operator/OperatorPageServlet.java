package dev.warden.operator;

import dev.warden.call.Channel;
import dev.warden.approval.Scope;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The operator page at /operator, for a browser: log in with the operator token (it becomes an
 * HttpOnly SameSite=Strict cookie), then the console ({@link OperatorPage}); its forms post to
 * /operator/approve, /deny, /stop, /end-kernel, /kill-switch and /logout, each with the page's CSRF
 * token and from this origin, and come back to the page with a message. A strict
 * Content-Security-Policy allows only the page's own script (by a nonce per answer).
 */
public final class OperatorPageServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final transient OperatorConsole console;
    private final transient OperatorAuth auth;
    private final transient OperatorPage page;

    public OperatorPageServlet(OperatorConsole console, OperatorAuth auth, OperatorPage page) {
        this.console = console;
        this.auth = auth;
        this.page = page;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
        OperatorAuth.hardened(res);
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        boolean home = path.isEmpty() || path.equals("/");
        String method = req.getMethod();
        if (!"GET".equals(method) && !"POST".equals(method)) {
            res.sendError(405);
            return;
        }
        if ("POST".equals(method) && !OperatorAuth.sameOrigin(req)) {
            show(res, 403, "Refused: the form came from another origin.", false);
            return;
        }
        if (path.equals("/login") && "POST".equals(method)) {
            if (!auth.token(req.getParameter("token"))) {
                show(res, 401, "That is not the operator token.", false);
                return;
            }
            auth.logIn(res);
            redirect(res, null);
            return;
        }
        if (!auth.cookie(req)) {
            show(res, home ? 200 : 401, home ? null : "Log in with the operator token first.", false);
            return;
        }
        if ("GET".equals(method)) {
            if (home) {
                show(res, 200, req.getParameter("m"), true);
            }
            else {
                res.sendError(404);
            }
            return;
        }
        if (!auth.csrf(req.getParameter("csrf"))) {
            show(res, 403, "Refused: the form's CSRF token is missing or wrong; reload the page.", true);
            return;
        }
        String id = req.getParameter("id");
        OperatorConsole.Answer a = switch (path) {
            case "/approve" -> console.approve(id, "session".equals(req.getParameter("scope")) ? Scope.SESSION : Scope.ONCE,
                    "operator", Channel.OPERATOR);
            case "/deny" -> console.deny(id, "operator", Channel.OPERATOR);
            case "/stop" -> console.stop(id, "operator");
            case "/end-kernel" -> console.endKernel(id, "operator");
            case "/kill-switch" -> console.killSwitch("on".equals(req.getParameter("on")), "operator");
            case "/logout" -> {
                auth.logOut(res);
                yield new OperatorConsole.Answer(200, "logged out");
            }
            default -> new OperatorConsole.Answer(404, "no such action");
        };
        redirect(res, a.message());
    }

    private void show(HttpServletResponse res, int status, String message, boolean loggedIn) throws IOException {
        byte[] n = new byte[12];
        RANDOM.nextBytes(n);
        String nonce = HexFormat.of().formatHex(n);
        res.setHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"
                + nonce + "'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
        res.setStatus(status);
        res.setContentType("text/html");
        res.setCharacterEncoding("UTF-8");
        String html = loggedIn ? page.console(console.state(), message, auth.csrf(), nonce, console.version())
                : page.login(message);
        res.getOutputStream().write(html.getBytes(StandardCharsets.UTF_8));
    }

    private static void redirect(HttpServletResponse res, String message) {
        res.setStatus(303);
        res.setHeader("Location", message == null ? "/operator"
                : "/operator?m=" + URLEncoder.encode(message, StandardCharsets.UTF_8));
    }
}
