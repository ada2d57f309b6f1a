package dev.warden.mcp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Which client identity each HTTP session belongs to, and how many each may hold.
 *
 * <p>A session id is a capability only together with the token that made it: a request that names
 * a session of another identity (or one that ended) gets the same answer as an unknown session, so
 * a leaked or guessed {@code Mcp-Session-Id} neither runs in another client's workspace nor ends
 * it. Live sessions are capped per identity and in all, because each may hold a workspace volume:
 * without a cap one client could reserve the whole disk allowance and leave the others none.
 */
final class SessionOwners {

    /** Why a new session is refused. */
    record Refusal(String why) {
    }

    private record Owned(String identity, long lastSeenNanos) {
    }

    private final int perIdentity;
    private final int total;
    private final boolean perIdentityCap;
    private final LongSupplier clock;
    private final Map<String, Owned> bySession = new HashMap<>();
    private final Map<String, Integer> counts = new HashMap<>();
    /** Sessions being opened: counted against the caps until the transport names them. */
    private final Map<String, Integer> opening = new HashMap<>();

    /**
     * @param perIdentityCap false when clients are not told apart (no tokens: everyone is one
     *        loopback user, whose own sessions only the total caps)
     */
    SessionOwners(int perIdentity, int total, boolean perIdentityCap, LongSupplier clock) {
        this.perIdentity = perIdentity;
        this.total = total;
        this.perIdentityCap = perIdentityCap;
        this.clock = clock;
    }

    /** Reserves room for a new session of this identity. Call {@link #opened} or {@link #abandoned} after. */
    synchronized Optional<Refusal> open(String identity) {
        int all = bySession.size() + opening.values().stream().mapToInt(Integer::intValue).sum();
        int mine = counts.getOrDefault(identity, 0) + opening.getOrDefault(identity, 0);
        if (perIdentityCap && mine >= perIdentity) {
            return Optional.of(new Refusal("this client already has " + mine + " live sessions, its limit "
                    + "(server.max_sessions_per_client); end one (DELETE /mcp with its Mcp-Session-Id) or reuse it"));
        }
        if (all >= total) {
            return Optional.of(new Refusal("Warden already serves " + all + " live sessions, its limit "
                    + "(server.max_sessions); try again when an idle one has ended"));
        }
        opening.merge(identity, 1, Integer::sum);
        return Optional.empty();
    }

    /** The reservation became the session {@code id}. */
    synchronized void opened(String identity, String id) {
        unreserve(identity);
        if (bySession.putIfAbsent(id, new Owned(identity, clock.getAsLong())) == null) {
            counts.merge(identity, 1, Integer::sum);
        }
    }

    /** The reservation made no session (the initialize failed). */
    synchronized void abandoned(String identity) {
        unreserve(identity);
    }

    private void unreserve(String identity) {
        opening.computeIfPresent(identity, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** @return true if {@code id} is a live session of this identity (and notes that it was used) */
    synchronized boolean use(String identity, String id) {
        Owned o = bySession.get(id);
        if (o == null || !o.identity().equals(identity)) {
            return false;
        }
        bySession.put(id, new Owned(identity, clock.getAsLong()));
        return true;
    }

    /** Whether {@code id} is a live session of this identity here (without noting a use). */
    synchronized boolean knows(String identity, String id) {
        Owned o = bySession.get(id);
        return o != null && o.identity().equals(identity);
    }

    /** The session ended (DELETE, end of its stream, idle). @return true if it was live */
    synchronized boolean end(String id) {
        Owned o = bySession.remove(id);
        if (o == null) {
            return false;
        }
        counts.computeIfPresent(o.identity(), (k, n) -> n <= 1 ? null : n - 1);
        return true;
    }

    /** Ends, and returns, every session not used for longer than {@code idleNanos}. */
    synchronized List<String> expire(long idleNanos) {
        long now = clock.getAsLong();
        List<String> idle = new ArrayList<>();
        bySession.forEach((id, o) -> {
            if (now - o.lastSeenNanos() > idleNanos) {
                idle.add(id);
            }
        });
        idle.forEach(this::end);
        return idle;
    }

    synchronized int live() {
        return bySession.size();
    }
}
