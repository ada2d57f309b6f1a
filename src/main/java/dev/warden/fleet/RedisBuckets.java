package dev.warden.fleet;

import dev.warden.limit.RateLimits;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.DefaultClientResources;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rate limit buckets of a fleet, in Redis through Bucket4j's own distributed backend for Lettuce
 * (compare-and-swap by a Lua script), so every replica draws from one bucket per client identity and
 * tier. A key is {@code warden:rl:} + the first 128 bits of the SHA-256 of the identity (never the
 * identity itself) + {@code :} + the tier ({@code all} for the client's bucket of every call) + {@code :}
 * + the bucket's shape ({@code 12x1/60s}), and expires once its bucket would be full again plus
 * {@link #KEEP_FULL} (an idle client's bucket vanishes).
 *
 * <p>Fail closed: no command waits more than {@link #COMMAND_TIMEOUT}, no check more than
 * {@link #TURN_TIMEOUT} for its turn and {@link #CHECK_TIMEOUT} for its compare-and-swap, a command
 * while disconnected is refused at once, and a check that cannot be made refuses the call ({@link RateLimits.Unreachable})
 * with a message that says so. The outage is logged once when it starts and once when it ends;
 * Lettuce reconnects by itself (at most {@link #RECONNECT_MAX} apart), and a replica that started
 * while Redis was down keeps trying to connect in the background, so none needs a restart.
 */
public final class RedisBuckets implements RateLimits.Store, AutoCloseable {

    /** The longest one Redis command may take. */
    public static final Duration COMMAND_TIMEOUT = Duration.ofMillis(500);
    /**
     * The longest one check may take in all (Bucket4j's request timeout: its compare-and-swap, retried
     * while another replica wrote the same bucket meanwhile).
     */
    public static final Duration CHECK_TIMEOUT = Duration.ofSeconds(2);
    /**
     * The longest a call waits for this replica's earlier checks of the same bucket while they succeed;
     * it stops waiting at once when one of them fails or the connection is lost.
     */
    public static final Duration TURN_TIMEOUT = Duration.ofSeconds(5);
    /** Locks of buckets: this replica's checks of one bucket go one at a time (only replicas race). */
    private static final int STRIPES = 64;
    /** Connecting (TCP, then the handshake): never on a call's path, commands are refused while disconnected. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    static final Duration RECONNECT_MAX = Duration.ofSeconds(1);
    /** What a refused call is told to wait: about one reconnection attempt. */
    static final long RETRY_AFTER_MS = 1000;
    /** A bucket stays this long after it would be full again, then expires. */
    static final Duration KEEP_FULL = Duration.ofSeconds(10);

    static final String PREFIX = "warden:rl:";
    static final String UNREACHABLE = "the shared rate limit store (Redis) is unreachable, so this replica cannot check "
            + "this client's rate limits and refused the call for safety";

    private static final Logger LOG = LoggerFactory.getLogger(RedisBuckets.class);

    private final String where;
    private final ClientResources resources;
    private final RedisClient client;
    private final ScheduledExecutorService connector;
    private final AtomicBoolean down = new AtomicBoolean();
    /** Checks that failed since start: a call waiting for its turn stops waiting when one fails. */
    private final AtomicLong failures = new AtomicLong();
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private volatile StatefulRedisConnection<byte[], byte[]> connection;
    private volatile ProxyManager<byte[]> buckets;
    private volatile long downSinceNanos;
    private volatile boolean closed;

    private RedisBuckets(String url) {
        RedisURI uri = RedisURI.create(url);
        uri.setTimeout(CONNECT_TIMEOUT); // the handshake's; commands have COMMAND_TIMEOUT (TimeoutOptions)
        this.where = uri.getHost() + ":" + uri.getPort();
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2)
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), RECONNECT_MAX, 2, TimeUnit.MILLISECONDS))
                .build();
        this.client = RedisClient.create(resources, uri);
        client.setOptions(ClientOptions.builder().autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(COMMAND_TIMEOUT))
                .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).keepAlive(true).build())
                .build());
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
        this.connector = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "warden-redis-connect");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Connects to {@code url} (redis://HOST:PORT); a Redis that cannot be reached now is not a start-up
     * failure: calls are refused (fail closed) until a background attempt connects.
     */
    public static RedisBuckets open(String url) {
        RedisBuckets b = new RedisBuckets(url);
        if (!b.connect()) {
            b.connector.scheduleWithFixedDelay(() -> {
                if (b.connection == null && !b.closed && b.connect()) {
                    b.connector.shutdown();
                }
            }, RECONNECT_MAX.toMillis(), RECONNECT_MAX.toMillis(), TimeUnit.MILLISECONDS);
        }
        return b;
    }

    private synchronized boolean connect() {
        if (connection != null || closed) {
            return true;
        }
        try {
            StatefulRedisConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE);
            connection = c; // before the buckets: a check that sees them sees the connection
            buckets = Bucket4jLettuce.casBasedBuilder(c)
                    .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(KEEP_FULL))
                    .requestTimeout(CHECK_TIMEOUT)
                    .build();
            warmUp();
            LOG.info("rate limits: shared in Redis at {}", where);
            return true;
        }
        catch (RuntimeException e) {
            unreachable(e);
            return false;
        }
    }

    /** One check on a key of its own, so the first call does not pay for loading the code of the path. */
    private void warmUp() {
        try {
            buckets.getProxy((PREFIX + "warm-up").getBytes(StandardCharsets.UTF_8), () -> BucketConfiguration.builder()
                    .addLimit(l -> l.capacity(1).refillGreedy(1, Duration.ofSeconds(1))).build())
                    .tryConsumeAndReturnRemaining(1);
        }
        catch (RuntimeException e) {
            LOG.debug("rate limits: warm-up check failed", e); // the calls will say it
        }
    }

    /**
     * The Redis key of one bucket: the identity's digest, the tier, and the bucket's shape (capacity x refill
     * per period), so a changed rate_limits section takes effect at once instead of when a busy client's
     * bucket goes idle (Bucket4j keeps the configuration a bucket was made with).
     */
    static byte[] key(String identity, String tier, BucketConfiguration config) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(identity.getBytes(StandardCharsets.UTF_8));
            Bandwidth b = config.getBandwidths()[0];
            return (PREFIX + HexFormat.of().formatHex(digest, 0, 16) + ":" + (tier == null ? "all" : tier) + ":"
                    + b.getCapacity() + "x" + b.getRefillTokens() + "/" + TimeUnit.NANOSECONDS.toSeconds(b.getRefillPeriodNanos())
                    + "s").getBytes(StandardCharsets.UTF_8);
        }
        catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }

    @Override
    public ConsumptionProbe tryConsume(String identity, String tier, BucketConfiguration config) {
        ProxyManager<byte[]> pm = buckets;
        if (pm == null) {
            unreachable(null);
            throw new RateLimits.Unreachable(UNREACHABLE, RETRY_AFTER_MS);
        }
        byte[] key = key(identity, tier, config);
        // Bucket4j's compare-and-swap retries when the bucket changed between its read and its write: one
        // check at a time per bucket here, so only the replicas race (30 calls at once would mostly retry)
        ReentrantLock lock = stripes[Math.floorMod(Arrays.hashCode(key), STRIPES)];
        ConsumptionProbe probe;
        long failedBefore = failures.get();
        long deadline = System.nanoTime() + TURN_TIMEOUT.toNanos();
        try {
            while (!lock.tryLock(20, TimeUnit.MILLISECONDS)) {
                if (failures.get() != failedBefore || !connection.isOpen()) {
                    throw new RateLimits.Unreachable(UNREACHABLE, RETRY_AFTER_MS); // said by the check that failed
                }
                if (System.nanoTime() > deadline) {
                    unreachable(new java.util.concurrent.TimeoutException("earlier checks of this bucket took over "
                            + TURN_TIMEOUT.toMillis() + " ms"));
                    throw new RateLimits.Unreachable(UNREACHABLE, RETRY_AFTER_MS);
                }
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RateLimits.Unreachable("the call was interrupted while it waited for its rate limit check",
                    RETRY_AFTER_MS);
        }
        try {
            probe = pm.getProxy(key, () -> config).tryConsumeAndReturnRemaining(1);
        }
        catch (RuntimeException e) {
            unreachable(e);
            throw new RateLimits.Unreachable(UNREACHABLE, RETRY_AFTER_MS);
        }
        finally {
            lock.unlock();
        }
        if (down.compareAndSet(true, false)) {
            LOG.info("rate limits: Redis at {} reachable again after {} ms; calls are checked again", where,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downSinceNanos));
        }
        return probe;
    }

    /** Whether the last check reached Redis (the metrics: 1 up, 0 down). */
    public boolean reachable() {
        return buckets != null && !down.get();
    }

    private void unreachable(Throwable e) {
        failures.incrementAndGet();
        if (down.compareAndSet(false, true)) {
            downSinceNanos = System.nanoTime();
            LOG.error("rate limits: Redis at {} cannot be reached ({}): every call whose limit it keeps is refused "
                    + "until it answers again", where, e == null ? "not connected yet" : describe(e));
        }
    }

    private static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return root.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    @Override
    public void close() {
        closed = true;
        connector.shutdownNow();
        synchronized (this) {
            if (connection != null) {
                connection.close();
            }
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
