package dev.warden.bench;

import dev.warden.config.WardenConfig;
import dev.warden.config.WardenConfig.RateConfig;
import dev.warden.config.WardenConfig.RateLimitsConfig;
import dev.warden.fleet.FleetDb;
import dev.warden.fleet.RedisBuckets;
import dev.warden.limit.RateLimits;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-call cost of a fleet's shared state, in microseconds (bench/fleet-cost.sh runs it against the
 * real Redis and PostgreSQL of tools/fleet-services.sh): a rate limit check in this process's buckets
 * against the same check in Redis (Bucket4j's Lettuce backend, as a replica makes it on every call), one
 * caller and several at once on one bucket; and the two PostgreSQL writes of the index of executions
 * (the insert at a run's start, the update at its end, each from the pool in its own transaction).
 *
 * <p>Arguments: REDIS_URL PG_URL PG_USER [N] [THREADS].
 */
public final class FleetCostBench {

    private FleetCostBench() {
    }

    public static void main(String[] args) throws Exception {
        String redis = args[0];
        String pgUrl = args[1];
        String pgUser = args[2];
        int n = args.length > 3 ? Integer.parseInt(args[3]) : 5000;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 4;
        int warmup = Math.max(500, n / 5);
        // a bucket that never runs dry: the cost of the check, not of a refusal
        RateLimitsConfig big = new RateLimitsConfig(new RateConfig(1_000_000_000L, 1_000_000_000L), Map.of(), 4, 4, 1000);
        System.out.printf(Locale.ROOT, "# per-call cost of the shared state, %d samples each (after %d warm-up), µs%n", n, warmup);
        System.out.printf(Locale.ROOT, "| %-58s | %8s | %8s | %8s |%n", "operation", "p50", "p99", "mean");
        System.out.printf(Locale.ROOT, "|%s|%s|%s|%s|%n", "-".repeat(60), "-".repeat(10), "-".repeat(10), "-".repeat(10));

        RateLimits local = new RateLimits(big);
        row("rate limit check, local bucket (in process)", time(n, warmup, i -> local.take("bench-client", null)));
        try (RedisBuckets store = RedisBuckets.open(redis)) {
            RateLimits shared = new RateLimits(big, store);
            row("rate limit check, Redis bucket (1 caller)", time(n, warmup, i -> check(shared, "bench-client")));
            row("rate limit check, Redis bucket (" + threads + " callers, one bucket)",
                    concurrent(n, threads, () -> check(shared, "bench-hot")));
            row("rate limit check, Redis bucket (" + threads + " callers, own buckets)",
                    concurrent(n, threads, () -> check(shared, "bench-" + Thread.currentThread().getName())));
            try (RedisBuckets other = RedisBuckets.open(redis)) {
                RateLimits second = new RateLimits(big, other);
                AtomicInteger k = new AtomicInteger();
                row("rate limit check, Redis (2 replicas x " + threads / 2 + " callers, one bucket)",
                        concurrent(n, threads, () -> check(k.getAndIncrement() % 2 == 0 ? shared : second, "bench-two")));
            }
        }

        try (FleetDb db = FleetDb.open(new WardenConfig.Postgres(pgUrl, pgUser, "", 4), "bench")) {
            String run = "bench-" + System.nanoTime() + "-";
            long[] inserts = new long[n];
            long[] updates = new long[n];
            for (int i = -warmup; i < n; i++) {
                String id = run + i;
                long t0 = System.nanoTime();
                try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO executions (id, replica, identity, session, tool, tier, background) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                    ps.setString(1, id);
                    ps.setString(2, "bench");
                    ps.setString(3, "token:0123456789abcdef");
                    ps.setString(4, "session-1");
                    ps.setString(5, "run_command");
                    ps.setString(6, "L2");
                    ps.setBoolean(7, false);
                    ps.executeUpdate();
                }
                long t1 = System.nanoTime();
                try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                        "UPDATE executions SET status = ?, ended_at = now(), message = ? WHERE id = ?")) {
                    ps.setString(1, "ok");
                    ps.setString(2, "exit 0");
                    ps.setString(3, id);
                    if (ps.executeUpdate() != 1) {
                        throw new IllegalStateException("no row " + id);
                    }
                }
                long t2 = System.nanoTime();
                if (i >= 0) {
                    inserts[i] = t1 - t0;
                    updates[i] = t2 - t1;
                }
            }
            long[] both = new long[n];
            Arrays.setAll(both, i -> inserts[i] + updates[i]);
            row("PostgreSQL: INSERT of an executions row (pool, autocommit)", inserts);
            row("PostgreSQL: UPDATE of it at the end (pool, autocommit)", updates);
            row("PostgreSQL: both, one call's index writes", both);
            try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                    "DELETE FROM executions WHERE replica = 'bench'")) {
                ps.executeUpdate();
            }
        }
    }

    private static void check(RateLimits r, String identity) {
        r.check(identity, null).ifPresent(refusal -> {
            throw new IllegalStateException("refused: " + refusal);
        });
    }

    @FunctionalInterface
    private interface Op {
        void run(int i) throws Exception;
    }

    private static long[] time(int n, int warmup, Op op) throws Exception {
        for (int i = 0; i < warmup; i++) {
            op.run(i);
        }
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            op.run(i);
            t[i] = System.nanoTime() - t0;
        }
        return t;
    }

    /** {@code n} calls in all, spread over {@code threads} threads started together; each call timed. */
    private static long[] concurrent(int n, int threads, Runnable op) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            op.run();
        }
        int each = n / threads;
        long[] t = new long[each * threads];
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> all = new ArrayList<>();
        List<Throwable> failed = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int k = 0; k < threads; k++) {
            int base = k * each;
            Thread th = new Thread(() -> {
                try {
                    go.await();
                    for (int i = 0; i < each; i++) {
                        long t0 = System.nanoTime();
                        op.run();
                        t[base + i] = System.nanoTime() - t0;
                    }
                }
                catch (Throwable e) {
                    failed.add(e);
                }
            }, "c" + k);
            th.start();
            all.add(th);
        }
        go.countDown();
        for (Thread th : all) {
            th.join();
        }
        if (!failed.isEmpty()) {
            throw new IllegalStateException("a check failed", failed.get(0));
        }
        return t;
    }

    private static void row(String what, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        double mean = Arrays.stream(s).average().orElse(0) / 1000.0;
        System.out.printf(Locale.ROOT, "| %-58s | %8.1f | %8.1f | %8.1f |%n", what, s[s.length / 2] / 1000.0,
                s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)] / 1000.0, mean);
    }
}
