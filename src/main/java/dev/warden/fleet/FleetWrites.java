package dev.warden.fleet;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rows this replica writes on behalf of calls (the executions index, the approvals it holds), off
 * the calls' threads: a bounded queue and one writer thread, in order (a row's insert before its
 * update). A full queue or a database that is down never blocks or fails a call: the write is dropped
 * and counted, and said in the log once per outage; the call runs and is audited as ever.
 */
final class FleetWrites implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FleetWrites.class);
    static final int CAPACITY = 10_000;

    /** One write, on a connection of the pool. */
    @FunctionalInterface
    interface Write {
        void run(Connection c) throws SQLException;
    }

    private record Job(String what, Write write, CompletableFuture<Boolean> done) {
    }

    private static final Job STOP = new Job("stop", c -> { }, new CompletableFuture<>());

    private final FleetDb db;
    private final BlockingQueue<Job> queue = new ArrayBlockingQueue<>(CAPACITY);
    private final Thread writer;
    private final AtomicLong dropped = new AtomicLong();
    private volatile boolean closed;
    /** Why the last write failed while the database is down, else null (logged once per outage). */
    private volatile String down;

    FleetWrites(FleetDb db) {
        this.db = db;
        this.writer = new Thread(this::loop, "warden-fleet-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /** Queues a write; completes true once written, false if it was dropped or failed. Never blocks. */
    CompletableFuture<Boolean> submit(String what, Write write) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        if (closed || !queue.offer(new Job(what, write, done))) {
            long n = dropped.incrementAndGet();
            if (n == 1 || n % 1000 == 0) {
                log.warn("fleet: {} writes to PostgreSQL dropped so far (the queue of {} is full or closed); the latest: {}",
                        n, CAPACITY, what);
            }
            done.complete(false);
        }
        return done;
    }

    long dropped() {
        return dropped.get();
    }

    private void loop() {
        for (;;) {
            Job job;
            try {
                job = queue.take();
            }
            catch (InterruptedException e) {
                return;
            }
            if (job == STOP) {
                return;
            }
            job.done.complete(attempt(job));
        }
    }

    private boolean attempt(Job job) {
        try (Connection c = db.connection()) {
            job.write.run(c);
            if (down != null) {
                log.warn("fleet: PostgreSQL takes writes again (it failed with: {})", down);
                down = null;
            }
            return true;
        }
        catch (SQLException | RuntimeException e) {
            dropped.incrementAndGet();
            if (down == null) {
                down = String.valueOf(e.getMessage());
                log.error("fleet: a write to PostgreSQL failed ({}: {}); calls go on, and the shared index misses what "
                        + "is not written until it is back", job.what, e.getMessage());
            }
            return false;
        }
    }

    /** Waits (at most {@code ms}) for what is queued to be written, then stops the writer. */
    @Override
    public void close() {
        closed = true;
        try {
            if (!queue.offer(STOP, 100, TimeUnit.MILLISECONDS)) {
                writer.interrupt();
            }
            writer.join(3000);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.interrupt();
    }
}
