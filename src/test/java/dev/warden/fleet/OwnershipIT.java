package dev.warden.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Who owns a session, execution, held call or workspace, and whether that replica lives, on a real PostgreSQL. */
class OwnershipIT {

    @RegisterExtension
    static final FleetServices services = new FleetServices();

    private static void sql(String statement) throws Exception {
        try (Connection c = services.db().connection(); Statement st = c.createStatement()) {
            st.execute(statement);
        }
    }

    /** A live replica's row with a fresh heartbeat, as fleet-control's Replica writes it. */
    private static void replica(String id, String url) throws Exception {
        sql("INSERT INTO replicas (id, url) VALUES ('" + id + "', '" + url + "')");
    }

    @Test
    void aSessionIsOwnedByItsLiveReplicaUntilItEndsOrTheReplicaStopsBeating() throws Exception {
        replica("o1", "http://127.0.0.1:1111");
        try (Ownership mine = new Ownership(services.db().dataSource(), "o1", 1500);
                Ownership other = new Ownership(services.db().dataSource(), "o2", 1500)) {
            mine.sessionOpened("s-1", "token:abc");
            Optional<Ownership.Owner> o = other.owner(Ownership.Kind.SESSION, "s-1");
            assertTrue(o.isPresent());
            assertEquals("o1", o.get().replica());
            assertEquals("http://127.0.0.1:1111", o.get().url());
            assertEquals("token:abc", o.get().identity());
            assertEquals("open", o.get().status());
            assertTrue(o.get().live());
            assertTrue(other.owner(Ownership.Kind.SESSION, "s-unknown").isEmpty());

            // a heartbeat older than dead_after_ms: the owner is known but not live
            sql("UPDATE replicas SET heartbeat_at = now() - interval '10 seconds' WHERE id = 'o1'");
            assertFalse(other.owner(Ownership.Kind.SESSION, "s-1").orElseThrow().live());

            mine.sessionEnded("s-1");
            long deadline = System.currentTimeMillis() + 5000;
            while (!"ended".equals(other.owner(Ownership.Kind.SESSION, "s-1").orElseThrow().status())) {
                assertTrue(System.currentTimeMillis() < deadline, "the end is written in the background");
                Thread.sleep(20);
            }
        }
    }

    @Test
    void aRestartedReplicaEndsTheSessionsOfItsPreviousRun() throws Exception {
        try (Ownership before = new Ownership(services.db().dataSource(), "o3", 1500)) {
            before.sessionOpened("s-3a", "local");
            before.sessionOpened("s-3b", "local");
        }
        try (Ownership after = new Ownership(services.db().dataSource(), "o3", 1500)) {
            assertEquals(2, after.endPreviousSessions());
            assertEquals("ended", after.owner(Ownership.Kind.SESSION, "s-3a").orElseThrow().status());
            assertEquals(0, after.endPreviousSessions());
        }
    }

    @Test
    void executionsApprovalsAndWorkspacesNameTheirReplica() throws Exception {
        replica("o4", "http://127.0.0.1:4444");
        try (Ownership o4 = new Ownership(services.db().dataSource(), "o4", 1500)) {
            sql("INSERT INTO executions (id, replica, identity, tool, status, message) "
                    + "VALUES ('ex_1', 'o4', 'token:abc', 'run_command', 'lost', 'its replica died')");
            sql("INSERT INTO approvals (id, replica, identity, tool, summary) VALUES ('ex_2', 'o4', 'token:abc', 'run_command', 'x')");
            Ownership.Owner ex = o4.owner(Ownership.Kind.EXECUTION, "ex_1").orElseThrow();
            assertEquals("o4", ex.replica());
            assertEquals("lost", ex.status());
            assertEquals("its replica died", ex.message());
            assertTrue(ex.live());
            assertEquals("pending", o4.owner(Ownership.Kind.APPROVAL, "ex_2").orElseThrow().status());
            assertTrue(o4.owner(Ownership.Kind.APPROVAL, "ex_1").isEmpty());

            o4.workspaceCreated("ws_1", "token:abc");
            assertEquals("o4", o4.owner(Ownership.Kind.WORKSPACE, "ws_1").orElseThrow().replica());
            o4.workspaceDeleted("ws_1");
            assertTrue(o4.owner(Ownership.Kind.WORKSPACE, "ws_1").isEmpty(), "a deleted workspace is not known");
            // an owner that has no replicas row at all is known, and not live
            sql("INSERT INTO workspaces (id, replica, identity) VALUES ('ws_2', 'nobody', 'local')");
            Ownership.Owner nobody = o4.owner(Ownership.Kind.WORKSPACE, "ws_2").orElseThrow();
            assertFalse(nobody.live());
        }
    }
}
