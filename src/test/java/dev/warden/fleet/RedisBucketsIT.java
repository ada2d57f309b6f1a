package dev.warden.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.WardenConfig.RateConfig;
import dev.warden.config.WardenConfig.RateLimitsConfig;
import dev.warden.limit.RateLimits;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two replicas' rate limits on one real Redis draw from one bucket per identity and tier; with Redis
 * gone they refuse (fail closed, at once, saying why); when it is back they allow again, without a restart.
 */
class RedisBucketsIT {

    static final RateLimitsConfig TWELVE = new RateLimitsConfig(new RateConfig(12, 1),
            Map.of("L4", new RateConfig(3, 1)), 4, 4, 1000);

    @RegisterExtension
    static final FleetServices services = new FleetServices();

    @Test
    void twoReplicasShareOneBucketExactly() throws Exception {
        try (RedisBuckets a = RedisBuckets.open(services.redisUrl()); RedisBuckets b = RedisBuckets.open(services.redisUrl())) {
            List<RateLimits> replicas = List.of(new RateLimits(TWELVE, a), new RateLimits(TWELVE, b));
            ExecutorService pool = Executors.newFixedThreadPool(10);
            try {
                List<CompletableFuture<Optional<Long>>> calls = new ArrayList<>();
                for (int i = 0; i < 30; i++) {
                    RateLimits r = replicas.get(i % 2);
                    calls.add(CompletableFuture.supplyAsync(() -> r.take("token-shared", null), pool));
                }
                long ok = calls.stream().map(CompletableFuture::join).filter(Optional::isEmpty).count();
                assertEquals(12, ok, "one bucket of 12 for both replicas");
                Optional<Long> wait = replicas.get(1).take("token-shared", null);
                assertTrue(wait.isPresent() && wait.get() > 1000, "about a minute for the next token: " + wait);
                assertEquals(18 + 1, replicas.get(0).refusals() + replicas.get(1).refusals());
                assertEquals(0, replicas.get(0).storeRefusals() + replicas.get(1).storeRefusals());
            }
            finally {
                pool.shutdown();
            }
            // the tier's bucket is another one, and another identity has its own
            assertTrue(replicas.get(0).take("token-shared", "L4").isEmpty());
            assertTrue(replicas.get(1).take("token-shared", "L4").isEmpty());
            assertTrue(replicas.get(0).take("token-shared", "L4").isEmpty());
            assertTrue(replicas.get(1).take("token-shared", "L4").isPresent(), "L4 holds 3 across replicas");
            assertTrue(replicas.get(1).take("token-other", null).isEmpty());
        }
        // namespaced keys that never contain the identity, and expire
        RedisClient client = RedisClient.create(services.redisUrl());
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            for (String k : c.sync().keys("warden:rl:*")) {
                assertTrue(k.matches("warden:rl:([0-9a-f]{32}:(all|L[1-4]):[0-9]+x[0-9]+/[0-9]+s|warm-up)"), k);
                assertFalse(k.contains("token"), k);
            }
            for (String k : List.of("warden:rl:%s:all:12x1/60s".formatted(digest("token-shared")),
                    "warden:rl:%s:L4:3x1/60s".formatted(digest("token-shared")),
                    "warden:rl:%s:all:12x1/60s".formatted(digest("token-other")))) {
                long ttl = c.sync().pttl(k);
                assertTrue(ttl > 0, "exists and expires: " + k + " " + ttl);
            }
        }
        finally {
            client.shutdown();
        }
    }

    @Test
    void aChangedRateTakesEffectAtOnceForABusyClient() {
        try (RedisBuckets a = RedisBuckets.open(services.redisUrl())) {
            RateLimits before = new RateLimits(new RateLimitsConfig(new RateConfig(2, 1), Map.of(), 4, 4, 1000), a);
            assertTrue(before.take("busy", null).isEmpty());
            assertTrue(before.take("busy", null).isEmpty());
            assertTrue(before.take("busy", null).isPresent());
            RateLimits after = new RateLimits(new RateLimitsConfig(new RateConfig(4, 1), Map.of(), 4, 4, 1000), a);
            for (int i = 0; i < 4; i++) {
                assertTrue(after.take("busy", null).isEmpty(), "the new capacity: " + i);
            }
            assertTrue(after.take("busy", null).isPresent());
        }
    }

    @Test
    void withoutRedisCallsAreRefusedAtOnceAndAllowedAgainWhenItReturns() throws Exception {
        try (RedisBuckets a = RedisBuckets.open(services.redisUrl())) {
            RateLimits r = new RateLimits(TWELVE, a);
            assertTrue(r.take("outage", null).isEmpty());
            assertTrue(a.reachable());
            services.stopRedis();
            try {
                for (int i = 0; i < 5; i++) {
                    long t0 = System.nanoTime();
                    Optional<RateLimits.Refusal> refused = r.check("outage", null);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    assertTrue(refused.isPresent(), "fail closed");
                    assertTrue(refused.get().reasonOr("").contains("shared rate limit store (Redis) is unreachable"),
                            refused.get().toString());
                    assertTrue(refused.get().reasonOr("").contains("refused the call for safety"));
                    assertTrue(ms < 1000, "never hangs on Redis: " + ms + " ms");
                }
                assertFalse(a.reachable());
                assertEquals(5, r.storeRefusals());
            }
            finally {
                services.startRedis();
            }
            assertTrue(allowedWithin(r, "outage", 15_000), "allowed again without a restart");
            assertTrue(a.reachable());
        }
    }

    @Test
    void aReplicaStartedWhileRedisIsDownConnectsWhenItComes() throws Exception {
        services.stopRedis();
        RedisBuckets a;
        RateLimits r;
        try {
            long t0 = System.nanoTime();
            a = RedisBuckets.open(services.redisUrl());
            r = new RateLimits(TWELVE, a);
            assertTrue(r.check("late", null).isPresent(), "refused while it cannot check");
            assertTrue((System.nanoTime() - t0) / 1_000_000 < 2000, "start is not held up");
        }
        finally {
            services.startRedis();
        }
        try (a) {
            assertTrue(allowedWithin(r, "late", 15_000), "connected in the background");
        }
    }

    private static String digest(String identity) throws java.security.NoSuchAlgorithmException {
        byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(identity.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return java.util.HexFormat.of().formatHex(d, 0, 16);
    }

    private static boolean allowedWithin(RateLimits r, String identity, long ms) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < end) {
            if (r.take(identity, null).isEmpty()) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }
}
