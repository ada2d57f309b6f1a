package dev.warden.limit;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The door every tool call passes before anything can block: a cap on the calls one client identity
 * has in flight (in the policy, in the queue, waiting for a person, running) and on all calls
 * together. A call over either cap is refused at once, so a flood from one client is answered
 * instead of piling up threads, and no client can hold every place: whatever one identity may
 * have, the others still find room. Warden's own threads carry admitted calls, never the MCP SDK's
 * workers, so a slow call of one client never delays the answer to another's.
 */
public final class CallAdmission {

    /** A call inside the door; closing it (once) lets another in. */
    public interface Permit extends AutoCloseable {
        @Override
        void close();
    }

    /** Why a call was not let in. */
    public record Refusal(long retryAfterMs, String why) {
    }

    private final int perClient;
    private final int total;
    private final Map<String, Integer> byIdentity = new HashMap<>();
    private int inFlight;
    private long refused;

    public CallAdmission(int perClient, int total) {
        if (perClient < 1 || total < perClient) {
            throw new IllegalArgumentException("need 1 <= per-client cap <= total cap, got " + perClient + " and " + total);
        }
        this.perClient = perClient;
        this.total = total;
    }

    /** @return a permit, or empty when the caller must be refused (then {@link #refusal} says why) */
    public synchronized Optional<Permit> enter(String identity) {
        int mine = byIdentity.getOrDefault(identity, 0);
        if (mine >= perClient || inFlight >= total) {
            refused++;
            return Optional.empty();
        }
        byIdentity.put(identity, mine + 1);
        inFlight++;
        return Optional.of(new Permit() {
            private boolean closed;

            @Override
            public void close() {
                synchronized (CallAdmission.this) {
                    if (!closed) {
                        closed = true;
                        leave(identity);
                    }
                }
            }
        });
    }

    /** The answer for a refused call of this identity. */
    public synchronized Refusal refusal(String identity) {
        if (byIdentity.getOrDefault(identity, 0) >= perClient) {
            return new Refusal(1000, "this client already has " + perClient
                    + " calls in flight (limits.max_calls_per_client); wait for some of them to finish");
        }
        return new Refusal(1000, "Warden already has " + total + " calls in flight from all clients (limits.max_calls)");
    }

    private void leave(String identity) {
        inFlight--;
        byIdentity.computeIfPresent(identity, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Calls refused since start because their client, or all clients, had as many in flight as allowed (the metrics). */
    public synchronized long refusals() {
        return refused;
    }

    public int total() {
        return total;
    }

    public synchronized int inFlight() {
        return inFlight;
    }
}
