package dev.warden;

import dev.warden.config.WardenConfig;
import dev.warden.fleet.FleetControl;
import dev.warden.fleet.Ownership;
import dev.warden.mcp.FleetLink;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root's wiring of the fleet's routing (issue 18, docs/FLEET-ROUTING.md): the MCP
 * edge's {@link FleetLink} over {@link Ownership} (the shared sessions, workspaces, executions and
 * approvals tables), on the pool and replica of {@link FleetControl}. Only on an HTTP server whose
 * {@code fleet.postgres.url} is set; a single server never reaches here.
 */
final class FleetRouting implements FleetLink, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FleetRouting.class);

    private final Ownership ownership;
    private final String secret;

    private FleetRouting(Ownership ownership, String secret) {
        this.ownership = ownership;
        this.secret = secret;
    }

    /**
     * Before anything of the fleet starts: a replica on PostgreSQL needs the shared secret (checked here,
     * not by the config loader, because a replica's secret often comes from its environment).
     */
    static void requireSecret(WardenConfig.Fleet fleet) {
        if (!fleet.postgres().url().isEmpty() && fleet.secret().length() < 16) {
            throw new dev.warden.instance.StartupFailure("fleet.secret needs at least 16 characters (or "
                    + "WARDEN_FLEET_SECRET) when fleet.postgres.url is set: the replicas authenticate the calls they "
                    + "forward to each other with it");
        }
    }

    /**
     * Routing for the replica {@code control} has joined: ends the sessions this replica held in a
     * previous run. The secret (fleet.secret or WARDEN_FLEET_SECRET, see ConfigLoader) must be set:
     * without it replicas could not trust each other's forwarded calls.
     */
    static FleetRouting start(WardenConfig.Fleet fleet, FleetControl control) {
        requireSecret(fleet);
        String id = control.replica().id();
        Ownership ownership = new Ownership(control.db().dataSource(), id, fleet.deadAfterMs());
        int ended = ownership.endPreviousSessions();
        if (ended > 0) {
            log.info("fleet: {} session(s) of this replica's previous run ended", ended);
        }
        log.info("fleet: replica {}: sessions, executions, held calls and workspaces of other replicas are routed to "
                + "their owners", id);
        return new FleetRouting(ownership, fleet.secret());
    }

    @Override
    public String replicaId() {
        return ownership.replicaId();
    }

    @Override
    public String secret() {
        return secret;
    }

    @Override
    public Optional<Owner> owner(Kind kind, String id) {
        return ownership.owner(Ownership.Kind.valueOf(kind.name()), id)
            .map(o -> new Owner(o.replica(), o.url(), o.live(), o.identity(), o.status(), o.message()));
    }

    @Override
    public void sessionOpened(String id, String identity) {
        ownership.sessionOpened(id, identity);
    }

    @Override
    public void sessionEnded(String id) {
        ownership.sessionEnded(id);
    }

    @Override
    public void workspaceCreated(String id, String identity) {
        ownership.workspaceCreated(id, identity);
    }

    @Override
    public void workspaceDeleted(String id) {
        ownership.workspaceDeleted(id);
    }

    @Override
    public void close() throws InterruptedException {
        ownership.close();
    }
}
