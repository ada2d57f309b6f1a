package dev.warden.mcp;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.function.LongSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * How the replicas' requests to each other are authenticated: HMAC-SHA256, keyed with
 * {@code fleet.secret}, of the request's time (epoch milliseconds) and its body. The receiver
 * refuses a time outside a small window (replayed or badly skewed), compares the signature in
 * constant time, and accepts each signature once (a request replayed within the window is refused;
 * senders put a random nonce in each body). The secret never travels; neither does a client's token
 * (only its fingerprint).
 */
final class FleetAuth {

    static final String TIME = "Warden-Fleet-Time";
    static final String SIGNATURE = "Warden-Fleet-Signature";
    static final String FROM = "Warden-Fleet-From";
    /** How far the sender's clock may be from the receiver's. */
    static final long WINDOW_MS = 30_000;

    private final byte[] key;
    private final LongSupplier clock;
    /** Signatures accepted within the window, with their time: each is accepted once. */
    private final java.util.concurrent.ConcurrentHashMap<String, Long> seen = new java.util.concurrent.ConcurrentHashMap<>();

    FleetAuth(String secret, LongSupplier clock) {
        if (secret == null || secret.length() < 16) {
            throw new IllegalArgumentException("fleet.secret must be set (16 or more characters) to route between replicas");
        }
        this.key = secret.getBytes(StandardCharsets.UTF_8);
        this.clock = clock;
    }

    long now() {
        return clock.getAsLong();
    }

    String sign(long timeMs, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(Long.toString(timeMs).getBytes(StandardCharsets.US_ASCII));
            mac.update((byte) '\n');
            mac.update(body);
            return HexFormat.of().formatHex(mac.doFinal());
        }
        catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether {@code signature} signs {@code body} at {@code time}, and that time is within the window. */
    boolean verify(String time, String signature, byte[] body) {
        if (time == null || signature == null) {
            return false;
        }
        long t;
        try {
            t = Long.parseLong(time.strip());
        }
        catch (NumberFormatException e) {
            return false;
        }
        if (Math.abs(clock.getAsLong() - t) > WINDOW_MS) {
            return false;
        }
        String given = signature.strip().toLowerCase(java.util.Locale.ROOT);
        byte[] expected = sign(t, body).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.US_ASCII))) {
            return false;
        }
        long now = clock.getAsLong();
        seen.values().removeIf(at -> Math.abs(now - at) > WINDOW_MS);
        return seen.putIfAbsent(given, t) == null;
    }
}
