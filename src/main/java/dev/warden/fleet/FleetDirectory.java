package dev.warden.fleet;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Who owns what, read from the shared state: the replica that runs an execution or holds an approval,
 * its address, and whether it is alive. For forwarding a request to the owner (or refusing it clearly
 * when the owner is gone). Every answer is as of the read; an empty one means the id is unknown to the
 * fleet. Throws {@link SQLException} when the database cannot be asked: the caller decides (fail closed).
 */
public final class FleetDirectory {

    /**
     * A replica as the fleet last saw it. {@code live}: its state is live and its heartbeat is younger than
     * {@code fleet.dead_after_ms} (a replica that died a moment ago reads not live before anyone declared it dead).
     */
    public record Owner(String replica, String url, String state, boolean live, long heartbeatAgeMs) {
    }

    /**
     * An execution as the index has it: {@code status} is the contract's status once it ended (ok, killed, …),
     * {@code running} while it runs, or {@code lost} when its replica died while it ran ({@code message} says
     * when); {@code identity} is whom it belongs to (the client's token fingerprint), to check before saying more.
     */
    public record Execution(String id, String replica, String identity, String session, String tool, String tier,
            boolean background, String status, String message, java.time.Instant startedAt, java.time.Instant endedAt) {
    }

    private static final String OWNER = "SELECT r.id, r.url, r.state, "
            + "(extract(epoch FROM (now() - r.heartbeat_at)) * 1000)::bigint FROM replicas r ";

    private final FleetDb db;
    private final long deadAfterMs;

    public FleetDirectory(FleetDb db, long deadAfterMs) {
        this.db = db;
        this.deadAfterMs = deadAfterMs;
    }

    /** The replica that runs (or ran) this execution. */
    public Optional<Owner> ownerOfExecution(String executionId) throws SQLException {
        return one(OWNER + "JOIN executions e ON e.replica = r.id WHERE e.id = ?", executionId);
    }

    /** The replica that holds (or held) this approval; its id is the held call's execution id. */
    public Optional<Owner> ownerOfApproval(String approvalId) throws SQLException {
        return one(OWNER + "JOIN approvals a ON a.replica = r.id WHERE a.id = ?", approvalId);
    }

    /** A replica by its id. */
    public Optional<Owner> replica(String replicaId) throws SQLException {
        return one(OWNER + "WHERE r.id = ?", replicaId);
    }

    /** The index's row of an execution (its owner: {@link #ownerOfExecution}). */
    public Optional<Execution> execution(String executionId) throws SQLException {
        try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement("SELECT id, replica, identity, "
                + "session, tool, tier, background, status, message, started_at, ended_at FROM executions WHERE id = ?")) {
            st.setQueryTimeout(5);
            st.setString(1, executionId);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                java.sql.Timestamp ended = rs.getTimestamp(11);
                return Optional.of(new Execution(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getString(6), rs.getBoolean(7), rs.getString(8), rs.getString(9),
                        rs.getTimestamp(10).toInstant(), ended == null ? null : ended.toInstant()));
            }
        }
    }

    private Optional<Owner> one(String sql, String key) throws SQLException {
        try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement(sql)) {
            st.setQueryTimeout(5);
            st.setString(1, key);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                String state = rs.getString(3);
                long age = rs.getLong(4);
                return Optional.of(new Owner(rs.getString(1), rs.getString(2), state,
                        "live".equals(state) && age < deadAfterMs, age));
            }
        }
    }
}
