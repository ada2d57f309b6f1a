package dev.warden.limit;

import dev.warden.exec.Cancel;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * Every execution that is running or waiting to run: a global cap on concurrent runs with a bounded
 * queue (a full queue refuses at once, nothing waits unbounded or is dropped silently), the list an
 * operator sees with a stop button for each, and the kill switch, which stops them all and refuses
 * every new one until an operator turns it off again.
 */
public final class Executions {

    /** One running execution as the operator sees it. */
    public record Running(String id, String session, String client, String tool, String subject, String tier,
            Instant started, Cancel cancel) {
    }

    /** Why a call may not start. */
    public sealed interface Entry {
    }

    /** It may run; close the ticket when done. */
    public record Admitted(Ticket ticket) implements Entry {
    }

    /** The kill switch is on. */
    public record Halted(String by, Instant since) implements Entry {
    }

    /** The queue is full or the wait ran out; try again after this long. */
    public record Busy(long retryAfterMs, String why) implements Entry {
    }

    /** Stopped (its client cancelled it, say) while it waited in the queue: it never ran. */
    public record Cancelled(String why) implements Entry {
    }

    /** Holds one of the concurrent places while a call runs. */
    public final class Ticket implements AutoCloseable {

        private final Running running;
        private final String identity;
        private boolean closed;

        private Ticket(Running running, String identity) {
            this.running = running;
            this.identity = identity;
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (!closed) {
                    closed = true;
                    byId.remove(running.id());
                    release(identity);
                }
            }
            finally {
                lock.unlock();
            }
        }
    }

    /** A call waiting for a place; a freed place is handed to it directly. */
    private static final class Waiter {
        final String identity;
        final Condition ready;
        boolean granted;

        Waiter(String identity, Condition ready) {
            this.identity = identity;
            this.ready = ready;
        }
    }

    private final int maxConcurrent;
    private final int perIdentity;
    private final int queueMax;
    private final int queuePerIdentity;
    private final long queueTimeoutMs;
    private final ReentrantLock lock = new ReentrantLock();
    /** Places held, per identity; guarded by the lock. */
    private final Map<String, Integer> holding = new HashMap<>();
    /** Waiters per identity in arrival order; identities in the order they take turns. Guarded by the lock. */
    private final LinkedHashMap<String, ArrayDeque<Waiter>> queues = new LinkedHashMap<>();
    private int held;
    private int waiting;
    private final Map<String, Running> byId = new ConcurrentHashMap<>();
    private volatile Halted halted;
    /** Why nothing may start any more (shutdown), or null. */
    private volatile String closing;

    public Executions(int maxConcurrent, int queueMax, long queueTimeoutMs) {
        this(maxConcurrent, maxConcurrent, queueMax, queueMax, queueTimeoutMs);
    }

    /**
     * @param perIdentity places one client identity may hold at once
     * @param queuePerIdentity calls of one identity that may wait at once
     */
    public Executions(int maxConcurrent, int perIdentity, int queueMax, int queuePerIdentity, long queueTimeoutMs) {
        this.maxConcurrent = maxConcurrent;
        this.perIdentity = Math.max(1, Math.min(perIdentity, maxConcurrent));
        this.queueMax = queueMax;
        this.queuePerIdentity = Math.min(queuePerIdentity, queueMax);
        this.queueTimeoutMs = queueTimeoutMs;
    }

    /** Waits for a place, at most the queue timeout; the running execution's session is its identity. */
    public Entry enter(Running running, IntConsumer queued) throws InterruptedException {
        return enter(running, running.session(), queued);
    }

    /**
     * Waits for a place, at most the queue timeout. Places go to waiting identities in turn, and
     * no identity holds more than its share, so one client's flood of long calls cannot make
     * another client's call wait behind it.
     *
     * @param identity whom the place counts against (the client's token, or its session)
     * @param queued told the queue position (1 = next) about once a second while it waits
     */
    public Entry enter(Running running, String identity, IntConsumer queued) throws InterruptedException {
        Halted h = halted;
        if (h != null) {
            return h;
        }
        if (closing != null) {
            return new Busy(1000, closing);
        }
        lock.lock();
        try {
            if (!mayTake(identity) || queues.containsKey(identity)) {
                Entry refused = await(identity, queued, running.cancel());
                if (refused != null) {
                    return refused;
                }
            }
            else {
                take(identity);
            }
            if (halted != null) {
                // the switch was thrown while it waited: this run must not start
                release(identity);
                return halted;
            }
            if (closing != null) {
                // the place was handed over by a run that shutdown stopped: this one must not start
                release(identity);
                return new Busy(1000, closing);
            }
            byId.put(running.id(), running);
            return new Admitted(new Ticket(running, identity));
        }
        finally {
            lock.unlock();
        }
    }

    /** With the lock held: queue up and wait to be handed a place. @return null once it holds one */
    private Entry await(String identity, IntConsumer queued, Cancel cancel) throws InterruptedException {
        ArrayDeque<Waiter> mine = queues.get(identity);
        int mineWaiting = mine == null ? 0 : mine.size();
        if (waiting >= queueMax || mineWaiting >= queuePerIdentity) {
            String why = waiting >= queueMax
                    ? "all " + maxConcurrent + " execution places are taken and the queue of " + queueMax + " is full"
                    : "this client holds " + holding.getOrDefault(identity, 0) + " of the " + maxConcurrent
                            + " execution places and already has " + mineWaiting + " calls waiting (its share of the queue)";
            return new Busy(1000, why);
        }
        Waiter w = new Waiter(identity, lock.newCondition());
        queues.computeIfAbsent(identity, k -> new ArrayDeque<>()).addLast(w);
        waiting++;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(queueTimeoutMs);
        boolean done = false;
        // a call stopped while it waits (its client cancelled it) leaves the queue at once
        Cancel.Registration wake = cancel == null ? () -> { } : cancel.onCancel(() -> {
            lock.lock();
            try {
                w.ready.signal();
            }
            finally {
                lock.unlock();
            }
        });
        try {
            while (!w.granted) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || halted != null || closing != null || cancel != null && cancel.reason() != null) {
                    break;
                }
                int position = waiting;
                lock.unlock();
                try {
                    queued.accept(position);
                }
                finally {
                    lock.lock();
                }
                if (!w.granted) {
                    w.ready.awaitNanos(Math.min(left, TimeUnit.SECONDS.toNanos(1)));
                }
            }
            done = true;
        }
        finally {
            wake.close();
            if (!w.granted) {
                dequeue(w);
            }
            else if (!done) {
                // interrupted after a place was handed over: give it on
                release(identity);
            }
        }
        if (w.granted) {
            return null;
        }
        if (cancel != null && cancel.reason() != null) {
            return new Cancelled(cancel.reason());
        }
        if (halted != null) {
            return halted;
        }
        if (closing != null) {
            return new Busy(1000, closing);
        }
        return new Busy(1000, "it waited " + queueTimeoutMs + " ms in the queue for one of the " + maxConcurrent
                + " execution places");
    }

    private boolean mayTake(String identity) {
        return held < maxConcurrent && holding.getOrDefault(identity, 0) < perIdentity;
    }

    private void take(String identity) {
        held++;
        holding.merge(identity, 1, Integer::sum);
    }

    private void dequeue(Waiter w) {
        ArrayDeque<Waiter> q = queues.get(w.identity);
        if (q != null && q.remove(w)) {
            waiting--;
            if (q.isEmpty()) {
                queues.remove(w.identity);
            }
        }
    }

    /** With the lock held: frees a place and hands places to waiting identities in turn. */
    private void release(String identity) {
        held--;
        holding.computeIfPresent(identity, (k, n) -> n <= 1 ? null : n - 1);
        boolean gave = true;
        while (gave && held < maxConcurrent && !queues.isEmpty()) {
            gave = false;
            for (var it = queues.entrySet().iterator(); it.hasNext();) {
                var e = it.next();
                if (holding.getOrDefault(e.getKey(), 0) >= perIdentity) {
                    continue;
                }
                Waiter w = e.getValue().pollFirst();
                waiting--;
                it.remove();
                if (!e.getValue().isEmpty()) {
                    queues.put(e.getKey(), e.getValue()); // its turn is over: to the back of the line
                }
                take(w.identity);
                w.granted = true;
                w.ready.signal();
                gave = true;
                break;
            }
        }
    }

    /** Stops one running execution. @return false if no execution with this id is running */
    public boolean stop(String id, String by) {
        Running r = byId.get(id);
        if (r == null) {
            return false;
        }
        r.cancel().cancel("an operator (" + by + ") stopped it");
        return true;
    }

    /**
     * At shutdown: stops every running execution (each is answered as killed, with this reason),
     * refuses every waiting one at once, and every new one from now on.
     */
    public void stopAll(String why) {
        closing = why;
        stopEverything(why);
    }

    /** Wakes every waiting call (each then sees why it may not start) and cancels every running one. */
    private void stopEverything(String why) {
        lock.lock();
        List<Running> running;
        try {
            queues.values().forEach(q -> q.forEach(w -> w.ready.signal()));
            // under the lock: a run admitted before this is in the copy, one after it sees the flag
            running = List.copyOf(byId.values());
        }
        finally {
            lock.unlock();
        }
        for (Running r : running) {
            r.cancel().cancel(why);
        }
    }

    /** Turns the kill switch on (stopping everything running) or off. */
    public void killSwitch(boolean on, String by) {
        if (on) {
            halted = new Halted(by, Instant.now());
            stopEverything("the operator's kill switch (" + by + ") stopped every execution");
        }
        else {
            halted = null;
        }
    }

    /** The kill switch, if on. */
    public Halted halted() {
        return halted;
    }

    public List<Running> running() {
        List<Running> out = new ArrayList<>(byId.values());
        out.sort(Comparator.comparing(Running::started));
        return out;
    }

    public int queued() {
        lock.lock();
        try {
            return waiting;
        }
        finally {
            lock.unlock();
        }
    }
}
