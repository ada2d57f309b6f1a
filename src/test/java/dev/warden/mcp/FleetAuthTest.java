package dev.warden.mcp;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The replicas' HMAC: the right secret, the same body, a time within the window; nothing else. */
class FleetAuthTest {

    private static final String SECRET = "a-fleet-secret-of-32-characters!";
    private static final byte[] BODY = "{\"tool\":\"get_execution\"}".getBytes(StandardCharsets.UTF_8);

    @Test
    void aSignatureOfTheSameSecretBodyAndRecentTimeIsAccepted() {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        FleetAuth sender = new FleetAuth(SECRET, now::get);
        FleetAuth receiver = new FleetAuth(SECRET, now::get);
        long t = now.get();
        String sig = sender.sign(t, BODY);
        assertTrue(new FleetAuth(SECRET, now::get).verify(Long.toString(t), sig.toUpperCase(java.util.Locale.ROOT), BODY),
                "hex in either case");
        now.addAndGet(FleetAuth.WINDOW_MS - 1);
        assertTrue(receiver.verify(Long.toString(t), sig, BODY), "within the window");
    }

    @Test
    void aSignatureIsAcceptedOnceWithinTheWindow() {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        FleetAuth receiver = new FleetAuth(SECRET, now::get);
        long t = now.get();
        String sig = new FleetAuth(SECRET, now::get).sign(t, BODY);
        assertTrue(receiver.verify(Long.toString(t), sig, BODY));
        now.addAndGet(1000);
        assertFalse(receiver.verify(Long.toString(t), sig, BODY), "the same request again: a replay");
        String next = new FleetAuth(SECRET, now::get).sign(now.get(), BODY);
        assertTrue(receiver.verify(Long.toString(now.get()), next, BODY), "a new request (another time) is fine");
    }

    @Test
    void anythingElseIsRefused() {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        FleetAuth receiver = new FleetAuth(SECRET, now::get);
        long t = now.get();
        String sig = new FleetAuth(SECRET, now::get).sign(t, BODY);
        assertFalse(receiver.verify(Long.toString(t), new FleetAuth(SECRET + "x", now::get).sign(t, BODY), BODY),
                "another secret");
        assertFalse(receiver.verify(Long.toString(t), sig, "{\"tool\":\"stop_execution\"}".getBytes(StandardCharsets.UTF_8)),
                "another body");
        assertFalse(receiver.verify(Long.toString(t + 1), sig, BODY), "another time");
        assertFalse(receiver.verify(null, sig, BODY));
        assertFalse(receiver.verify(Long.toString(t), null, BODY));
        assertFalse(receiver.verify("soon", sig, BODY));
        now.addAndGet(FleetAuth.WINDOW_MS + 1);
        assertFalse(receiver.verify(Long.toString(t), sig, BODY), "replayed after the window");
        now.set(t - FleetAuth.WINDOW_MS - 1);
        assertFalse(receiver.verify(Long.toString(t), sig, BODY), "from too far in the future");
    }

    @Test
    void aShortOrMissingSecretIsAStartFailure() {
        assertThrows(IllegalArgumentException.class, () -> new FleetAuth("", System::currentTimeMillis));
        assertThrows(IllegalArgumentException.class, () -> new FleetAuth("short", System::currentTimeMillis));
    }
}
