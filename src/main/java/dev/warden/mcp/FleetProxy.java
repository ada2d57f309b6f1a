package dev.warden.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Enumeration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * Carries a request to the replica that owns it, and its answer back, streamed as it comes (an SSE
 * answer event by event). Chosen over a redirect: a client follows a 307 to another origin without
 * its Authorization header (fetch drops it), so a redirected MCP client would meet a 401.
 *
 * <p>It never waits on a dead replica: the owner's liveness is checked before (by the caller), the
 * connection must open within {@link #CONNECT}, and while the answer's headers are awaited the
 * owner's liveness is asked again every {@link #RECHECK}: an owner declared dead meanwhile ends the
 * wait. A killed owner's connection is reset by its kernel, which ends a streamed answer at once; an
 * owner declared dead while its answer streams (a silent one: a partition, a frozen machine) has the
 * stream ended by the same recheck, an SSE answer with the request's JSON-RPC error as its last event.
 * {@code stillLive} says false only for an owner known to be dead: a liveness that cannot be read (the
 * database out of reach) ends nothing.
 */
final class FleetProxy {

    static final Duration CONNECT = Duration.ofSeconds(2);
    static final Duration RECHECK = Duration.ofSeconds(1);
    /** Set on a forwarded request: a replica never forwards a request that was forwarded to it. */
    static final String FORWARDED_BY = "Warden-Forwarded-By";
    /** On every answer of a fleet replica: which replica answered. */
    static final String REPLICA = "Warden-Replica";
    /** On an answer proxied from the owner: the replica the request reached first (an extra hop). */
    static final String VIA = "Warden-Via";

    /** Headers that belong to one connection (and those java.net.http sets itself). */
    private static final Set<String> HOP = Set.of("connection", "keep-alive", "proxy-authenticate",
            "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
            "expect", "http2-settings");

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Watches the owners of answers being streamed (one daemon thread for all). */
    private static final ScheduledExecutorService WATCH = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fleet-proxy-watch");
        t.setDaemon(true);
        return t;
    });

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(CONNECT).version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER).build();

    /** Why a forwarded request got no answer. */
    static final class Unreachable extends Exception {

        private static final long serialVersionUID = 1L;

        Unreachable(String why) {
            super(why);
        }
    }

    /**
     * Sends {@code req} (its body already read: {@code body}) to {@code baseUrl} and writes the answer
     * to {@code res}. Throws {@link Unreachable} before anything is written when the owner cannot be
     * reached or dies before answering.
     */
    void forward(HttpServletRequest req, byte[] body, HttpServletResponse res, String baseUrl, String me,
            BooleanSupplier stillLive) throws Unreachable, IOException {
        String query = req.getQueryString();
        URI target = URI.create(strip(baseUrl) + req.getRequestURI() + (query == null ? "" : "?" + query));
        HttpRequest.Builder b = HttpRequest.newBuilder(target);
        for (Enumeration<String> names = req.getHeaderNames(); names.hasMoreElements();) {
            String name = names.nextElement();
            if (HOP.contains(name.toLowerCase(Locale.ROOT))) {
                continue;
            }
            for (Enumeration<String> values = req.getHeaders(name); values.hasMoreElements();) {
                b.header(name, values.nextElement());
            }
        }
        b.header(FORWARDED_BY, me);
        String method = req.getMethod();
        b.method(method, "POST".equals(method) || "PUT".equals(method) ? HttpRequest.BodyPublishers.ofByteArray(body)
                : HttpRequest.BodyPublishers.noBody());
        HttpResponse<InputStream> answer = await(http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream()),
                stillLive);
        try (InputStream in = answer.body()) {
            res.setStatus(answer.statusCode());
            answer.headers().map().forEach((name, values) -> {
                if (!HOP.contains(name.toLowerCase(Locale.ROOT)) && !name.startsWith(":")) {
                    res.setHeader(name, null);
                    values.forEach(v -> res.addHeader(name, v));
                }
            });
            res.setHeader(VIA, me);
            OutputStream out = res.getOutputStream();
            // an owner that goes silent mid-answer (no kernel left to reset the connection: a partition, a
            // frozen machine) is noticed by its heartbeat: the watch closes the stream, which ends the read
            AtomicBoolean ownerGone = new AtomicBoolean();
            ScheduledFuture<?> watch = WATCH.scheduleWithFixedDelay(() -> {
                if (!stillLive.getAsBoolean() && ownerGone.compareAndSet(false, true)) {
                    try {
                        in.close();
                    }
                    catch (IOException ignored) {
                        // closing is all it takes
                    }
                }
            }, RECHECK.toMillis(), RECHECK.toMillis(), TimeUnit.MILLISECONDS);
            try {
                byte[] buf = new byte[8192];
                int n;
                // flushed after each read: an SSE answer reaches the client event by event
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            }
            catch (IOException e) {
                if (!ownerGone.get()) {
                    throw e;
                }
            }
            finally {
                watch.cancel(false);
            }
            if (ownerGone.get()) {
                endSilently(answer, body, out);
            }
        }
    }

    /**
     * The owner was declared dead while its answer streamed: an SSE answer gets a last event, the
     * JSON-RPC error of the request it answers (so the client's call ends now, not at its timeout); any
     * other answer just ends.
     */
    private static void endSilently(HttpResponse<InputStream> answer, byte[] request, OutputStream out) {
        String type = answer.headers().firstValue("content-type").orElse("");
        try {
            Object id = type.startsWith("text/event-stream") ? requestId(request) : null;
            if (id != null) {
                Map<String, Object> error = Map.of("jsonrpc", "2.0", "id", id, "error", Map.of("code", -32001, "message",
                        "The replica that owned this session stopped answering in the middle of this answer (no heartbeat): "
                                + "the outcome of the call is unknown; start a new session (initialize again)"));
                out.write(("\nevent: message\ndata: " + JSON.writeValueAsString(error) + "\n\n")
                    .getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        }
        catch (IOException ignored) {
            // the client left too
        }
    }

    /** The id of a single JSON-RPC request (not a notification), else null. */
    private static Object requestId(byte[] request) {
        try {
            JsonNode n = JSON.readTree(request);
            JsonNode id = n == null ? null : n.get("id");
            if (id == null || id.isNull() || n.get("method") == null) {
                return null;
            }
            return id.isNumber() ? id.numberValue() : id.asText();
        }
        catch (IOException e) {
            return null;
        }
    }

    /** POSTs {@code body} to {@code url} and answers the owner's reply (status and body). */
    Reply post(String url, byte[] body, java.util.Map<String, String> headers, BooleanSupplier stillLive)
            throws Unreachable {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .header("Content-Type", "application/json");
        headers.forEach(b::header);
        HttpResponse<byte[]> r = await(http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofByteArray()), stillLive);
        return new Reply(r.statusCode(), r.body());
    }

    record Reply(int status, byte[] body) {
    }

    private static <T> HttpResponse<T> await(CompletableFuture<HttpResponse<T>> sent, BooleanSupplier stillLive)
            throws Unreachable {
        long checks = 0;
        while (true) {
            try {
                return sent.get(RECHECK.toMillis(), TimeUnit.MILLISECONDS);
            }
            catch (TimeoutException e) {
                checks++;
                if (!stillLive.getAsBoolean()) {
                    sent.cancel(true);
                    throw new Unreachable("it stopped answering (no heartbeat) while the request waited, after "
                            + checks + " s");
                }
            }
            catch (ExecutionException e) {
                Throwable c = e.getCause() == null ? e : e.getCause();
                throw new Unreachable(c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage()));
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                sent.cancel(true);
                throw new Unreachable("interrupted");
            }
        }
    }

    private static String strip(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
