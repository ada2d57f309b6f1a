package dev.warden.mcp;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET /healthz} and {@code GET /readyz}, for a load balancer or a kubelet: no token, and nothing in
 * them but a status and one line, so a probe that anyone on the network can send learns nothing (no
 * version, no replica, no host, no address of Redis or PostgreSQL).
 *
 * <p>{@code /healthz}: the process serves HTTP (200 {@code ok}); a liveness probe restarts a Warden that no
 * longer answers it. {@code /readyz}: this server takes calls now (200 {@code ready}), else 503 with the one
 * reason: still starting, or stopping. A shared service of a fleet that it cannot reach (Redis, PostgreSQL)
 * makes it degraded, not unready (200 {@code ready, degraded: Redis unreachable}): every replica shares that
 * service, so taking them all out of the balancer would only replace Warden's own clear answer to each call
 * (refused, fail closed, saying why) with the balancer's anonymous 503. It is not ready until
 * the composition root says so ({@link #ready}), so a probe between the socket opening and the rest being
 * wired is answered 503, never a premature 200.
 */
public final class Health extends HttpServlet {

    /**
     * Why this server cannot take calls now, in one line without secrets, or null when it can.
     * Called on every {@code /readyz}: it must answer at once (a fleet's check reads its last result).
     */
    @FunctionalInterface
    public interface Readiness {

        /** Ready whenever it serves: a single server. */
        Readiness SERVING = () -> null;

        String notReady();
    }

    private volatile Readiness readiness;
    private volatile Readiness degraded = Readiness.SERVING;

    /** From now on {@code /readyz} answers what {@code check} says (null: not ready, starting). */
    public void ready(Readiness check) {
        this.readiness = check;
    }

    /** What a ready server says it lacks (a shared service of its fleet), or null when it lacks nothing. */
    public void degraded(Readiness check) {
        this.degraded = check;
    }

    /** What is degraded now, one line, or null. */
    String degradedNow() {
        try {
            String why = degraded.notReady();
            return why == null ? null : oneLine(why);
        }
        catch (RuntimeException e) {
            return "a check of the fleet's services failed";
        }
    }

    /** The reason {@code /readyz} would give now, or null when ready. */
    String notReady() {
        Readiness r = readiness;
        if (r == null) {
            return "starting";
        }
        try {
            String why = r.notReady();
            return why == null ? null : oneLine(why);
        }
        catch (RuntimeException e) {
            // a check that throws is not a reason to call this server ready
            return "readiness check failed";
        }
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if ("/readyz".equals(req.getServletPath())) {
            String why = notReady();
            String lacking = why == null ? degradedNow() : null;
            answer(resp, why == null ? 200 : 503, why != null ? "not ready: " + why
                    : lacking == null ? "ready" : "ready, degraded: " + lacking);
        }
        else {
            answer(resp, 200, "ok");
        }
    }

    private static void answer(HttpServletResponse resp, int status, String line) throws IOException {
        resp.setStatus(status);
        resp.setContentType("text/plain;charset=utf-8");
        resp.setHeader("Cache-Control", "no-store");
        byte[] body = (line + "\n").getBytes(StandardCharsets.UTF_8);
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }

    /** One line of at most 200 characters: a reason is a sentence, never a stack trace or a dump. */
    static String oneLine(String s) {
        String line = s.replaceAll("[\\r\\n\\t]+", " ").strip();
        return line.length() <= 200 ? line : line.substring(0, 200);
    }
}
