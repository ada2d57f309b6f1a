package dev.warden.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.warden.config.WardenConfig;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The schema is migrated by Flyway on a real PostgreSQL, once, however many replicas start at the same moment. */
class FleetDbIT {

    @RegisterExtension
    static final FleetServices services = new FleetServices();

    @Test
    void threeReplicasStartingAtOnceMigrateTheSchemaOnce() throws Exception {
        WardenConfig.Postgres pg = services.postgres(2);
        List<CompletableFuture<FleetDb>> starts = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            String id = "r" + i;
            starts.add(CompletableFuture.supplyAsync(() -> FleetDb.open(pg, id)));
        }
        List<FleetDb> dbs = new ArrayList<>();
        for (CompletableFuture<FleetDb> s : starts) {
            dbs.add(s.join());
        }
        try (Connection c = dbs.get(2).connection(); Statement st = c.createStatement()) {
            // each version once (V1, and the later ones: V2 control, V3 routing), however many replicas raced
            ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT version), count(*) FILTER (WHERE version = '1') "
                    + "FROM warden_schema_history WHERE success");
            rs.next();
            assertEquals(rs.getInt(2), rs.getInt(1), "every version applied once");
            assertEquals(1, rs.getInt(3), "V1 applied once");
            rs = st.executeQuery("SELECT engaged FROM kill_switch");
            rs.next();
            assertEquals(false, rs.getBoolean(1));
        }
        finally {
            dbs.forEach(FleetDb::close);
        }
    }

    @Test
    void aDatabaseThatCannotBeReachedIsAStartFailure() {
        WardenConfig.Postgres pg = new WardenConfig.Postgres("jdbc:postgresql://127.0.0.1:1/warden", "warden", "", 2);
        assertThrows(RuntimeException.class, () -> FleetDb.open(pg, "r9"));
    }
}
