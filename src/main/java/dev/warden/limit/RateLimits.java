package dev.warden.limit;

import dev.warden.config.WardenConfig.RateConfig;
import dev.warden.config.WardenConfig.RateLimitsConfig;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Token buckets per client identity (its bearer token, else its session): one for all of its calls,
 * and one per tier, so a client flooding L4 approvals or L3 containers is held back without
 * starving its cheap L1 reads. A refused call learns exactly how long until a token is back.
 */
public final class RateLimits {

    /** Buckets kept at most; the oldest identities are dropped (a new bucket starts full). */
    private static final int MAX_BUCKETS = 100_000;

    private final RateLimitsConfig config;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.LongAdder refused = new java.util.concurrent.atomic.LongAdder();

    public RateLimits(RateLimitsConfig config) {
        this.config = config;
    }

    /**
     * Takes one token for the client overall ({@code tier} null) or for one tier.
     *
     * @return empty if allowed, else the milliseconds until the call would be allowed
     */
    public Optional<Long> take(String identity, String tier) {
        RateConfig rate = tier == null ? config.perClient() : config.perTier().get(tier);
        if (rate == null || rate.capacity() <= 0) {
            return Optional.empty(); // no limit configured for this tier
        }
        if (buckets.size() > MAX_BUCKETS) {
            buckets.clear();
        }
        Bucket bucket = buckets.computeIfAbsent(identity + "\0" + (tier == null ? "*" : tier), k -> Bucket.builder()
            .addLimit(l -> l.capacity(rate.capacity()).refillGreedy(rate.refillPerMinute(), Duration.ofMinutes(1)))
            .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        if (probe.isConsumed()) {
            return Optional.empty();
        }
        refused.increment();
        return Optional.of(Math.max(1, (probe.getNanosToWaitForRefill() + 999_999) / 1_000_000));
    }

    /** Calls refused by an empty bucket since start (the metrics). */
    public long refusals() {
        return refused.sum();
    }
}
