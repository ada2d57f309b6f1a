package dev.warden.fleet;

import dev.warden.approval.ApprovalService;
import dev.warden.audit.AuditLog;
import dev.warden.config.WardenConfig;
import dev.warden.limit.Executions;
import java.util.function.IntSupplier;

/**
 * The fleet's shared control state for one replica, as the composition root wires it: the database,
 * this replica's membership ({@link Replica}), what it writes as calls go ({@link FleetIndex}), the
 * operator's view and actions across replicas ({@link FleetConsole}) and who owns what
 * ({@link FleetDirectory}). Started only when {@code fleet.postgres.url} is set.
 */
public final class FleetControl implements AutoCloseable {

    private final FleetDb db;
    private final boolean ownsDb;
    private final Replica replica;
    private final FleetConsole console;
    private final FleetDirectory directory;

    private FleetControl(FleetDb db, boolean ownsDb, Replica replica, long deadAfterMs) {
        this.db = db;
        this.ownsDb = ownsDb;
        this.replica = replica;
        this.console = new FleetConsole(db, replica);
        this.directory = new FleetDirectory(db, deadAfterMs);
    }

    /** Connects (migrating the schema), cleans up what an earlier process of this id left, and joins. */
    public static FleetControl start(WardenConfig.Fleet config, String id, String url, Executions executions,
            ApprovalService approvals, AuditLog audit, IntSupplier sessions) {
        FleetDb db = FleetDb.open(config.postgres(), id);
        try {
            return new FleetControl(db, true, Replica.join(db, config, id, url, executions, approvals, audit, sessions),
                    config.deadAfterMs());
        }
        catch (RuntimeException e) {
            db.close();
            throw e;
        }
    }

    /** The same on a pool the caller opened and closes (the server's one pool of the fleet's PostgreSQL). */
    public static FleetControl start(FleetDb db, WardenConfig.Fleet config, String id, String url, Executions executions,
            ApprovalService approvals, AuditLog audit, IntSupplier sessions) {
        return new FleetControl(db, false, Replica.join(db, config, id, url, executions, approvals, audit, sessions),
                config.deadAfterMs());
    }

    public FleetDb db() {
        return db;
    }

    public Replica replica() {
        return replica;
    }

    public FleetIndex index() {
        return replica.index();
    }

    public FleetConsole console() {
        return console;
    }

    public FleetDirectory directory() {
        return directory;
    }

    /** Stops as a kill -9 would: no word to the fleet, the pool closed (tests). */
    void crash() {
        replica.crash();
        db.close();
    }

    /** Leaves the fleet cleanly (after the calls in flight were answered), then closes the pool. */
    @Override
    public void close() {
        try {
            replica.close();
        }
        finally {
            if (ownsDb) {
                db.close();
            }
        }
    }
}
