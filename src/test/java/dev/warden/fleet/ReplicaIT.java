package dev.warden.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.FleetOperator;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.approval.Scope;
import dev.warden.approval.Verdict;
import dev.warden.audit.AuditLog;
import dev.warden.call.Channel;
import dev.warden.call.Status;
import dev.warden.config.WardenConfig;
import dev.warden.exec.Cancel;
import dev.warden.limit.ExecutionIndex;
import dev.warden.limit.Executions;
import dev.warden.operator.OperatorConsole;
import dev.warden.policy.Finding;
import dev.warden.policy.Severity;
import dev.warden.sanitize.Sanitizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas on one real PostgreSQL (tools/fleet-services.sh), each a {@link FleetControl} over the real
 * parts it drives (Executions, ApprovalService, AuditLog, OperatorConsole): death detection, cleanup after a
 * restart, the shared kill switch, an approval and a stop decided on one replica for a call on another.
 */
class ReplicaIT {

    static final long HEARTBEAT_MS = 100;
    static final long DEAD_AFTER_MS = 600;
    @RegisterExtension
    static final FleetServices services = new FleetServices();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** One replica: its parts, as WardenServer wires them. */
    final class Node implements AutoCloseable {
        final String id;
        final Executions executions = new Executions(4, 4, 1000);
        final ApprovalService approvals = new ApprovalService(Duration.ofMinutes(5), (r, ruling) -> {
        });
        final AuditLog audit;
        final FleetControl fleet;
        final OperatorConsole console;
        boolean gone;

        Node(String id, long deadAfterMs) throws Exception {
            this.id = id;
            Files.createDirectories(dir.resolve(id));
            audit = new AuditLog(dir.resolve(id).resolve("audit.jsonl"), dir.resolve(id).resolve("incidents.jsonl"), false,
                    0, 1, JSON);
            audit.replica(id);
            fleet = FleetControl.start(config(deadAfterMs), id, "http://127.0.0.1:1/" + id, executions, approvals, audit,
                    () -> 3);
            console = new OperatorConsole(approvals, executions, new OperatorConsole.Kernels(List::of, k -> false), audit,
                    new Sanitizer(List.of(), Map.of()));
            console.fleet(new FleetOperator(fleet.console()));
            fleet.index().details(FleetOperator::details);
        }

        /** kill -9: no word to the fleet. */
        void crash() {
            gone = true;
            fleet.crash();
        }

        List<Map<String, Object>> incidents() throws Exception {
            List<Map<String, Object>> out = new ArrayList<>();
            Path f = dir.resolve(id).resolve("incidents.jsonl");
            if (Files.exists(f)) {
                for (String line : Files.readAllLines(f)) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> m = JSON.readValue(line, Map.class);
                    out.add(m);
                }
            }
            return out;
        }

        @Override
        public void close() throws Exception {
            if (!gone) {
                gone = true;
                fleet.close();
            }
            approvals.close();
            audit.close();
        }
    }

    final List<Node> nodes = new ArrayList<>();

    static WardenConfig.Fleet config(long deadAfterMs) {
        return new WardenConfig.Fleet("", "", "", "", new WardenConfig.Postgres(services.postgresUrl(),
                services.postgresUser(), "", 4), HEARTBEAT_MS, deadAfterMs);
    }

    Node node(String id) throws Exception {
        return node(id, DEAD_AFTER_MS);
    }

    Node node(String id, long deadAfterMs) throws Exception {
        Node n = new Node(id, deadAfterMs);
        nodes.add(n);
        return n;
    }

    @BeforeEach
    void emptyTables() throws Exception {
        try (FleetDb db = FleetDb.open(config(DEAD_AFTER_MS).postgres(), "test"); Connection c = db.connection();
                Statement st = c.createStatement()) {
            st.execute("TRUNCATE replicas, executions, approvals, sessions");
            st.execute("UPDATE kill_switch SET engaged = false, by_whom = NULL, replica = NULL, at = now()");
        }
    }

    @AfterEach
    void closeNodes() throws Exception {
        for (Node n : nodes) {
            n.close();
        }
    }

    static String newId() {
        byte[] b = new byte[10];
        ThreadLocalRandom.current().nextBytes(b);
        return "ex_" + HexFormat.of().formatHex(b);
    }

    static ApprovalRequest request(String id, Duration ttl) {
        Instant now = Instant.now();
        return new ApprovalRequest(id, "session-1", "client/1.0", "run_command", "rm -rf build", null, "", "L2",
                List.of(new Finding("fs.rm", Severity.HIGH, "removes files recursively")), List.of("fs.rm"),
                "the rule fs.rm held it", now, now.plus(ttl));
    }

    static void waitFor(String what, long ms, BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within " + ms + " ms: " + what);
            }
            Thread.sleep(20);
        }
    }

    /** A one-row, one-column query (null if no row). */
    static String sql(String query, String... params) {
        try (FleetDb db = FleetDb.open(config(DEAD_AFTER_MS).postgres(), "test"); Connection c = db.connection();
                PreparedStatement st = c.prepareStatement(query)) {
            for (int i = 0; i < params.length; i++) {
                st.setString(i + 1, params[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
        catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A running execution on {@code n}: in its Executions (stoppable) and in the shared index. */
    static Cancel run(Node n, String id, boolean background) throws InterruptedException {
        Cancel cancel = new Cancel();
        Executions.Entry e = n.executions.enter(new Executions.Running(id, "session-1", "client/1.0", "run_command",
                "sleep 100", "L2", Instant.now(), cancel), "token-a", q -> { });
        assertTrue(e instanceof Executions.Admitted, "admitted");
        n.fleet.index().started(new ExecutionIndex.Started(id, "token-a", "session-1", "client/1.0", "run_command", "L2",
                background, "sleep 100"));
        return cancel;
    }

    static long count(List<Map<String, Object>> incidents, String event) {
        return incidents.stream().filter(i -> event.equals(i.get("event"))).count();
    }

    // ---- death ---------------------------------------------------------------------------------

    @Test
    void aSilentReplicaIsDeclaredDeadOnceItsRunsLostItsApprovalsDeniedItsSessionsEnded() throws Exception {
        Node a = node("ra");
        Node b = node("rb");
        Node c = node("rc");
        String run = newId();
        run(c, run, true); // background: its row is written before started() returns
        assertEquals("running", sql("SELECT status FROM executions WHERE id = ?", run));
        String held = newId();
        assertTrue(c.approvals.open(request(held, Duration.ofMinutes(5))).isPresent());
        waitFor("the approval's row", 2000, () -> "pending".equals(sql("SELECT status FROM approvals WHERE id = ?", held)));
        sql("INSERT INTO sessions (id, replica, identity) VALUES ('s-1', 'rc', 'token-a') RETURNING id");
        // a and b see c live and loaded
        waitFor("rc's load", 2000, () -> "1".equals(sql("SELECT running FROM replicas WHERE id = 'rc'")));

        long killed = System.nanoTime();
        c.crash();
        // besides their own heartbeats, ra and rb race each other at detecting it, beat for beat
        List<Thread> racers = new ArrayList<>();
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        for (Node n : List.of(a, b)) {
            Thread t = new Thread(() -> {
                while (!done.get()) {
                    n.fleet.replica().beat();
                }
            });
            t.start();
            racers.add(t);
        }
        waitFor("rc declared dead", 5000, () -> "dead".equals(sql("SELECT state FROM replicas WHERE id = 'rc'")));
        Thread.sleep(200);
        done.set(true);
        for (Thread t : racers) {
            t.join();
        }
        long detectedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
        assertTrue(detectedMs >= DEAD_AFTER_MS - HEARTBEAT_MS, "not before dead_after: " + detectedMs);

        assertEquals("lost", sql("SELECT status FROM executions WHERE id = ?", run));
        String message = sql("SELECT message FROM executions WHERE id = ?", run);
        assertTrue(message.startsWith("replica rc stopped answering at ") && message.endsWith("the outcome of this run is "
                + "unknown"), message);
        assertEquals("expired", sql("SELECT status FROM approvals WHERE id = ?", held));
        assertTrue(sql("SELECT reason FROM approvals WHERE id = ?", held).contains("the replica holding the call is gone"));
        assertNotNull(sql("SELECT ended_at FROM sessions WHERE id = 's-1'"));
        assertEquals("live", sql("SELECT state FROM replicas WHERE id = 'ra'"));
        assertEquals("live", sql("SELECT state FROM replicas WHERE id = 'rb'"));

        Thread.sleep(5 * HEARTBEAT_MS); // more heartbeats of both: nothing is reported twice
        List<Map<String, Object>> all = new ArrayList<>(a.incidents());
        all.addAll(b.incidents());
        assertEquals(1, count(all, "fleet.replica_dead"), all.toString());
        assertEquals(1, count(all, "fleet.execution_lost"), all.toString());
        assertEquals(1, count(all, "fleet.approval_expired"), all.toString());
        assertEquals(1, count(all, "fleet.session_ended"), all.toString());
        Map<String, Object> lost = all.stream().filter(i -> "fleet.execution_lost".equals(i.get("event"))).findFirst()
                .orElseThrow();
        assertEquals(run, lost.get("execution_id"));
        assertEquals("rc", lost.get("of_replica"));
        String detector = (String) lost.get("replica"); // the detecting replica's id, on its own line
        assertTrue(detector.equals("ra") || detector.equals("rb"), String.valueOf(detector));
        System.out.println("death detected after " + detectedMs + " ms (heartbeat " + HEARTBEAT_MS + " ms, dead after "
                + DEAD_AFTER_MS + " ms) by " + detector);
    }

    @Test
    void aReplicaDeclaredDeadWhileItWasOnlyLateStopsItsRunsAndDeniesItsCallsWhenItComesBack() throws Exception {
        Node late = node("la");
        Node b = node("lb");
        String run = newId();
        Cancel cancel = run(late, run, true);
        String held = newId();
        ApprovalService.Pending p = late.approvals.open(request(held, Duration.ofMinutes(5))).orElseThrow();
        late.fleet.replica().pause(true); // a long pause: no heartbeat
        waitFor("la declared dead", 5000, () -> "dead".equals(sql("SELECT state FROM replicas WHERE id = 'la'")));
        assertEquals("lost", sql("SELECT status FROM executions WHERE id = ?", run));
        assertNull(cancel.reason(), "still running where it is");
        late.fleet.replica().pause(false);
        waitFor("la live again", 3000, () -> "live".equals(sql("SELECT state FROM replicas WHERE id = 'la'")));
        // what the fleet reported is made true where it runs: the run stopped, the held call denied
        Ruling r = p.ruling().get(3, TimeUnit.SECONDS);
        assertEquals(Verdict.EXPIRED, r.verdict());
        assertTrue(r.note().contains("the replica holding the call is gone"), r.note());
        waitFor("its run stopped", 3000, () -> cancel.reason() != null);
        assertEquals(1, count(late.incidents(), "fleet.rejoined"));
        assertEquals(1, count(b.incidents(), "fleet.replica_dead"));
        assertEquals("expired", sql("SELECT status FROM approvals WHERE id = ?", held));
    }

    @Test
    void afterAnOutageThatHeldBackEveryHeartbeatNoReplicaDeclaresTheOthersDead() throws Exception {
        Node a = node("oa");
        Node b = node("ob");
        String run = newId();
        Cancel cancel = run(b, run, true);
        Thread.sleep(DEAD_AFTER_MS + 200); // both judge the others by now
        // PostgreSQL out of reach for both (as for every replica in an outage): no heartbeat gets through
        a.fleet.replica().pause(true);
        b.fleet.replica().pause(true);
        Thread.sleep(3 * DEAD_AFTER_MS);
        a.fleet.replica().pause(false); // the first one back sees every other heartbeat far too old
        Thread.sleep(3 * HEARTBEAT_MS);
        b.fleet.replica().pause(false);
        Thread.sleep(2 * DEAD_AFTER_MS);
        assertEquals("live", sql("SELECT state FROM replicas WHERE id = 'ob'"));
        assertEquals("live", sql("SELECT state FROM replicas WHERE id = 'oa'"));
        assertEquals("running", sql("SELECT status FROM executions WHERE id = ?", run));
        assertNull(cancel.reason(), "its run goes on");
        assertEquals(0, count(a.incidents(), "fleet.replica_dead"));
        assertEquals(0, count(b.incidents(), "fleet.replica_dead"));
        // and a replica that really is gone is still found, dead_after_ms after the others beat again
        b.crash();
        waitFor("ob declared dead", 5000, () -> "dead".equals(sql("SELECT state FROM replicas WHERE id = 'ob'")));
    }

    @Test
    void aReplicaRestartedAfterKillCleansUpWhatItsPreviousProcessLeft() throws Exception {
        Node first = node("rr", 60_000); // nobody else would notice for a minute
        String run = newId();
        run(first, run, true);
        String held = newId();
        first.approvals.open(request(held, Duration.ofMinutes(5)));
        waitFor("the approval's row", 2000, () -> "pending".equals(sql("SELECT status FROM approvals WHERE id = ?", held)));
        first.crash();
        assertEquals("running", sql("SELECT status FROM executions WHERE id = ?", run));

        Node second = node("rr", 60_000);
        assertEquals("lost", sql("SELECT status FROM executions WHERE id = ?", run));
        assertTrue(sql("SELECT message FROM executions WHERE id = ?", run).startsWith("replica rr restarted"));
        assertEquals("expired", sql("SELECT status FROM approvals WHERE id = ?", held));
        assertEquals("live", sql("SELECT state FROM replicas WHERE id = 'rr'"));
        List<Map<String, Object>> inc = second.incidents();
        assertEquals(1, count(inc, "fleet.restart_cleanup.execution_lost"), inc.toString());
        assertEquals(1, count(inc, "fleet.restart_cleanup.approval_expired"), inc.toString());
        assertEquals("rr", inc.get(0).get("replica"));
    }

    @Test
    void aCleanStopMarksTheReplicaStopped() throws Exception {
        Node a = node("rs");
        String held = newId();
        a.approvals.open(request(held, Duration.ofMinutes(5)));
        waitFor("the approval's row", 2000, () -> "pending".equals(sql("SELECT status FROM approvals WHERE id = ?", held)));
        a.close();
        assertEquals("stopped", sql("SELECT state FROM replicas WHERE id = 'rs'"));
        assertEquals("expired", sql("SELECT status FROM approvals WHERE id = ?", held));
    }

    // ---- the kill switch ----------------------------------------------------------------------

    @Test
    void theKillSwitchEngagedOnOneReplicaStopsAnotherWithinAHeartbeat() throws Exception {
        Node a = node("ka");
        Node b = node("kb");
        Cancel onB = run(b, newId(), false);
        long t0 = System.nanoTime();
        OperatorConsole.Answer on = a.console.killSwitch(true, "alice");
        assertTrue(on.message().contains("on every replica"), on.message());
        assertNotNull(a.executions.halted(), "at once on the replica that engaged it");
        // halted is set a moment before its runs are stopped (Executions.killSwitch): wait for both
        waitFor("kb halted, its run stopped", 3 * HEARTBEAT_MS + 500, () -> b.executions.halted() != null
                && onB.reason() != null);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertNotNull(onB.reason(), "kb's running execution was stopped");
        assertTrue(b.executions.halted().by().contains("alice") && b.executions.halted().by().contains("ka"),
                b.executions.halted().by());
        // a replica that joins while it is on is halted from its first heartbeat
        Node c = node("kc");
        waitFor("kc halted", 3 * HEARTBEAT_MS + 500, () -> c.executions.halted() != null);
        assertTrue(Boolean.TRUE.equals(((Map<?, ?>) b.console.state().get("kill_switch")).get("on")));

        b.console.killSwitch(false, "bob");
        assertNull(b.executions.halted());
        waitFor("ka released", 3 * HEARTBEAT_MS + 500, () -> a.executions.halted() == null);
        waitFor("kc released", 3 * HEARTBEAT_MS + 500, () -> c.executions.halted() == null);
        Thread.sleep(3 * HEARTBEAT_MS); // and nothing turns it back
        assertNull(a.executions.halted());
        assertNull(b.executions.halted());
        assertEquals(1, count(b.incidents(), "fleet.kill_switch_on"));
        System.out.println("kill switch applied on another replica after " + ms + " ms");
    }

    // ---- decisions and stops across replicas ---------------------------------------------------

    @Test
    void anApprovalDecidedThroughAnotherReplicaReleasesTheCallWhereItIsHeld() throws Exception {
        Node a = node("aa");
        Node b = node("ab");
        String id = newId();
        ApprovalService.Pending p = a.approvals.open(request(id, Duration.ofMinutes(5))).orElseThrow();
        // its row is there once open returns: a request_approval sent to another replica at once finds the holder
        assertEquals("pending", sql("SELECT status FROM approvals WHERE id = ?", id));
        assertEquals("aa", sql("SELECT replica FROM approvals WHERE id = ?", id));
        // b's console shows it, with its replica
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> pending = (List<Map<String, Object>>) b.console.state().get("pending");
        Map<String, Object> shown = pending.stream().filter(v -> id.equals(v.get("execution_id"))).findFirst().orElseThrow();
        assertEquals("aa", shown.get("replica"));
        assertEquals("rm -rf build", shown.get("subject"));
        assertEquals(List.of("fs.rm"), shown.get("rules"));
        assertEquals("fs.rm", ((Map<?, ?>) ((List<?>) shown.get("findings")).get(0)).get("rule"));
        assertEquals("L2", shown.get("tier"));
        assertTrue(b.console.pendingIds().contains(id));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> replicas = (List<Map<String, Object>>) b.console.state().get("replicas");
        assertEquals(List.of("aa", "ab"), replicas.stream().map(r -> r.get("id")).sorted().toList());

        long t0 = System.nanoTime();
        OperatorConsole.Answer ok = b.console.approve(id, Scope.ONCE, "bob", Channel.CLI);
        assertEquals(200, ok.code(), ok.message());
        assertTrue(ok.message().contains("held on replica aa"), ok.message());
        Ruling r = p.ruling().get(2, TimeUnit.SECONDS); // the call waiting on aa is released
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(Verdict.APPROVED, r.verdict());
        assertEquals("bob", r.approver());
        assertEquals(Channel.CLI, r.channel());
        waitFor("the row says approved, applied", 2000, () -> "approved".equals(sql("SELECT status FROM approvals WHERE "
                + "id = ? AND NOT remote", id)));
        assertEquals(409, b.console.deny(id, "carol", Channel.API).code());
        assertEquals(404, b.console.approve(newId(), Scope.ONCE, "bob", Channel.CLI).code());

        // a denial the same way
        String id2 = newId();
        ApprovalService.Pending p2 = a.approvals.open(request(id2, Duration.ofMinutes(5))).orElseThrow();
        waitFor("the second row", 2000, () -> "pending".equals(sql("SELECT status FROM approvals WHERE id = ?", id2)));
        assertEquals(200, b.console.deny(id2, "bob", Channel.API).code());
        assertEquals(Verdict.DENIED, p2.ruling().get(2, TimeUnit.SECONDS).verdict());
        System.out.println("approval decided on another replica released the call after " + ms + " ms");
    }

    @Test
    void aDecisionOrAStopForASilentOwnerIsRefusedNotSentIntoTheVoid() throws Exception {
        Node a = node("za", 60_000); // silent, and (both nodes agreeing) not declared dead for a minute
        Node b = node("zb", 60_000);
        String held = newId();
        a.approvals.open(request(held, Duration.ofMinutes(5))).orElseThrow();
        String running = newId();
        run(a, running, true);
        waitFor("both rows", 2000, () -> "pending".equals(sql("SELECT status FROM approvals WHERE id = ?", held))
                && "running".equals(sql("SELECT status FROM executions WHERE id = ?", running)));
        a.crash();
        Thread.sleep(3 * HEARTBEAT_MS + 300);
        OperatorConsole.Answer d = b.console.approve(held, Scope.ONCE, "bob", Channel.CLI);
        assertEquals(503, d.code(), d.message());
        assertTrue(d.message().contains("replica za, which has not been heard from"), d.message());
        assertEquals("pending", sql("SELECT status FROM approvals WHERE id = ?", held), "nothing was written");
        OperatorConsole.Answer s = b.console.stop(running, "bob");
        assertEquals(503, s.code(), s.message());
        assertEquals(null, sql("SELECT stop_requested_by FROM executions WHERE id = ?", running), "nothing was written");
    }

    @Test
    void anExpiredApprovalIsWrittenAsExpired() throws Exception {
        Node a = node("ea");
        String id = newId();
        a.approvals.open(request(id, Duration.ofMillis(300)));
        waitFor("expired in the row", 3000, () -> "expired".equals(sql("SELECT status FROM approvals WHERE id = ?", id)));
    }

    @Test
    void anOperatorStopOnAnotherReplicaStopsTheRunWhereItRuns() throws Exception {
        Node a = node("sa");
        Node b = node("sb");
        String id = newId();
        Cancel cancel = run(a, id, true);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> running = (List<Map<String, Object>>) b.console.state().get("running");
        assertEquals("sa", running.stream().filter(v -> id.equals(v.get("execution_id"))).findFirst().orElseThrow()
                .get("replica"));
        OperatorConsole.Answer ok = b.console.stop(id, "bob");
        assertEquals(200, ok.code(), ok.message());
        waitFor("stopped on sa", 2000, () -> cancel.reason() != null);
        assertTrue(cancel.reason().contains("bob"), cancel.reason());
        a.fleet.index().ended(id, Status.KILLED, "stopped by an operator");
        waitFor("the row says killed", 2000, () -> "killed".equals(sql("SELECT status FROM executions WHERE id = ?", id)));
        assertEquals(404, b.console.stop(id, "bob").code());
        assertEquals(404, b.console.stop(newId(), "bob").code());
    }

    @Test
    void theDirectoryNamesTheOwnerOfAnExecutionAndOfAnApproval() throws Exception {
        Node a = node("da");
        Node b = node("db");
        String run = newId();
        run(a, run, true);
        String held = newId();
        a.approvals.open(request(held, Duration.ofMinutes(5)));
        waitFor("the approval's row", 2000, () -> sql("SELECT status FROM approvals WHERE id = ?", held) != null);
        FleetDirectory d = b.fleet.directory();
        FleetDirectory.Owner o = d.ownerOfExecution(run).orElseThrow();
        assertEquals("da", o.replica());
        assertEquals("http://127.0.0.1:1/da", o.url());
        assertTrue(o.live());
        assertEquals("da", d.ownerOfApproval(held).orElseThrow().replica());
        assertFalse(d.ownerOfExecution(newId()).isPresent());
        FleetDirectory.Execution row = d.execution(run).orElseThrow();
        assertEquals("running", row.status());
        assertEquals("token-a", row.identity());
        assertTrue(row.background());
        a.crash();
        waitFor("da not live", 3000, () -> {
            try {
                return !d.replica("da").orElseThrow().live();
            }
            catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        waitFor("da's run lost", 3000, () -> {
            try {
                return "lost".equals(d.execution(run).orElseThrow().status());
            }
            catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
