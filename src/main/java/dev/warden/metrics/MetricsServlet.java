package dev.warden.metrics;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * {@code GET /metrics}: the Prometheus text of {@link WardenMetrics}, for whoever holds the operator
 * token as a bearer token (a client token is refused like no token: 401). The operator's token, not a
 * client's, because the counts describe every client's calls.
 */
public final class MetricsServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    private final transient Supplier<WardenMetrics> metrics;
    private final transient Predicate<String> operator;

    /**
     * @param metrics the metrics, waited for if they are still being set up (they are made after start-up);
     *     null if they could not be
     * @param operator whether an {@code Authorization} header (or null) carries the operator token
     */
    public MetricsServlet(Supplier<WardenMetrics> metrics, Predicate<String> operator) {
        this.metrics = metrics;
        this.operator = operator;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
        res.setHeader("Cache-Control", "no-store");
        if (!operator.test(req.getHeader("Authorization"))) {
            res.setHeader("WWW-Authenticate", "Bearer realm=\"warden-operator\"");
            plain(res, 401, "the operator token is required (Authorization: Bearer …); client tokens do not open /metrics");
            return;
        }
        if (!"GET".equals(req.getMethod()) && !"HEAD".equals(req.getMethod())) {
            res.setHeader("Allow", "GET, HEAD");
            plain(res, 405, "GET /metrics only");
            return;
        }
        WardenMetrics m = metrics.get();
        if (m == null) {
            plain(res, 503, "metrics are off on this server (its log says why)");
            return;
        }
        res.setStatus(200);
        res.setContentType(m.contentType());
        if ("GET".equals(req.getMethod())) {
            m.write(res.getOutputStream());
        }
    }

    private static void plain(HttpServletResponse res, int status, String line) throws IOException {
        res.setStatus(status);
        res.setContentType("text/plain; charset=utf-8");
        res.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
