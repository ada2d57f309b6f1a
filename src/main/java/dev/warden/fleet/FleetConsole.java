package dev.warden.fleet;

import dev.warden.approval.Ruling;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's side of the fleet, for any replica's console, API and CLI: what the other replicas
 * hold and run, the replicas and their load, and the decisions and stops an operator makes here for a
 * call held or running on another replica (written to the shared state; the owner claims and applies
 * them within ~{@value Replica#CLAIM_EVERY_MS} ms). Reads are bounded (a few seconds) and a database out of
 * reach reads as nothing from the others, said once in the log: the local console still works.
 */
public final class FleetConsole {

    private static final Logger log = LoggerFactory.getLogger(FleetConsole.class);

    /** How an action went: 200, 404 (nothing such pending or running in the fleet), 409, 503 (no database). */
    public record Reply(int code, String message) {
    }

    /** A replica and its load, as of its last heartbeat. */
    public record ReplicaRow(String id, String url, String state, long heartbeatAgeMs, int running, int pending,
            int sessions, Instant startedAt, boolean self) {
    }

    /** An approval pending on another replica. */
    public record PendingRow(String id, String replica, String session, String client, String kind, String subject,
            String language, String cwd, String tier, String reason, Instant created, Instant expires, String details) {
    }

    /** An execution running on another replica. */
    public record RunningRow(String id, String replica, String session, String client, String tool, String subject,
            String tier, boolean background, Instant started) {
    }

    private final FleetDb db;
    private final Replica replica;
    private final String self;
    /** An owner whose heartbeat is older than this is not sent a decision or a stop: it might never apply it. */
    private final long silentAfterMs;
    private volatile boolean readFailed;

    FleetConsole(FleetDb db, Replica replica) {
        this.db = db;
        this.replica = replica;
        this.self = replica.id();
        this.silentAfterMs = 3 * replica.heartbeatMs();
    }

    /** The owner's liveness, as the UPDATEs below require it: live, and heard from lately. */
    private static String ownerHeard(String table) {
        return "EXISTS (SELECT 1 FROM replicas r WHERE r.id = " + table + ".replica AND r.state = 'live' "
                + "AND r.heartbeat_at >= now() - make_interval(secs => ?))";
    }

    /** How long ago the owner was last heard from, in ms (-1: no such replica). */
    private static long silence(Connection c, String owner) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT state, (extract(epoch FROM (now() - heartbeat_at)) * 1000)"
                + "::bigint FROM replicas WHERE id = ?")) {
            st.setQueryTimeout(5);
            st.setString(1, owner);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return -1;
                }
                return rs.getLong(2);
            }
        }
    }

    private static String silentOwner(String what, String owner, long ms) {
        return what + " is on replica " + owner + ", which has not been heard from for " + ms + " ms: nothing was sent "
                + "to it, since it might never apply it. If it is gone, the fleet declares it dead shortly and reports "
                + "the call as it ends (a held call expires as denied, a run reads lost); if it is only slow, try again.";
    }

    /** This replica (its shared kill switch). */
    public Replica replica() {
        return replica;
    }

    public String self() {
        return self;
    }

    /**
     * Decides an approval this replica does not hold: written if it is pending on another replica, whose
     * next claim releases (or denies) the waiting call there.
     */
    public Reply decide(String id, Ruling ruling) {
        try (Connection c = db.connection()) {
            try (PreparedStatement st = c.prepareStatement("UPDATE approvals SET status = ?, scope = ?, channel = ?, "
                    + "decided_by = ?, decided_at = now(), reason = ?, remote = true "
                    + "WHERE id = ? AND status = 'pending' AND replica <> ? AND " + ownerHeard("approvals") + " RETURNING replica")) {
                st.setQueryTimeout(5);
                st.setString(1, ruling.verdict().wire());
                st.setString(2, ruling.scope().wire());
                st.setString(3, ruling.channel().wire());
                st.setString(4, ruling.approver());
                st.setString(5, ruling.note());
                st.setString(6, id);
                st.setString(7, self);
                st.setDouble(8, silentAfterMs / 1000.0);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) {
                        return new Reply(200, id + " " + ruling.verdict().wire() + " by " + ruling.approver()
                                + " (held on replica " + rs.getString(1) + ", which releases the call)");
                    }
                }
            }
            try (PreparedStatement st = c.prepareStatement("SELECT replica, status, decided_by FROM approvals WHERE id = ?")) {
                st.setQueryTimeout(5);
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    if (!rs.next() || "pending".equals(rs.getString(2)) && self.equals(rs.getString(1))) {
                        return new Reply(404, "no pending approval " + id);
                    }
                    if ("pending".equals(rs.getString(2))) { // pending elsewhere, yet not updated: its owner is silent
                        return new Reply(503, silentOwner("approval " + id, rs.getString(1), silence(c, rs.getString(1))));
                    }
                    String by = rs.getString(3);
                    return new Reply(409, id + " was already decided (" + rs.getString(2) + " by "
                            + (by == null ? "Warden" : by) + ", on replica " + rs.getString(1) + "); nothing changed");
                }
            }
        }
        catch (SQLException e) {
            log.warn("fleet: approval {} could not be decided through the shared state: {}", id, e.getMessage());
            return new Reply(503, "no pending approval " + id + " on this replica, and the fleet's database cannot be "
                    + "reached to decide it on another (" + e.getMessage() + ")");
        }
    }

    /** Stops an execution running on another replica: asked in the shared state, stopped by its owner. */
    public Reply stop(String id, String by) {
        try (Connection c = db.connection()) {
            try (PreparedStatement st = c.prepareStatement("UPDATE executions SET stop_requested_by = ?, "
                    + "stop_requested_at = now() WHERE id = ? AND status = 'running' AND replica <> ? "
                    + "AND stop_requested_by IS NULL AND " + ownerHeard("executions") + " RETURNING replica")) {
                st.setQueryTimeout(5);
                st.setString(1, by);
                st.setString(2, id);
                st.setString(3, self);
                st.setDouble(4, silentAfterMs / 1000.0);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) {
                        return new Reply(200, id + " is being stopped (on replica " + rs.getString(1) + ")");
                    }
                }
            }
            try (PreparedStatement st = c.prepareStatement("SELECT replica, status, stop_requested_by FROM executions "
                    + "WHERE id = ?")) {
                st.setQueryTimeout(5);
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    if (!rs.next() || !"running".equals(rs.getString(2)) || self.equals(rs.getString(1))) {
                        return new Reply(404, "no running execution " + id);
                    }
                    if (rs.getString(3) == null) { // running elsewhere, no stop asked, yet not updated: its owner is silent
                        return new Reply(503, silentOwner("execution " + id, rs.getString(1), silence(c, rs.getString(1))));
                    }
                    return new Reply(200, id + " is being stopped (on replica " + rs.getString(1) + ", asked by "
                            + rs.getString(3) + ")");
                }
            }
        }
        catch (SQLException e) {
            log.warn("fleet: execution {} could not be stopped through the shared state: {}", id, e.getMessage());
            return new Reply(503, "no running execution " + id + " on this replica, and the fleet's database cannot be "
                    + "reached to stop it on another (" + e.getMessage() + ")");
        }
    }

    /** Every replica that ever joined, live ones first. */
    public List<ReplicaRow> replicas() {
        List<ReplicaRow> out = new ArrayList<>();
        read("SELECT id, url, state, (extract(epoch FROM (now() - heartbeat_at)) * 1000)::bigint, running, pending, "
                + "sessions, started_at FROM replicas ORDER BY state <> 'live', id", rs -> out.add(new ReplicaRow(
                        rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getInt(5), rs.getInt(6),
                        rs.getInt(7), instant(rs.getTimestamp(8)), self.equals(rs.getString(1)))));
        return out;
    }

    /** Approvals pending on the other replicas, oldest first. */
    public List<PendingRow> pendingElsewhere() {
        List<PendingRow> out = new ArrayList<>();
        read("SELECT id, replica, session, client, kind, summary, language, cwd, tier, reason, created_at, expires_at, "
                + "details FROM approvals WHERE status = 'pending' AND replica <> ? ORDER BY created_at LIMIT 500",
                rs -> out.add(new PendingRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9),
                        rs.getString(10), instant(rs.getTimestamp(11)), instant(rs.getTimestamp(12)),
                        rs.getString(13))), self);
        return out;
    }

    /** Executions running on the other replicas, oldest first. */
    public List<RunningRow> runningElsewhere() {
        List<RunningRow> out = new ArrayList<>();
        read("SELECT id, replica, session, client, tool, subject, tier, background, started_at FROM executions "
                + "WHERE status = 'running' AND replica <> ? ORDER BY started_at LIMIT 500",
                rs -> out.add(new RunningRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getString(6), rs.getString(7), rs.getBoolean(8),
                        instant(rs.getTimestamp(9)))), self);
        return out;
    }

    @FunctionalInterface
    private interface Row {
        void take(ResultSet rs) throws SQLException;
    }

    private void read(String sql, Row row, String... params) {
        try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement(sql)) {
            st.setQueryTimeout(3);
            for (int i = 0; i < params.length; i++) {
                st.setString(i + 1, params[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    row.take(rs);
                }
            }
            if (readFailed) {
                readFailed = false;
                log.warn("fleet: the operator view reads the shared state again");
            }
        }
        catch (SQLException e) {
            if (!readFailed) {
                readFailed = true;
                log.error("fleet: the operator view cannot read the shared state ({}); it shows this replica only",
                        e.getMessage());
            }
        }
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
