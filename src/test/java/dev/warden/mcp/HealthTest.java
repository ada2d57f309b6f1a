package dev.warden.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The probes as a kubelet or a load balancer sees them, mounted as HttpTransport mounts them: /healthz answers
 * while the process serves; /readyz is 503 until the server says it is ready, then follows its check, and its
 * answer is one line whatever the check says.
 */
class HealthTest {

    private final HttpClient http = HttpClient.newHttpClient();
    private final Health health = new Health();
    private Server jetty;
    private String base;

    @BeforeEach
    void start() throws Exception {
        jetty = new Server();
        ServerConnector c = new ServerConnector(jetty);
        c.setHost("127.0.0.1");
        c.setPort(0);
        jetty.addConnector(c);
        ServletContextHandler ctx = new ServletContextHandler();
        ServletHolder h = new ServletHolder("health", health);
        ctx.addServlet(h, "/healthz");
        ctx.addServlet(h, "/readyz");
        jetty.setHandler(ctx);
        jetty.start();
        base = "http://127.0.0.1:" + c.getLocalPort();
    }

    @AfterEach
    void stop() throws Exception {
        jetty.stop();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void livenessAnswersOkWithoutATokenEvenBeforeReady() throws Exception {
        HttpResponse<String> r = get("/healthz");
        assertEquals(200, r.statusCode());
        assertEquals("ok\n", r.body());
        assertEquals("no-store", r.headers().firstValue("Cache-Control").orElse(""));
    }

    @Test
    void readinessIs503StartingUntilTheServerSaysItIsReady() throws Exception {
        HttpResponse<String> r = get("/readyz");
        assertEquals(503, r.statusCode());
        assertEquals("not ready: starting\n", r.body());
        health.ready(Health.Readiness.SERVING);
        r = get("/readyz");
        assertEquals(200, r.statusCode());
        assertEquals("ready\n", r.body());
    }

    @Test
    void readinessFollowsTheCheckBothWays() throws Exception {
        AtomicReference<String> why = new AtomicReference<>("Redis unreachable");
        health.ready(why::get);
        HttpResponse<String> r = get("/readyz");
        assertEquals(503, r.statusCode());
        assertEquals("not ready: Redis unreachable\n", r.body());
        why.set(null);
        assertEquals(200, get("/readyz").statusCode());
        why.set("stopping");
        r = get("/readyz");
        assertEquals(503, r.statusCode());
        assertEquals("not ready: stopping\n", r.body());
        assertEquals(200, get("/healthz").statusCode(), "a stopping server still lives");
    }

    @Test
    void aReasonIsOneShortLineAndACheckThatThrowsIsNotReady() throws Exception {
        health.ready(() -> "PostgreSQL unreachable\n\tat org.postgresql.Driver.connect\n" + "x".repeat(500));
        HttpResponse<String> r = get("/readyz");
        assertEquals(503, r.statusCode());
        String body = r.body();
        assertEquals(1, body.split("\n").length);
        assertFalse(body.contains("\t"));
        assertEquals(true, body.length() <= "not ready: ".length() + 201);
        health.ready(() -> {
            throw new IllegalStateException("jdbc:postgresql://db:5432/warden?password=hunter2");
        });
        r = get("/readyz");
        assertEquals(503, r.statusCode());
        assertEquals("not ready: readiness check failed\n", r.body(), "the exception's text never reaches the probe");
    }

    @Test
    void aSharedServiceOutOfReachIsDegradedNotUnready() throws Exception {
        AtomicReference<String> lacking = new AtomicReference<>("Redis unreachable");
        health.degraded(lacking::get);
        health.ready(Health.Readiness.SERVING);
        HttpResponse<String> r = get("/readyz");
        assertEquals(200, r.statusCode(), "still takes calls: each is refused with the reason");
        assertEquals("ready, degraded: Redis unreachable\n", r.body());
        lacking.set(null);
        assertEquals("ready\n", get("/readyz").body());
        health.degraded(() -> {
            throw new IllegalStateException("redis://secret-host:6379");
        });
        assertEquals("ready, degraded: a check of the fleet's services failed\n", get("/readyz").body());
        health.ready(() -> "stopping");
        assertEquals("not ready: stopping\n", get("/readyz").body(), "stopping wins over degraded");
    }
}
