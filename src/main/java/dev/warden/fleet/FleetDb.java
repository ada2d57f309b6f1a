package dev.warden.fleet;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.warden.config.WardenConfig;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;

/**
 * The fleet's PostgreSQL: a HikariCP pool, and the schema brought to its latest version by Flyway
 * (src/main/resources/db/fleet) before anything else uses it. A database that cannot be reached at
 * start is a start-up failure: a replica that cannot see the shared state does not serve.
 */
public final class FleetDb implements AutoCloseable {

    private final HikariDataSource pool;

    private FleetDb(HikariDataSource pool) {
        this.pool = pool;
    }

    /** Connects, migrates, and answers a pool; throws with the reason when the database cannot be used. */
    public static FleetDb open(WardenConfig.Postgres pg, String replicaId) {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(pg.url());
        if (!pg.user().isEmpty()) {
            hc.setUsername(pg.user());
        }
        String password = System.getenv().getOrDefault("WARDEN_POSTGRES_PASSWORD", pg.password());
        if (!password.isEmpty()) {
            hc.setPassword(password);
        }
        hc.setMaximumPoolSize(Math.max(2, pg.poolSize()));
        hc.setPoolName("warden-fleet");
        hc.setConnectionTimeout(3000);
        hc.setValidationTimeout(1000);
        hc.setInitializationFailTimeout(10_000);
        hc.addDataSourceProperty("ApplicationName", "warden-" + replicaId);
        hc.addDataSourceProperty("connectTimeout", "3");
        hc.addDataSourceProperty("socketTimeout", "10");
        HikariDataSource ds = new HikariDataSource(hc);
        try {
            Flyway.configure().dataSource(ds).locations("classpath:db/fleet").table("warden_schema_history")
                .load().migrate();
        }
        catch (RuntimeException e) {
            ds.close();
            throw e;
        }
        return new FleetDb(ds);
    }

    public DataSource dataSource() {
        return pool;
    }

    public Connection connection() throws SQLException {
        return pool.getConnection();
    }

    @Override
    public void close() {
        pool.close();
    }
}
