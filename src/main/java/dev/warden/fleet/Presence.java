package dev.warden.fleet;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * STAND-IN for the control helper's replica registration (branch fleet-control): this replica's row
 * in {@code replicas} (its address, state {@code live}) and its heartbeat every
 * {@code fleet.heartbeat_ms}, so that routing can tell a live owner from a dead one on this branch
 * alone. At the merge, the registration of fleet-control replaces it (both only upsert the same
 * row, so running both for a while is harmless).
 */
public final class Presence implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Presence.class);

    private final DataSource db;
    private final String replicaId;
    private final ScheduledExecutorService beat;

    private Presence(DataSource db, String replicaId) {
        this.db = db;
        this.replicaId = replicaId;
        this.beat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "warden-fleet-presence");
            t.setDaemon(true);
            return t;
        });
    }

    /** Registers this replica at {@code url} and beats every {@code heartbeatMs}. */
    public static Presence start(DataSource db, String replicaId, String url, long heartbeatMs) {
        Presence p = new Presence(db, replicaId);
        p.run("INSERT INTO replicas (id, url, started_at, heartbeat_at, state) VALUES (?, ?, now(), now(), 'live') "
                + "ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, started_at = now(), heartbeat_at = now(), "
                + "state = 'live'", replicaId, url);
        p.beat.scheduleWithFixedDelay(() -> p.run("UPDATE replicas SET heartbeat_at = now() WHERE id = ? AND state = 'live'",
                replicaId), heartbeatMs, heartbeatMs, TimeUnit.MILLISECONDS);
        return p;
    }

    private void run(String sql, String... values) {
        try (Connection c = db.getConnection(); PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < values.length; i++) {
                st.setString(i + 1, values[i]);
            }
            st.executeUpdate();
        }
        catch (SQLException | RuntimeException e) {
            log.warn("fleet: heartbeat of {} failed: {}", replicaId, e.getMessage());
        }
    }

    /** A clean stop: the replica says it has stopped, so nobody waits for it. */
    @Override
    public void close() {
        beat.shutdownNow();
        run("UPDATE replicas SET state = 'stopped' WHERE id = ?", replicaId);
    }
}
