package dev.warden.exec;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * Things started ahead of a call (a launcher waiting for its request, a sandbox, a container),
 * kept per key (a session's workspace, with its language for containers), each taken by exactly
 * one call. The one pool of every executor: it only keeps count and order; starting and destroying
 * are the executor's, done outside the pool's lock.
 *
 * <p>A start is reserved first ({@link #reserve}), so the pool never holds more than its limits
 * even while several are being started, then either {@link #offer offered} (kept if the key is
 * still wanted at that moment) or {@link #cancelReservation cancelled}. Keys are kept in order of
 * last use, so {@link #evictOne} gives up the least recently used session's first.
 */
public final class WarmPool<K, T> {

    private final int max;
    private final Map<K, Deque<T>> byKey = new LinkedHashMap<>(16, 0.75f, true); // LRU by access
    private int count; // held and reserved
    private boolean closed;

    /** @param max how many may be held (and being started) at once, over all keys */
    public WarmPool(int max) {
        this.max = max;
    }

    /**
     * Takes one for the key, or null. {@code usable} is asked of each in turn: one that is not (it
     * died while it waited) is handed to {@code discard} and the next is tried.
     */
    public T take(K key, Predicate<T> usable, Consumer<T> discard) {
        return take(key, usable, t -> 1, Integer.MAX_VALUE, discard);
    }

    /**
     * Takes the key's best one for a call, or null. Those not {@code usable} (dead) are handed to
     * {@code discard}; of the others, the first that {@code fit} ranks highest (0: of no use to this
     * call, e.g. an interpreter of another language) is taken. When none fits and the key holds {@code
     * room} (all it may hold), the oldest is handed to {@code discard} as well: it was made for what the
     * key did before, and kept it would hold the key's room, so that the one the key needs now could
     * never be made. With room left it stays, for the key's next call of its kind.
     */
    public T take(K key, Predicate<T> usable, ToIntFunction<T> fit, int room, Consumer<T> discard) {
        List<T> dead = new ArrayList<>();
        T found = null;
        synchronized (this) {
            Deque<T> q = byKey.get(key);
            int best = 0;
            for (Iterator<T> it = q == null ? java.util.Collections.emptyIterator() : q.iterator(); it.hasNext();) {
                T t = it.next();
                if (!usable.test(t)) {
                    it.remove();
                    count--;
                    dead.add(t);
                    continue;
                }
                int rank = fit.applyAsInt(t);
                if (rank > best) {
                    best = rank;
                    found = t;
                }
            }
            if (found != null) {
                q.remove(found);
                count--;
            }
            else if (q != null && q.size() >= room) {
                dead.add(q.poll());
                count--;
            }
        }
        dead.forEach(discard);
        return found;
    }

    /**
     * Reserves room to start one for the key: false when the pool is closed, the key has {@code
     * perKey} already, the pool is full, or {@code wanted} says no (asked under the pool's lock).
     */
    public synchronized boolean reserve(K key, int perKey, BooleanSupplier wanted) {
        Deque<T> q = byKey.get(key);
        if (closed || (q != null && q.size() >= perKey) || count >= max || !wanted.getAsBoolean()) {
            return false;
        }
        count++;
        return true;
    }

    /** The reserved start failed or was given up. */
    public synchronized void cancelReservation() {
        count--;
    }

    /**
     * Keeps a started one (its reservation becomes it) if the pool is open and {@code wanted} (asked
     * under the pool's lock, so a {@link #removeAll} that follows a change of what is wanted cannot
     * miss it); else the reservation is cancelled and false returned: the caller destroys it.
     */
    public synchronized boolean offer(K key, T item, BooleanSupplier wanted) {
        if (!closed && wanted.getAsBoolean()) {
            byKey.computeIfAbsent(key, k -> new ArrayDeque<>()).add(item);
            return true;
        }
        count--;
        return false;
    }

    /** Gives up the least recently used key's oldest one, for the caller to destroy; null when empty. */
    public synchronized T evictOne() {
        for (Iterator<Deque<T>> it = byKey.values().iterator(); it.hasNext();) {
            Deque<T> q = it.next();
            T victim = q.poll();
            if (q.isEmpty()) {
                it.remove();
            }
            if (victim != null) {
                count--;
                return victim;
            }
        }
        return null;
    }

    /** Removes and returns all held under the keys that match (a session that ended), for the caller to destroy. */
    public synchronized List<T> removeAll(Predicate<K> keys) {
        List<T> gone = new ArrayList<>();
        for (Iterator<Map.Entry<K, Deque<T>>> it = byKey.entrySet().iterator(); it.hasNext();) {
            Map.Entry<K, Deque<T>> e = it.next();
            if (keys.test(e.getKey())) {
                gone.addAll(e.getValue());
                count -= e.getValue().size();
                it.remove();
            }
        }
        return gone;
    }

    /** Nothing more is reserved or kept from now on; what is held stays until {@link #drain}. */
    public synchronized void close() {
        closed = true;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    /** Closes the pool and returns everything it held, for the caller to destroy. */
    public synchronized List<T> drain() {
        closed = true;
        List<T> all = new ArrayList<>();
        byKey.values().forEach(all::addAll);
        byKey.clear();
        count = 0;
        return all;
    }

    /** Held and being started, over all keys. */
    public synchronized int size() {
        return count;
    }
}
