package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.Ruling;
import dev.warden.audit.AuditLog;
import dev.warden.call.Channel;
import dev.warden.config.WardenConfig;
import dev.warden.sanitize.Sanitizer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WebhookTest {

    private static final String SECRET = "0123456789abcdef-secret";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private HttpServer receiver;
    private AuditLog audit;

    @AfterEach
    void close() throws Exception {
        if (receiver != null) {
            receiver.stop(0);
        }
        if (audit != null) {
            audit.close();
        }
    }

    /** The value Python's hmac computes for the same key, timestamp and body: the scheme as documented. */
    @Test
    void theSignatureIsHmacSha256OverTimestampDotBody() {
        byte[] body = "{\"event\":\"kill_switch\"}".getBytes(StandardCharsets.UTF_8);
        assertEquals("sha256=a3078b5cf9b145922b41e42121cccf5f8e77d1fecbe4c1cb7b5be05907c2468b",
                Webhook.signature(SECRET.getBytes(StandardCharsets.UTF_8), 1_700_000_000L, body));
    }

    @Test
    void aReceiverAcceptsTheSignedBodyOnlyAndRefusesTamperingAndStaleTimestamps() {
        byte[] key = SECRET.getBytes(StandardCharsets.UTF_8);
        byte[] body = "{\"event\":\"approval_pending\"}".getBytes(StandardCharsets.UTF_8);
        Instant now = Instant.ofEpochSecond(1_700_000_100L);
        String sig = Webhook.signature(key, 1_700_000_000L, body);
        Duration fiveMinutes = Duration.ofMinutes(5);
        assertTrue(Webhook.verify(key, "1700000000", body, sig, fiveMinutes, now));
        assertFalse(Webhook.verify(key, "1700000000", "{\"event\":\"approval_decided\"}".getBytes(StandardCharsets.UTF_8),
                sig, fiveMinutes, now), "another body");
        assertFalse(Webhook.verify(key, "1700000001", body, sig, fiveMinutes, now), "another timestamp");
        assertFalse(Webhook.verify("another-secret-of-16".getBytes(StandardCharsets.UTF_8), "1700000000", body, sig,
                fiveMinutes, now), "another key");
        assertFalse(Webhook.verify(key, "1700000000", body, sig, fiveMinutes, now.plusSeconds(3600)), "a replay, an hour on");
        assertFalse(Webhook.verify(key, "17e8", body, sig, fiveMinutes, now), "not a number");
        assertFalse(Webhook.verify(key, "1700000000", body, null, fiveMinutes, now));
    }

    /** A receiver that fails first is retried; the delivery is signed, audited, and carries no secret of the agent's. */
    @Test
    void aDeliveryIsRetriedSignedAndAudited() throws Exception {
        BlockingQueue<Map<String, Object>> got = new LinkedBlockingQueue<>();
        AtomicInteger calls = new AtomicInteger();
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            int n = calls.incrementAndGet();
            got.add(Map.of("body", new String(body, StandardCharsets.UTF_8), "event", ex.getRequestHeaders().getFirst("Warden-Event"),
                    "ok", Webhook.verify(SECRET.getBytes(StandardCharsets.UTF_8), ex.getRequestHeaders().getFirst("Warden-Timestamp"),
                            body, ex.getRequestHeaders().getFirst("Warden-Signature"), Duration.ofMinutes(5), Instant.now())));
            ex.sendResponseHeaders(n == 1 ? 503 : 204, -1);
            ex.close();
        });
        receiver.start();
        audit = new AuditLog(dir.resolve("audit.jsonl"), false, JSON);
        String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
        Webhook hook = new Webhook(new WardenConfig.Webhook(url, SECRET, List.of("approval_decided"), 2000, 2), SECRET,
                "http-1", "https://warden.example.org/operator", audit,
                new Sanitizer(List.of("hunter2-the-password"), Map.of()), JSON, 50);
        try {
            Instant now = Instant.now();
            ApprovalRequest r = new ApprovalRequest("ex_0123456789abcdef0123", "session-1", "codex/1", "run_command",
                    "curl -u me:hunter2-the-password https://x", null, "", "L2", List.of(), List.of("network.tool"), "held",
                    now, now.plusSeconds(50));
            hook.opened(r); // not one of its events
            hook.decided(r, Ruling.approve(dev.warden.approval.Scope.ONCE, "alice", Channel.CLI));
            Map<String, Object> first = got.poll(10, TimeUnit.SECONDS);
            Map<String, Object> second = got.poll(10, TimeUnit.SECONDS);
            assertTrue(first != null && second != null, "two attempts");
            assertEquals("approval_decided", second.get("event"));
            assertEquals(true, second.get("ok"), "the signature verifies");
            JsonNode body = JSON.readTree((String) second.get("body"));
            assertEquals("approval_decided", body.get("event").asText());
            assertEquals("approved", body.at("/approval/decision").asText());
            assertEquals("cli", body.at("/approval/channel").asText());
            assertEquals("https://warden.example.org/operator?approval=ex_0123456789abcdef0123#approval-ex_0123456789abcdef0123",
                    body.at("/approval/url").asText());
            assertFalse(((String) second.get("body")).contains("hunter2-the-password"), "the agent's text travels redacted");
            assertEquals(null, got.poll(300, TimeUnit.MILLISECONDS), "approval_pending is not subscribed");
            String line = waitForLine(dir.resolve("audit.jsonl"), "\"type\":\"webhook\"");
            JsonNode a = JSON.readTree(line);
            assertEquals("delivered", a.get("outcome").asText());
            assertEquals(2, a.get("attempts").asInt());
            assertEquals(204, a.get("http_status").asInt());
            assertFalse(line.contains("/hook"), "the receiver's path (a secret in chat webhooks) is not written");
        }
        finally {
            hook.close();
        }
    }

    @Test
    void aReceiverThatNeverAnswersWellIsAFailureAuditedAfterTheRetries() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/", ex -> {
            ex.getResponseHeaders().add("Location", "http://127.0.0.1:1/elsewhere");
            ex.sendResponseHeaders(302, -1);
            ex.close();
        });
        receiver.start();
        audit = new AuditLog(dir.resolve("audit.jsonl"), false, JSON);
        Webhook hook = new Webhook(new WardenConfig.Webhook("http://127.0.0.1:" + receiver.getAddress().getPort() + "/",
                SECRET, WardenConfig.Webhook.EVENTS, 1000, 1), SECRET, "http-1", "", audit, new Sanitizer(List.of(), Map.of()),
                JSON, 20);
        try {
            long t0 = System.nanoTime();
            hook.killSwitch(true, "alice");
            assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(200), "sending never blocks the caller");
            JsonNode a = JSON.readTree(waitForLine(dir.resolve("audit.jsonl"), "\"type\":\"webhook\""));
            assertEquals("failed", a.get("outcome").asText());
            assertEquals("kill_switch", a.get("event").asText());
            assertEquals(2, a.get("attempts").asInt(), "one retry");
            assertEquals(302, a.get("http_status").asInt(), "a redirect is not followed");
        }
        finally {
            hook.close();
        }
    }

    private static String waitForLine(Path file, String containing) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (Files.exists(file)) {
                for (String l : Files.readAllLines(file)) {
                    if (l.contains(containing)) {
                        return l;
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no line with " + containing + " in " + file);
    }
}
