package dev.warden.limit;

import dev.warden.config.WardenConfig.RateConfig;
import dev.warden.config.WardenConfig.RateLimitsConfig;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Token buckets per client identity (its bearer token, else its session): one for all of its calls,
 * and one per tier, so a client flooding L4 approvals or L3 containers is held back without
 * starving its cheap L1 reads. A refused call learns exactly how long until a token is back.
 *
 * <p>Where the buckets live is a {@link Store}: in this process (the default, a single server), or
 * shared by every replica of a fleet (Redis, {@code dev.warden.fleet.RedisBuckets}). A store that
 * cannot answer fails closed: the call is refused, with a message that says why.
 */
public final class RateLimits {

    /** Where the buckets are kept; the capacities and refills always come from this server's configuration. */
    public interface Store {

        /**
         * Takes one token from the bucket of {@code identity} for {@code tier} ({@code null}: all of its
         * calls), made with {@code config} if it does not exist yet.
         *
         * @throws Unreachable when the bucket cannot be read or written (the call must not go on)
         */
        ConsumptionProbe tryConsume(String identity, String tier, BucketConfiguration config);
    }

    /** A store that cannot be used now: the limits it keeps cannot be checked, so the call is refused. */
    public static final class Unreachable extends RuntimeException {

        private static final long serialVersionUID = 1L;
        private final long retryAfterMs;

        /**
         * @param message the reason, completing "Rate limited: ..." in what the client reads
         * @param retryAfterMs when to try again
         */
        public Unreachable(String message, long retryAfterMs) {
            super(message, null, false, false);
            this.retryAfterMs = retryAfterMs;
        }

        public long retryAfterMs() {
            return retryAfterMs;
        }
    }

    /**
     * Why a call may not go on now.
     *
     * @param retryAfterMs how long until it would be allowed (or worth trying again)
     * @param reason what the client is told after "Rate limited: ", or null for an empty bucket (the
     *     caller's own words then say which limit)
     */
    public record Refusal(long retryAfterMs, String reason) {

        /** The reason, or {@code overWhat} when the bucket was simply empty. */
        public String reasonOr(String overWhat) {
            return reason == null ? overWhat : reason;
        }
    }

    private final RateLimitsConfig config;
    private final Store store;
    private final Map<String, BucketConfiguration> shapes = new ConcurrentHashMap<>();
    private final LongAdder refused = new LongAdder();
    private final LongAdder unchecked = new LongAdder();

    /** Buckets in this process: a single server. */
    public RateLimits(RateLimitsConfig config) {
        this(config, new Local());
    }

    /** Buckets in {@code store} (shared by a fleet). */
    public RateLimits(RateLimitsConfig config, Store store) {
        this.config = config;
        this.store = store;
    }

    /**
     * Takes one token for the client overall ({@code tier} null) or for one tier.
     *
     * @return empty if allowed, else the milliseconds until the call would be allowed
     */
    public Optional<Long> take(String identity, String tier) {
        return check(identity, tier).map(Refusal::retryAfterMs);
    }

    /**
     * Takes one token for the client overall ({@code tier} null) or for one tier.
     *
     * @return empty if allowed, else why not and for how long
     */
    public Optional<Refusal> check(String identity, String tier) {
        RateConfig rate = tier == null ? config.perClient() : config.perTier().get(tier);
        if (rate == null || rate.capacity() <= 0) {
            return Optional.empty(); // no limit configured for this tier
        }
        BucketConfiguration shape = shapes.computeIfAbsent(tier == null ? "*" : tier, k -> BucketConfiguration.builder()
                .addLimit(l -> l.capacity(rate.capacity()).refillGreedy(rate.refillPerMinute(), Duration.ofMinutes(1)))
                .build());
        ConsumptionProbe probe;
        try {
            probe = store.tryConsume(identity, tier, shape);
        }
        catch (Unreachable e) {
            unchecked.increment();
            return Optional.of(new Refusal(e.retryAfterMs(), e.getMessage()));
        }
        if (probe.isConsumed()) {
            return Optional.empty();
        }
        refused.increment();
        return Optional.of(new Refusal(Math.max(1, (probe.getNanosToWaitForRefill() + 999_999) / 1_000_000), null));
    }

    /** Calls refused by an empty bucket since start (the metrics). */
    public long refusals() {
        return refused.sum();
    }

    /** Calls refused because the store of the buckets could not be used (the metrics). */
    public long storeRefusals() {
        return unchecked.sum();
    }

    /** The buckets in this process's memory. */
    private static final class Local implements Store {

        /** Buckets kept at most; the oldest identities are dropped (a new bucket starts full). */
        private static final int MAX_BUCKETS = 100_000;

        private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

        @Override
        public ConsumptionProbe tryConsume(String identity, String tier, BucketConfiguration config) {
            if (buckets.size() > MAX_BUCKETS) {
                buckets.clear();
            }
            Bucket bucket = buckets.computeIfAbsent(identity + "\0" + (tier == null ? "*" : tier),
                    k -> Bucket.builder().addLimit(config.getBandwidths()[0]).build());
            return bucket.tryConsumeAndReturnRemaining(1);
        }
    }
}
