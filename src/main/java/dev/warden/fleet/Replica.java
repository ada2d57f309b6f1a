package dev.warden.fleet;

import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.approval.Scope;
import dev.warden.approval.Verdict;
import dev.warden.audit.AuditLog;
import dev.warden.call.Channel;
import dev.warden.config.WardenConfig;
import dev.warden.limit.Executions;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process as a replica of the fleet: it joins ({@code replicas} row, after cleaning up what an
 * earlier process of the same id left after a kill -9), beats every {@code fleet.heartbeat_ms} (its load,
 * the shared kill switch applied here), declares dead every replica whose heartbeat is older than
 * {@code fleet.dead_after_ms} and cleans up after it (its running executions lost, its held approvals
 * expired as denials, its sessions ended, each an incident in this replica's stream), claims what an
 * operator decided on another replica for a call held or running here, and leaves cleanly at stop.
 *
 * <p>Every transition that reports something is one transaction whose first statement is an
 * {@code UPDATE ... WHERE state = 'live' RETURNING}: two replicas that notice the same death at once
 * serialise on that row, and the second finds nothing left to report. Times are the database's clock.
 */
public final class Replica implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Replica.class);
    /** How often a replica that holds or runs anything asks for decisions and stops made elsewhere. */
    static final long CLAIM_EVERY_MS = 100;

    private final FleetDb db;
    private final String id;
    private volatile String url;
    private final long heartbeatMs;
    private final long deadAfterMs;
    private final Executions executions;
    private final ApprovalService approvals;
    private final AuditLog audit;
    private final IntSupplier sessions;
    private final FleetWrites writes;
    private final FleetIndex index;
    private final ScheduledExecutorService beats;
    /** Guards reading and turning the kill switch, so a heartbeat never undoes what an operator just did. */
    private final Object killSwitchLock = new Object();
    /** The {@code at} of the kill switch's row as last applied here (its version). */
    private Timestamp killSwitchSeen;
    private volatile boolean dbDown;
    private volatile boolean left;
    /** Beats and claims held back (tests: a replica that pauses, as in a long GC or a partition). */
    private volatile boolean paused;
    /** When this replica's last heartbeat was written (System.nanoTime), 0 before the first. */
    private long lastBeatOk;
    /** Since when its heartbeats have been written without a gap: it judges the others only after dead_after_ms of that. */
    private long beatingSince;

    Replica(FleetDb db, String id, String url, long heartbeatMs, long deadAfterMs, Executions executions,
            ApprovalService approvals, AuditLog audit, IntSupplier sessions) {
        this.db = db;
        this.id = id;
        this.url = url;
        this.heartbeatMs = Math.max(20, heartbeatMs);
        this.deadAfterMs = Math.max(this.heartbeatMs * 2, deadAfterMs);
        this.executions = executions;
        this.approvals = approvals;
        this.audit = audit;
        this.sessions = sessions;
        this.writes = new FleetWrites(db);
        this.index = new FleetIndex(id, writes);
        this.beats = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "warden-fleet-" + id);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Joins the fleet: cleans up the rows an earlier process of this id left (a restart after kill -9),
     * registers live, applies the shared kill switch, and starts beating. Throws if the database refuses:
     * a replica that cannot join does not serve.
     */
    public static Replica join(FleetDb db, WardenConfig.Fleet config, String id, String url, Executions executions,
            ApprovalService approvals, AuditLog audit, IntSupplier sessions) {
        Replica r = new Replica(db, id, url, config.heartbeatMs(), config.deadAfterMs(), executions, approvals, audit,
                sessions);
        try {
            r.register();
        }
        catch (SQLException e) {
            r.writes.close();
            r.beats.shutdownNow();
            throw new IllegalStateException("the fleet's PostgreSQL refused replica " + id + " joining: " + e.getMessage(), e);
        }
        approvals.watch(r.index);
        r.beats.scheduleWithFixedDelay(r::beat, 0, r.heartbeatMs, TimeUnit.MILLISECONDS);
        r.beats.scheduleWithFixedDelay(r::claim, CLAIM_EVERY_MS, Math.min(CLAIM_EVERY_MS, r.heartbeatMs),
                TimeUnit.MILLISECONDS);
        log.info("fleet: replica {} joined at {} (heartbeat every {} ms, dead after {} ms)", id, url, r.heartbeatMs,
                r.deadAfterMs);
        return r;
    }

    /** The replica id: fleet.replica_id, else WARDEN_REPLICA_ID, else the host's name and the HTTP port. */
    public static String idFor(WardenConfig.Fleet config, int port) {
        if (!config.replicaId().isEmpty()) {
            return config.replicaId();
        }
        String env = System.getenv("WARDEN_REPLICA_ID");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        }
        catch (UnknownHostException e) {
            host = "warden";
        }
        return host + "-" + port;
    }

    public String id() {
        return id;
    }

    public String url() {
        return url;
    }

    /** The index of executions and approvals this replica writes (the pipeline's {@code ExecutionIndex}). */
    public FleetIndex index() {
        return index;
    }

    /** How often this replica beats: the others read a few missed beats as an owner gone silent. */
    long heartbeatMs() {
        return heartbeatMs;
    }

    /** Whether the last heartbeat reached the database. */
    public boolean dbDown() {
        return dbDown;
    }

    /** The address changed (an HTTP port known only once bound): written with the next heartbeat. */
    public void url(String url) {
        this.url = url;
    }

    // ---- joining -------------------------------------------------------------------------------

    private void register() throws SQLException {
        List<Map<String, Object>> incidents = new ArrayList<>();
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            try {
                Timestamp last = null;
                String state = null;
                try (PreparedStatement st = c.prepareStatement("SELECT state, heartbeat_at FROM replicas WHERE id = ? "
                        + "FOR UPDATE")) {
                    st.setString(1, id);
                    try (ResultSet rs = st.executeQuery()) {
                        if (rs.next()) {
                            state = rs.getString(1);
                            last = rs.getTimestamp(2);
                        }
                    }
                }
                if (state != null) {
                    String at = last.toInstant().toString();
                    String why = "live".equals(state) ? "replica " + id + " restarted; its previous process stopped "
                            + "answering at " + at + " without stopping cleanly" : "replica " + id + " restarted";
                    incidents.addAll(cleanUp(c, id, why + "; the outcome of this run is unknown",
                            why + ", and the process that held this call is gone", false));
                }
                try (PreparedStatement st = c.prepareStatement("INSERT INTO replicas (id, url) VALUES (?, ?) "
                        + "ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, started_at = now(), heartbeat_at = now(), "
                        + "state = 'live', running = 0, pending = 0, sessions = 0, ended_at = NULL, ended_by = NULL")) {
                    st.setString(1, id);
                    st.setString(2, url);
                    st.executeUpdate();
                }
                c.commit();
            }
            catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
        for (Map<String, Object> i : incidents) {
            i.put("event", "fleet.restart_cleanup." + i.remove("what"));
            audit.incident(i);
        }
        if (!incidents.isEmpty()) {
            log.warn("fleet: replica {} cleaned up {} rows its previous process left", id, incidents.size());
        }
    }

    // ---- the heartbeat -------------------------------------------------------------------------

    /** One heartbeat: this replica's load, the shared kill switch, the dead. Never throws (the scheduler would stop). */
    void beat() {
        if (left || paused) {
            return;
        }
        try (Connection c = db.connection()) {
            int n;
            try (PreparedStatement st = c.prepareStatement("UPDATE replicas SET heartbeat_at = now(), url = ?, running = ?, "
                    + "pending = ?, sessions = ? WHERE id = ? AND state = 'live'")) {
                st.setString(1, url);
                st.setInt(2, executions.running().size());
                st.setInt(3, approvals.pending().size());
                st.setInt(4, sessions.getAsInt());
                st.setString(5, id);
                n = st.executeUpdate();
            }
            if (n == 0) {
                rejoin(c);
            }
            if (dbDown) {
                dbDown = false;
                log.warn("fleet: replica {} reaches PostgreSQL again", id);
            }
            applyKillSwitch(c);
            long now = System.nanoTime();
            // a gap of half dead_after_ms (PostgreSQL out of reach, a pause) may have held back the others' beats too;
            // shorter ones (a slow beat) cannot have made a live replica's heartbeat look dead_after_ms old
            if (lastBeatOk == 0 || now - lastBeatOk > TimeUnit.MILLISECONDS.toNanos(Math.max(2 * heartbeatMs, deadAfterMs / 2))) {
                beatingSince = now;
            }
            lastBeatOk = now;
            // a replica judges the others only once its own heartbeats have gone through for dead_after_ms: after an
            // outage of the database every replica's heartbeat is old, and the first one back must not declare
            // the rest dead (their runs lost, their calls denied) before they had a chance to beat again
            if (now - beatingSince >= TimeUnit.MILLISECONDS.toNanos(deadAfterMs)) {
                detectDead(c);
            }
        }
        catch (SQLException | RuntimeException e) {
            if (!dbDown) {
                dbDown = true;
                log.error("fleet: replica {} cannot reach PostgreSQL ({}); its heartbeat stops, and after {} ms the "
                        + "others will report its runs lost", id, e.getMessage(), deadAfterMs);
            }
        }
    }

    /**
     * This replica was declared dead (its heartbeats did not arrive in time: a pause, the database out of
     * reach): its runs were reported lost and its held calls expired elsewhere. It says so, takes its place
     * again, and the next claim applies those reports here (the runs stopped, the calls denied).
     */
    private void rejoin(Connection c) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("INSERT INTO replicas (id, url) VALUES (?, ?) ON CONFLICT (id) "
                + "DO UPDATE SET state = 'live', heartbeat_at = now(), url = EXCLUDED.url, ended_at = NULL, ended_by = NULL")) {
            st.setString(1, id);
            st.setString(2, url);
            st.executeUpdate();
        }
        Map<String, Object> line = incident("fleet.rejoined");
        line.put("message", "replica " + id + " was declared dead by the fleet while it still ran (its heartbeat was "
                + "late); its running executions were reported lost and its held approvals expired, so they are stopped "
                + "and denied here too; it serves again");
        audit.incident(line);
        log.error("fleet: {}", line.get("message"));
    }

    /** Reads the shared switch and, if it changed since last applied here, applies it (Executions' own switch). */
    private void applyKillSwitch(Connection c) throws SQLException {
        synchronized (killSwitchLock) {
            boolean engaged;
            String by;
            String from;
            Timestamp at;
            try (PreparedStatement st = c.prepareStatement("SELECT engaged, by_whom, replica, at FROM kill_switch WHERE id = 1");
                    ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return;
                }
                engaged = rs.getBoolean(1);
                by = rs.getString(2);
                from = rs.getString(3);
                at = rs.getTimestamp(4);
            }
            if (at.equals(killSwitchSeen)) {
                return;
            }
            killSwitchSeen = at;
            boolean on = executions.halted() != null;
            if (engaged == on) {
                return;
            }
            String who = (by == null ? "an operator" : by) + (from == null ? "" : " on replica " + from);
            executions.killSwitch(engaged, who);
            Map<String, Object> line = incident(engaged ? "fleet.kill_switch_on" : "fleet.kill_switch_off");
            line.put("by", by);
            line.put("from_replica", from);
            audit.incident(line);
            log.warn("fleet: kill switch {} here, turned by {}", engaged ? "on" : "off", who);
        }
    }

    /**
     * Turns the shared switch (after the local one was turned by the operator here): written with this
     * replica's name, and remembered as applied, so this replica's next heartbeat does not turn it again.
     *
     * @return null, or why the other replicas could not be told (the database is out of reach)
     */
    public String shareKillSwitch(boolean on, String by) {
        synchronized (killSwitchLock) {
            try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement("UPDATE kill_switch SET "
                    + "engaged = ?, by_whom = ?, replica = ?, at = now() WHERE id = 1 RETURNING at")) {
                st.setBoolean(1, on);
                st.setString(2, by);
                st.setString(3, id);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) {
                        killSwitchSeen = rs.getTimestamp(1);
                    }
                }
                return null;
            }
            catch (SQLException e) {
                log.error("fleet: the kill switch could not be shared ({}); it is {} on replica {} only", e.getMessage(),
                        on ? "on" : "off", id);
                return "the other replicas could not be told (PostgreSQL: " + e.getMessage() + ")";
            }
        }
    }

    /** Declares dead every live replica whose heartbeat is too old, and cleans up after each, in one transaction. */
    private void detectDead(Connection c) throws SQLException {
        List<Map<String, Object>> incidents = new ArrayList<>();
        c.setAutoCommit(false);
        try {
            List<String[]> dead = new ArrayList<>();
            try (PreparedStatement st = c.prepareStatement("UPDATE replicas SET state = 'dead', ended_at = now(), ended_by = ? "
                    + "WHERE state = 'live' AND id <> ? AND heartbeat_at < now() - make_interval(secs => ?) "
                    + "RETURNING id, heartbeat_at, url")) {
                st.setString(1, id);
                st.setString(2, id);
                st.setDouble(3, deadAfterMs / 1000.0);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        dead.add(new String[] {rs.getString(1), rs.getTimestamp(2).toInstant().toString(), rs.getString(3)});
                    }
                }
            }
            for (String[] d : dead) {
                Map<String, Object> line = incident("fleet.replica_dead");
                line.put("dead_replica", d[0]);
                line.put("url", d[2]);
                line.put("last_heartbeat", d[1]);
                line.put("message", "replica " + d[0] + " stopped answering at " + d[1] + " (no heartbeat for "
                        + deadAfterMs + " ms); " + id + " declared it dead and cleaned up after it");
                incidents.add(line);
                String why = "replica " + d[0] + " stopped answering at " + d[1];
                for (Map<String, Object> i : cleanUp(c, d[0], why + "; the outcome of this run is unknown",
                        why + ", and the replica holding the call is gone", true)) {
                    i.put("event", "fleet." + i.remove("what"));
                    incidents.add(i);
                }
            }
            c.commit();
        }
        catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        }
        finally {
            c.setAutoCommit(true);
        }
        for (Map<String, Object> i : incidents) {
            audit.incident(i);
        }
        for (Map<String, Object> i : incidents) {
            if ("fleet.replica_dead".equals(i.get("event"))) {
                log.error("fleet: {}", i.get("message"));
            }
        }
    }

    /**
     * Within the caller's transaction: the replica's running executions become {@code lost}, its pending
     * approvals {@code expired} (a denial), its open sessions ended. With {@code mayBeAlive} (declared dead by
     * another replica, which may only be late), the reports are left for it to claim too: its runs are asked
     * to stop and its held calls to be denied, should it come back.
     *
     * @return one incident line per row changed (field {@code what}: execution_lost, approval_expired, session_ended)
     */
    private static List<Map<String, Object>> cleanUp(Connection c, String replica, String runWhy, String approvalWhy,
            boolean mayBeAlive) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("UPDATE executions SET status = 'lost', ended_at = now(), message = ?"
                + (mayBeAlive ? ", stop_requested_by = coalesce(stop_requested_by, 'Warden'), "
                        + "stop_requested_at = coalesce(stop_requested_at, now())" : "")
                + " WHERE replica = ? AND status = 'running' RETURNING id, identity, session, tool, tier, background")) {
            st.setString(1, runWhy);
            st.setString(2, replica);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("ts", Instant.now().toString());
                    line.put("type", "incident");
                    line.put("what", "execution_lost");
                    line.put("of_replica", replica);
                    line.put("execution_id", rs.getString(1));
                    line.put("identity", rs.getString(2));
                    line.put("session", rs.getString(3));
                    line.put("tool", rs.getString(4));
                    line.put("tier", rs.getString(5));
                    line.put("background", rs.getBoolean(6));
                    line.put("status", "lost");
                    line.put("message", runWhy);
                    out.add(line);
                }
            }
        }
        try (PreparedStatement st = c.prepareStatement("UPDATE approvals SET status = 'expired', scope = 'once', "
                + "channel = 'policy', decided_by = NULL, decided_at = now(), reason = ?, remote = ? "
                + "WHERE replica = ? AND status = 'pending' RETURNING id, session, tool")) {
            st.setString(1, approvalWhy);
            st.setBoolean(2, mayBeAlive);
            st.setString(3, replica);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("ts", Instant.now().toString());
                    line.put("type", "incident");
                    line.put("what", "approval_expired");
                    line.put("of_replica", replica);
                    line.put("execution_id", rs.getString(1));
                    line.put("session", rs.getString(2));
                    line.put("tool", rs.getString(3));
                    line.put("decision", "expired");
                    line.put("reason", approvalWhy);
                    out.add(line);
                }
            }
        }
        try (PreparedStatement st = c.prepareStatement("UPDATE sessions SET ended_at = now() WHERE replica = ? "
                + "AND ended_at IS NULL RETURNING id")) {
            st.setString(1, replica);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("ts", Instant.now().toString());
                    line.put("type", "incident");
                    line.put("what", "session_ended");
                    line.put("of_replica", replica);
                    line.put("session", rs.getString(1));
                    line.put("message", "its replica " + replica + " is gone: the session's next call is refused");
                    out.add(line);
                }
            }
        }
        return out;
    }

    // ---- what an operator decided elsewhere ----------------------------------------------------

    /** Claims decisions and stops written by other replicas for calls held or running here, and applies them. */
    void claim() {
        if (left || paused) {
            return;
        }
        boolean holding = !approvals.pending().isEmpty();
        boolean running = !executions.running().isEmpty();
        if (!holding && !running) {
            return;
        }
        try (Connection c = db.connection()) {
            if (holding) {
                claimDecisions(c);
            }
            if (running) {
                claimStops(c);
            }
        }
        catch (SQLException | RuntimeException e) {
            log.debug("fleet: claims not read: {}", e.getMessage());
        }
    }

    private void claimDecisions(Connection c) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("UPDATE approvals SET remote = false WHERE replica = ? AND remote "
                + "RETURNING id, status, scope, decided_by, channel, reason, decided_at")) {
            st.setString(1, id);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    String approval = rs.getString(1);
                    Ruling ruling = ruling(rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                            rs.getString(6), rs.getTimestamp(7));
                    if (ruling == null) {
                        continue;
                    }
                    ApprovalService.Outcome o = approvals.decide(approval, ruling);
                    if (o != ApprovalService.Outcome.DECIDED) {
                        // decided here first (or forgotten): the row says what took effect
                        approvals.find(approval).flatMap(ApprovalService.Pending::decided)
                            .ifPresent(local -> index.writeDecision(approval, local));
                    }
                    log.info("fleet: approval {} decided on another replica ({} by {}): {}", approval, rs.getString(2),
                            rs.getString(4), o);
                }
            }
        }
    }

    static Ruling ruling(String status, String scope, String by, String channel, String reason, Timestamp at) {
        Instant when = at == null ? Instant.now() : at.toInstant();
        Channel ch = channel(channel);
        switch (status) {
            case "approved":
                return new Ruling(Verdict.APPROVED, "session".equals(scope) ? Scope.SESSION : Scope.ONCE, by, ch, when, null);
            case "denied":
                return new Ruling(Verdict.DENIED, Scope.ONCE, by, ch, when, reason == null ? "an operator denied it" : reason);
            case "expired":
                return new Ruling(Verdict.EXPIRED, Scope.ONCE, by, Channel.POLICY, when, reason);
            default:
                return null;
        }
    }

    static Channel channel(String wire) {
        if (wire != null) {
            for (Channel c : Channel.values()) {
                if (c.wire().equals(wire)) {
                    return c;
                }
            }
        }
        return Channel.OPERATOR;
    }

    private void claimStops(Connection c) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("UPDATE executions SET stop_claimed = true WHERE replica = ? "
                + "AND stop_requested_by IS NOT NULL AND NOT stop_claimed RETURNING id, stop_requested_by")) {
            st.setString(1, id);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    boolean stopped = executions.stop(rs.getString(1), rs.getString(2));
                    log.info("fleet: execution {} stopped at the request of {} on another replica: {}", rs.getString(1),
                            rs.getString(2), stopped ? "stopped" : "no longer running here");
                }
            }
        }
    }

    // ---- leaving -------------------------------------------------------------------------------

    /** Holds back beats and claims, or lets them go again (tests). */
    void pause(boolean p) {
        paused = p;
    }

    /** Stops beating and writing without a word, as a kill -9 would (tests). */
    void crash() {
        left = true;
        beats.shutdownNow();
        writes.close();
    }

    /**
     * A clean stop, once every call in flight was answered: what is queued is written, the replica is
     * marked {@code stopped}, and whatever rows it still had are closed as a dead replica's would be.
     */
    @Override
    public void close() {
        if (left) {
            return;
        }
        left = true;
        beats.shutdownNow();
        writes.close();
        List<Map<String, Object>> incidents = new ArrayList<>();
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement st = c.prepareStatement("UPDATE replicas SET state = 'stopped', ended_at = now(), "
                        + "ended_by = ?, running = 0, pending = 0, sessions = 0 WHERE id = ?")) {
                    st.setString(1, id);
                    st.setString(2, id);
                    st.executeUpdate();
                }
                String why = "replica " + id + " stopped while it ran";
                incidents.addAll(cleanUp(c, id, why + "; the outcome of this run is unknown", why, false));
                c.commit();
            }
            catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
        catch (SQLException | RuntimeException e) {
            log.warn("fleet: replica {} could not say it stopped ({}); the others will find it dead after {} ms", id,
                    e.getMessage(), deadAfterMs);
        }
        for (Map<String, Object> i : incidents) {
            i.put("event", "fleet.stop_cleanup." + i.remove("what"));
            audit.incident(i);
        }
        log.info("fleet: replica {} left the fleet", id);
    }

    private Map<String, Object> incident(String event) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", Instant.now().toString());
        line.put("type", "incident");
        line.put("event", event);
        return line;
    }
}
