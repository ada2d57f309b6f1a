package dev.warden.limit;

import dev.warden.exec.Cancel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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

    /** Holds one of the concurrent places while a call runs. */
    public final class Ticket implements AutoCloseable {

        private final Running running;
        private boolean closed;

        private Ticket(Running running) {
            this.running = running;
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                byId.remove(running.id());
                places.release();
            }
        }
    }

    private final int maxConcurrent;
    private final int queueMax;
    private final long queueTimeoutMs;
    private final Semaphore places;
    private final AtomicInteger waiting = new AtomicInteger();
    private final Map<String, Running> byId = new ConcurrentHashMap<>();
    private volatile Halted halted;

    public Executions(int maxConcurrent, int queueMax, long queueTimeoutMs) {
        this.maxConcurrent = maxConcurrent;
        this.queueMax = queueMax;
        this.queueTimeoutMs = queueTimeoutMs;
        this.places = new Semaphore(maxConcurrent, true);
    }

    /**
     * Waits for a place, at most the queue timeout.
     *
     * @param queued told the queue position (1 = next) about once a second while it waits
     */
    public Entry enter(Running running, IntConsumer queued) throws InterruptedException {
        Halted h = halted;
        if (h != null) {
            return h;
        }
        if (!places.tryAcquire()) {
            if (waiting.incrementAndGet() > queueMax) {
                waiting.decrementAndGet();
                return new Busy(1000, "all " + maxConcurrent + " execution places are taken and the queue of "
                        + queueMax + " is full");
            }
            try {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(queueTimeoutMs);
                boolean got = false;
                while (!got) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return new Busy(1000, "it waited " + queueTimeoutMs + " ms in the queue for one of the "
                                + maxConcurrent + " execution places");
                    }
                    queued.accept(waiting.get());
                    got = places.tryAcquire(Math.min(left, TimeUnit.SECONDS.toNanos(1)), TimeUnit.NANOSECONDS);
                    if (halted != null) {
                        if (got) {
                            places.release();
                        }
                        return halted;
                    }
                }
            }
            finally {
                waiting.decrementAndGet();
            }
        }
        byId.put(running.id(), running);
        if (halted != null) {
            // the switch was thrown between the check above and now: this run must not start
            byId.remove(running.id());
            places.release();
            return halted;
        }
        return new Admitted(new Ticket(running));
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

    /** Turns the kill switch on (stopping everything running) or off. */
    public void killSwitch(boolean on, String by) {
        if (on) {
            halted = new Halted(by, Instant.now());
            for (Running r : List.copyOf(byId.values())) {
                r.cancel().cancel("the operator's kill switch (" + by + ") stopped every execution");
            }
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
        return waiting.get();
    }
}
