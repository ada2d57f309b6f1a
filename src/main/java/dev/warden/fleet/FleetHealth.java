package dev.warden.fleet;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/**
 * Whether this replica can reach the services the fleet shares: PostgreSQL (a connection from the pool that
 * answers) and Redis (PING), checked every {@code periodMs} on a thread of its own, so that a readiness
 * probe reads the last result at once and never waits on a service that hangs. The reason names the
 * service only: never its address, user or password.
 */
public final class FleetHealth implements AutoCloseable {

    private static final Duration TIMEOUT = Duration.ofSeconds(1);

    private final DataSource postgres;
    private final RedisClient redisClient;
    private final ScheduledExecutorService checks;
    private StatefulRedisConnection<String, String> redis;
    private volatile String problem = "fleet services not checked yet";

    private FleetHealth(DataSource postgres, RedisClient redisClient) {
        this.postgres = postgres;
        this.redisClient = redisClient;
        this.checks = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "warden-fleet-health");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts checking.
     *
     * @param postgres the fleet's pool, or null when the fleet has no PostgreSQL
     * @param redisUrl the fleet's Redis (redis://HOST:PORT), or empty when it has none
     * @param periodMs how often both are checked
     */
    public static FleetHealth start(DataSource postgres, String redisUrl, long periodMs) {
        RedisClient client = null;
        if (redisUrl != null && !redisUrl.isEmpty()) {
            RedisURI uri = RedisURI.create(redisUrl);
            uri.setTimeout(TIMEOUT);
            client = RedisClient.create(uri);
            // a command on a lost connection fails at once instead of waiting in Lettuce's queue for a reconnect
            client.setOptions(ClientOptions.builder()
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(TIMEOUT))
                .build());
        }
        FleetHealth h = new FleetHealth(postgres, client);
        h.checks.scheduleWithFixedDelay(h::check, 0, Math.max(100, periodMs), TimeUnit.MILLISECONDS);
        return h;
    }

    /** Why this replica cannot serve the fleet now ("PostgreSQL unreachable", …), or null when it can. */
    public String problem() {
        return problem;
    }

    /** Checks both once now; also what the thread does every period. */
    void check() {
        String pg = postgres == null ? null : checkPostgres();
        String rd = redisClient == null ? null : checkRedis();
        problem = pg != null && rd != null ? pg + "; " + rd : pg != null ? pg : rd;
    }

    private String checkPostgres() {
        try (Connection c = postgres.getConnection()) {
            return c.isValid((int) TIMEOUT.toSeconds()) ? null : "PostgreSQL does not answer";
        }
        catch (Exception e) {
            return "PostgreSQL unreachable";
        }
    }

    private String checkRedis() {
        try {
            if (redis == null || !redis.isOpen()) {
                if (redis != null) {
                    redis.closeAsync();
                }
                redis = redisClient.connect();
            }
            return "PONG".equals(redis.sync().ping()) ? null : "Redis does not answer";
        }
        catch (RuntimeException e) {
            return "Redis unreachable";
        }
    }

    @Override
    public void close() {
        checks.shutdownNow();
        try {
            checks.awaitTermination(2, TimeUnit.SECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (redis != null) {
            redis.close();
        }
        if (redisClient != null) {
            redisClient.shutdown(Duration.ZERO, TIMEOUT);
        }
    }
}
