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
            String approval = approval(req);
            if (approval != null) {
                // back to the entry a link (a URL-mode elicitation, a webhook) named
                res.setStatus(303);
                res.setHeader("Location", "/operator?approval=" + approval + "#approval-" + approval);
                return;
            }
            redirect(res, null);
            return;
        }
        if (!auth.cookie(req)) {
            if (home) {
                String approval = approval(req);
                show(res, 200, approval == null ? null : "Log in with the operator token to decide on " + approval + ".",
                        false, approval);
            }
            else {
                show(res, 401, "Log in with the operator token first.", false);
            }
            return;
        }
        if ("GET".equals(method)) {
            if (home) {
                String approval = approval(req);
                String m = req.getParameter("m");
                if (m == null && approval != null && console.pendingIds().stream().noneMatch(approval::equals)) {
                    m = approval + " is no longer pending: it was decided or it expired (see Recent decisions).";
                }
                show(res, 200, m, true);
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

    /**
     * The link to one approval's entry on the page at {@code base} (operator.public_url), as URL-mode
     * elicitations and the webhook send it: the id and nothing else, no token (whoever opens it logs
     * in); the page leads there after the login and says so if it is no longer pending.
     */
    public static String entryUrl(String base, String id) {
        return base + "?approval=" + id + "#approval-" + id;
    }

    /** The ?approval= (or the login form's approval) if it is an execution id Warden makes; else null. */
    private static String approval(HttpServletRequest req) {
        String a = req.getParameter("approval");
        return a != null && a.matches("ex_[0-9a-f]{20}") ? a : null;
    }

    private void show(HttpServletResponse res, int status, String message, boolean loggedIn) throws IOException {
        show(res, status, message, loggedIn, null);
    }

    private void show(HttpServletResponse res, int status, String message, boolean loggedIn, String approval)
            throws IOException {
        byte[] n = new byte[12];
        RANDOM.nextBytes(n);
        String nonce = HexFormat.of().formatHex(n);
        res.setHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"
                + nonce + "'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
        res.setStatus(status);
        res.setContentType("text/html");
        res.setCharacterEncoding("UTF-8");
        String html = loggedIn ? page.console(console.state(), message, auth.csrf(), nonce, console.version())
                : page.login(message, approval);
        res.getOutputStream().write(html.getBytes(StandardCharsets.UTF_8));
    }

    private static void redirect(HttpServletResponse res, String message) {
        res.setStatus(303);
        res.setHeader("Location", message == null ? "/operator"
                : "/operator?m=" + URLEncoder.encode(message, StandardCharsets.UTF_8));
    }
}
