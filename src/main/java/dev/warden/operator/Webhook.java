package dev.warden.operator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.AgentText;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.audit.AuditLog;
import dev.warden.config.WardenConfig;
import dev.warden.sanitize.Sanitizer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the operator's own receiver what needs them, so an approval reaches a person who is not
 * watching the page: a JSON POST per event ({@code approval_pending}, {@code approval_decided},
 * {@code kill_switch}), signed with HMAC-SHA256 over {@code TIMESTAMP + "." + BODY} in the header
 * {@code Warden-Signature: sha256=HEX}, with {@code Warden-Timestamp} (Unix seconds) so a receiver can
 * refuse a replay. Deliveries run on a thread of their own with a short timeout and a few retries
 * (1 s, 2 s, 4 s … apart; every attempt signed afresh): a receiver that is down or slow never delays
 * or fails a call, an approval or the kill switch. Each delivery's outcome (delivered, or failed and
 * why) is an audit line of type {@code webhook}; a failure is also logged. Redirects are not
 * followed (a 3xx is a failure), so a delivery never goes anywhere but the configured URL.
 *
 * <p>What an agent wrote travels redacted (as results show it), one line with invisible characters
 * escaped: the receiver may well be a chat channel. The exact text is on the operator page, which
 * {@code url} links to when {@code operator.public_url} is set; the link carries no token.
 */
public final class Webhook implements ApprovalService.Watcher, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Webhook.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Deliveries waiting at most: past it an event is dropped (and that is audited), never queued without end. */
    static final int QUEUE = 256;

    private final URI url;
    private final byte[] secret;
    private final Set<String> events;
    private final Duration timeout;
    private final int retries;
    private final String server;
    private final String publicUrl;
    private final AuditLog audit;
    private final Sanitizer sanitizer;
    private final ObjectMapper json;
    private final HttpClient http;
    private final ScheduledThreadPoolExecutor sender;
    /** The first retry's delay; later ones double. */
    private final long backoffMs;

    /**
     * @param server this server's instance id, sent with every event
     * @param publicUrl the operator page's public address, or empty: then no {@code url} in events
     */
    public Webhook(WardenConfig.Webhook config, String secret, String server, String publicUrl, AuditLog audit,
            Sanitizer sanitizer, ObjectMapper json) {
        this(config, secret, server, publicUrl, audit, sanitizer, json, 1000);
    }

    Webhook(WardenConfig.Webhook config, String secret, String server, String publicUrl, AuditLog audit,
            Sanitizer sanitizer, ObjectMapper json, long backoffMs) {
        this.url = URI.create(config.url());
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
        this.events = Set.copyOf(config.events());
        this.timeout = Duration.ofMillis(config.timeoutMs());
        this.retries = config.retries();
        this.server = server;
        this.publicUrl = publicUrl == null ? "" : publicUrl;
        this.audit = audit;
        this.sanitizer = sanitizer;
        this.json = json;
        this.backoffMs = backoffMs;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER)
            .executor(Executors.newCachedThreadPool(daemon("warden-webhook-http"))).build();
        this.sender = new ScheduledThreadPoolExecutor(1, daemon("warden-webhook"));
        sender.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /**
     * The signature of one delivery: {@code sha256=} and the lower-case hex HMAC-SHA256, keyed with the
     * secret, of the timestamp (decimal Unix seconds, as sent in {@code Warden-Timestamp}), a dot, and
     * the body's bytes exactly as sent.
     */
    public static String signature(byte[] secret, long timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update((timestamp + ".").getBytes(StandardCharsets.US_ASCII));
            return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body));
        }
        catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }

    /**
     * What a receiver does, in Java: the signature recomputed over the timestamp and body it got,
     * compared in constant time, and a timestamp more than {@code tolerance} from now refused.
     */
    public static boolean verify(byte[] secret, String timestamp, byte[] body, String signature, Duration tolerance,
            Instant now) {
        if (timestamp == null || signature == null || !timestamp.matches("[0-9]{1,12}")) {
            return false;
        }
        long ts = Long.parseLong(timestamp);
        if (Math.abs(now.getEpochSecond() - ts) > tolerance.toSeconds()) {
            return false;
        }
        return MessageDigest.isEqual(signature(secret, ts, body).getBytes(StandardCharsets.US_ASCII),
                signature.getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    public void opened(ApprovalRequest request) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("approval", approval(request));
        send("approval_pending", body);
    }

    @Override
    public void decided(ApprovalRequest request, Ruling ruling) {
        Map<String, Object> a = approval(request);
        a.put("decision", ruling.verdict().wire());
        a.put("approver", ruling.approver());
        a.put("channel", ruling.channel().wire());
        a.put("scope", ruling.scope().wire());
        a.put("decided_at", ruling.decidedAt().toString());
        a.put("note", ruling.note());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("approval", a);
        send("approval_decided", body);
    }

    /** The kill switch was turned on or off. */
    public void killSwitch(boolean on, String by) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("on", on);
        k.put("by", by);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("kill_switch", k);
        send("kill_switch", body);
    }

    private Map<String, Object> approval(ApprovalRequest r) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("execution_id", r.id());
        a.put("kind", r.kind());
        a.put("subject", AgentText.visibleLine(redact(r.subject())));
        a.put("reason", AgentText.visibleLine(redact(r.reason())));
        a.put("rules", r.rules());
        a.put("tier", r.tier());
        a.put("client", AgentText.visibleLine(r.client()));
        a.put("session", OperatorConsole.shortSession(r.session()));
        a.put("created", r.created().toString());
        a.put("expires_at", r.expires().toString());
        a.put("url", publicUrl.isEmpty() ? null : OperatorPageServlet.entryUrl(publicUrl, r.id()));
        return a;
    }

    private String redact(String s) {
        return s == null ? null : sanitizer.clean(s.getBytes(StandardCharsets.UTF_8)).text();
    }

    private void send(String event, Map<String, Object> fields) {
        if (!events.contains(event)) {
            return;
        }
        String delivery = "wh_" + HexFormat.of().formatHex(bytes(10));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("event", event);
        body.put("delivery", delivery);
        body.put("server", server);
        body.put("sent_at", Instant.now().toString());
        body.putAll(fields);
        byte[] bytes;
        try {
            bytes = json.writeValueAsBytes(body);
        }
        catch (JsonProcessingException e) {
            record(event, delivery, "failed", 0, null, "the event could not be written as JSON: " + e.getOriginalMessage());
            return;
        }
        if (sender.getQueue().size() >= QUEUE) {
            record(event, delivery, "dropped", 0, null, QUEUE + " deliveries are already waiting");
            return;
        }
        try {
            sender.execute(() -> attempt(event, delivery, bytes, 1));
        }
        catch (RejectedExecutionException e) {
            record(event, delivery, "dropped", 0, null, "Warden is shutting down");
        }
    }

    private void attempt(String event, String delivery, byte[] body, int n) {
        long ts = Instant.now().getEpochSecond();
        HttpRequest req = HttpRequest.newBuilder(url).timeout(timeout)
            .header("Content-Type", "application/json")
            .header("User-Agent", "warden-webhook")
            .header("Warden-Event", event)
            .header("Warden-Delivery", delivery)
            .header("Warden-Timestamp", Long.toString(ts))
            .header("Warden-Signature", signature(secret, ts, body))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        Integer status = null;
        String problem;
        try {
            HttpResponse<Void> res = http.send(req, HttpResponse.BodyHandlers.discarding());
            status = res.statusCode();
            if (status / 100 == 2) {
                record(event, delivery, "delivered", n, status, null);
                return;
            }
            problem = "the receiver answered HTTP " + status;
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            record(event, delivery, "failed", n, null, "Warden is shutting down");
            return;
        }
        catch (java.io.IOException | RuntimeException e) {
            problem = e instanceof java.net.http.HttpTimeoutException ? "no answer within " + timeout.toMillis() + " ms"
                    : "the request failed: " + e.getClass().getSimpleName()
                            + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")");
        }
        if (n <= retries && !sender.isShutdown()) {
            log.debug("webhook {} {}: attempt {} failed ({}); retrying", event, delivery, n, problem);
            try {
                sender.schedule(() -> attempt(event, delivery, body, n + 1), backoffMs << (n - 1), TimeUnit.MILLISECONDS);
                return;
            }
            catch (RejectedExecutionException e) {
                problem += "; not retried: Warden is shutting down";
            }
        }
        record(event, delivery, "failed", n, status, problem);
    }

    /** One audit line per delivery's outcome; a failure is logged too. */
    private void record(String event, String delivery, String outcome, int attempts, Integer status, String problem) {
        if (!"delivered".equals(outcome)) {
            log.warn("webhook {} {} to {}: {} after {} attempt(s): {}", event, delivery, receiver(), outcome, attempts,
                    problem);
        }
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", Instant.now().toString());
        line.put("type", "webhook");
        line.put("event", event);
        line.put("delivery", delivery);
        line.put("outcome", outcome);
        line.put("attempts", attempts);
        line.put("http_status", status);
        line.put("receiver", receiver());
        if (problem != null) {
            line.put("error", problem);
        }
        audit.append(line);
    }

    /** The receiver as logs and the audit name it: scheme and host only, since a path may be a secret (chat webhooks). */
    private String receiver() {
        return url.getScheme() + "://" + url.getRawAuthority();
    }

    @Override
    public void close() {
        sender.shutdownNow();
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
