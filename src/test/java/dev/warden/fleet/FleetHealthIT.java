package dev.warden.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a replica's /readyz says about the fleet's services, against real redis-server and PostgreSQL on loopback:
 * ready while both answer, "Redis unreachable" within a few checks of Redis stopping and ready again once it is
 * back, "PostgreSQL unreachable" for a database that is not there; never an address or a password.
 */
class FleetHealthIT {

    @RegisterExtension
    static final FleetServices services = new FleetServices();

    /** Waits (at most 10 s) for {@code what} to equal {@code expected}; answers what it last was. */
    private static String await(Supplier<String> what, String expected) throws InterruptedException {
        String last = what.get();
        for (int i = 0; i < 100 && !java.util.Objects.equals(last, expected); i++) {
            Thread.sleep(100);
            last = what.get();
        }
        return last;
    }

    @Test
    void redisStoppingMakesTheReplicaUnreadyUntilItReturns() throws Exception {
        try (FleetHealth h = FleetHealth.start(services.db().dataSource(), services.redisUrl(), 200)) {
            assertNull(await(h::problem, null), "both services answer");
            services.stopRedis();
            try {
                assertEquals("Redis unreachable", await(h::problem, "Redis unreachable"));
            }
            finally {
                services.startRedis();
            }
            assertNull(await(h::problem, null), "Redis is back");
        }
    }

    @Test
    void aDatabaseThatIsNotThereIsNamedWithoutItsAddress() throws Exception {
        com.zaxxer.hikari.HikariConfig hc = new com.zaxxer.hikari.HikariConfig();
        hc.setJdbcUrl("jdbc:postgresql://127.0.0.1:1/warden");
        hc.setUsername("warden");
        hc.setPassword("s3cret-password-not-to-leak");
        hc.setInitializationFailTimeout(-1);
        hc.setConnectionTimeout(500);
        try (com.zaxxer.hikari.HikariDataSource ds = new com.zaxxer.hikari.HikariDataSource(hc);
                FleetHealth h = FleetHealth.start(ds, "", 200)) {
            assertEquals("PostgreSQL unreachable", await(h::problem, "PostgreSQL unreachable"));
        }
    }

    @Test
    void withoutRedisOrPostgresThereIsNothingToWaitFor() throws Exception {
        try (FleetHealth h = FleetHealth.start(null, "", 100)) {
            assertNull(await(h::problem, null));
        }
    }
}
