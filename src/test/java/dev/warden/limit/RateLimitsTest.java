package dev.warden.limit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.WardenConfig.RateConfig;
import dev.warden.config.WardenConfig.RateLimitsConfig;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RateLimitsTest {

    final RateLimits limits = new RateLimits(new RateLimitsConfig(new RateConfig(5, 60),
            Map.of("L4", new RateConfig(2, 1), "L1", new RateConfig(0, 0)), 4, 4, 1000));

    @Test
    void aBucketGivesItsCapacityThenSaysHowLongToWait() {
        for (int i = 0; i < 5; i++) {
            assertTrue(limits.take("a", null).isEmpty(), "call " + i);
        }
        Optional<Long> wait = limits.take("a", null);
        assertTrue(wait.isPresent());
        assertTrue(wait.get() > 0 && wait.get() <= 1000, "one token a second: " + wait.get());
        assertTrue(limits.take("b", null).isEmpty(), "another identity has its own bucket");
    }

    @Test
    void tiersHaveTheirOwnBucketsAndZeroCapacityMeansNoLimit() {
        assertTrue(limits.take("a", "L4").isEmpty());
        assertTrue(limits.take("a", "L4").isEmpty());
        Optional<Long> wait = limits.take("a", "L4");
        assertTrue(wait.isPresent());
        assertTrue(wait.get() > 50_000, "one a minute: " + wait.get());
        for (int i = 0; i < 1000; i++) {
            assertTrue(limits.take("a", "L1").isEmpty());
        }
        assertTrue(limits.take("a", "L2").isEmpty(), "a tier with no bucket is not limited");
    }

    @Test
    void concurrentTakesNeverGiveMoreThanTheCapacity() throws Exception {
        RateLimits r = new RateLimits(new RateLimitsConfig(new RateConfig(100, 1), Map.of(), 4, 4, 1000));
        java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
        Thread[] threads = new Thread[8];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 100; i++) {
                    if (r.take("x", null).isEmpty()) {
                        ok.incrementAndGet();
                    }
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(100, ok.get());
    }

    @Test
    void aStoreThatCannotBeUsedRefusesTheCallAndSaysWhy() {
        RateLimits r = new RateLimits(new RateLimitsConfig(new RateConfig(5, 60), Map.of(), 4, 4, 1000),
                (identity, tier, config) -> {
                    throw new RateLimits.Unreachable("the store is gone", 700);
                });
        Optional<RateLimits.Refusal> refused = r.check("a", null);
        assertTrue(refused.isPresent());
        assertEquals(700, refused.get().retryAfterMs());
        assertEquals("the store is gone", refused.get().reasonOr("over"));
        assertEquals(Optional.of(700L), r.take("a", null));
        assertEquals(2, r.storeRefusals());
        assertEquals(0, r.refusals(), "not an empty bucket");
        assertTrue(r.check("a", "L3").isEmpty(), "a tier without a limit needs no store");
    }

    @Test
    void anEmptyBucketLeavesTheWordsToTheCaller() {
        for (int i = 0; i < 5; i++) {
            limits.check("c", null);
        }
        assertEquals("over", limits.check("c", null).orElseThrow().reasonOr("over"));
    }
}
