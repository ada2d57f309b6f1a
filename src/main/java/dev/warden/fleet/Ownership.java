package dev.warden.fleet;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which replica owns what (the {@code sessions} and {@code workspaces} tables, and the owner columns
 * of {@code executions} and {@code approvals}), and whether that replica is alive: a row of
 * {@code replicas} in state {@code live} whose heartbeat is younger than {@code fleet.dead_after_ms}.
 *
 * <p>A session is written when it opens (synchronously: the client may name it to another replica
 * at once) and ended when it closes (in the background, in order). A database that cannot be
 * written does not break the session here: it only cannot be routed to from elsewhere, and the
 * failure is logged. A lookup that fails answers empty, which the caller reports as unknown.
 */
public final class Ownership implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Ownership.class);

    /** What can be owned. */
    public enum Kind {
        SESSION, EXECUTION, APPROVAL, WORKSPACE
    }

    /**
     * The owner of one thing: its replica, that replica's address, whether it is alive, the identity
     * the thing belongs to, and (executions only) the status and message the index holds.
     */
    public record Owner(String replica, String url, boolean live, String identity, String status, String message) {
    }

    private final DataSource db;
    private final String replicaId;
    private final long deadAfterMs;
    private final ExecutorService writes;

    public Ownership(DataSource db, String replicaId, long deadAfterMs) {
        this.db = db;
        this.replicaId = replicaId;
        this.deadAfterMs = deadAfterMs;
        this.writes = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(10_000), r -> {
            Thread t = new Thread(r, "warden-fleet-ownership");
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.DiscardPolicy());
    }

    public String replicaId() {
        return replicaId;
    }

    /**
     * At start: the sessions this replica held before it (re)started are over (a restarted process
     * knows none of them); a client that names one is told to start a new session.
     *
     * @return how many were ended
     */
    public int endPreviousSessions() {
        return update("UPDATE sessions SET ended_at = now() WHERE replica = ? AND ended_at IS NULL", replicaId);
    }

    /** A session of {@code identity} opened here. */
    public void sessionOpened(String id, String identity) {
        update("INSERT INTO sessions (id, replica, identity) VALUES (?, ?, ?) "
                + "ON CONFLICT (id) DO UPDATE SET replica = EXCLUDED.replica, identity = EXCLUDED.identity, "
                + "created_at = now(), ended_at = NULL", id, replicaId, identity);
    }

    /** A session of this replica ended (in the background). */
    public void sessionEnded(String id) {
        writes.execute(() -> update("UPDATE sessions SET ended_at = now() WHERE id = ? AND replica = ? AND ended_at IS NULL",
                id, replicaId));
    }

    /** A durable workspace was created here. */
    public void workspaceCreated(String id, String identity) {
        update("INSERT INTO workspaces (id, replica, identity) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                + "replica = EXCLUDED.replica, identity = EXCLUDED.identity, deleted_at = NULL", id, replicaId, identity);
    }

    /** A durable workspace of this replica was deleted. */
    public void workspaceDeleted(String id) {
        update("UPDATE workspaces SET deleted_at = now() WHERE id = ? AND replica = ?", id, replicaId);
    }

    /**
     * The owner of {@code id}, when the shared tables know it: a session's status is {@code open} or
     * {@code ended}; a deleted workspace is not known.
     */
    public Optional<Owner> owner(Kind kind, String id) {
        String from = switch (kind) {
            case SESSION -> "SELECT o.replica, o.identity, CASE WHEN o.ended_at IS NULL THEN 'open' ELSE 'ended' END AS status, "
                    + "NULL::text AS message FROM sessions o WHERE o.id = ?";
            case WORKSPACE -> "SELECT o.replica, o.identity, NULL::text AS status, NULL::text AS message FROM workspaces o WHERE o.id = ? AND o.deleted_at IS NULL";
            case EXECUTION -> "SELECT o.replica, o.identity, o.status, o.message AS message FROM executions o WHERE o.id = ?";
            case APPROVAL -> "SELECT o.replica, o.identity, o.status, o.reason AS message FROM approvals o WHERE o.id = ?";
        };
        String sql = "SELECT x.*, r.url, (r.state = 'live' AND r.heartbeat_at > now() - make_interval(secs => ?)) AS live "
                + "FROM (" + from + ") x LEFT JOIN replicas r ON r.id = x.replica";
        try (Connection c = db.getConnection(); PreparedStatement st = c.prepareStatement(sql)) {
            st.setDouble(1, deadAfterMs / 1000.0);
            st.setString(2, id);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Owner(rs.getString("replica"), rs.getString("url"), rs.getBoolean("live"),
                        rs.getString("identity"), rs.getString("status"), rs.getString("message")));
            }
        }
        catch (SQLException e) {
            log.warn("fleet: could not look up the owner of {} {}: {}", kind, id, e.getMessage());
            return Optional.empty();
        }
    }

    private int update(String sql, String... values) {
        try (Connection c = db.getConnection(); PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < values.length; i++) {
                st.setString(i + 1, values[i]);
            }
            return st.executeUpdate();
        }
        catch (SQLException e) {
            log.warn("fleet: could not record ownership ({}): {}", sql.substring(0, Math.min(40, sql.length())),
                    e.getMessage());
            return 0;
        }
    }

    @Override
    public void close() throws InterruptedException {
        writes.shutdown();
        writes.awaitTermination(2, TimeUnit.SECONDS);
    }
}
