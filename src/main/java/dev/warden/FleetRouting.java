package dev.warden;

import dev.warden.config.WardenConfig;
import dev.warden.fleet.FleetDb;
import dev.warden.fleet.Ownership;
import dev.warden.fleet.Presence;
import dev.warden.mcp.FleetLink;
import dev.warden.mcp.HttpTransport;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root's wiring of the fleet's routing (issue 18, docs/FLEET.md): the MCP edge's
 * {@link FleetLink} over {@link Ownership} (the shared sessions, workspaces, executions and approvals
 * tables). Only on an HTTP server whose {@code fleet.postgres.url} is set; a single server never
 * reaches here.
 */
final class FleetRouting implements FleetLink, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FleetRouting.class);

    private final Ownership ownership;
    private final String secret;
    private final Presence presence;

    private FleetRouting(Ownership ownership, String secret, Presence presence) {
        this.ownership = ownership;
        this.secret = secret;
        this.presence = presence;
    }

    /** This replica's id: fleet.replica_id, else WARDEN_REPLICA_ID, else the host name and the HTTP port. */
    static String replicaId(WardenConfig.Fleet fleet, HttpTransport.Binding binding) {
        if (!fleet.replicaId().isEmpty()) {
            return fleet.replicaId();
        }
        String env = System.getenv("WARDEN_REPLICA_ID");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        }
        catch (java.io.IOException e) {
            host = "warden";
        }
        return host + "-" + binding.port();
    }

    /** How the other replicas reach this one: fleet.advertise_url, else the address it listens on. */
    static String advertiseUrl(WardenConfig.Fleet fleet, HttpTransport.Binding binding) {
        if (!fleet.advertiseUrl().isEmpty()) {
            return fleet.advertiseUrl();
        }
        String host = HttpTransport.isWildcard(binding.host()) ? "127.0.0.1" : binding.host();
        return "http://" + (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + binding.port();
    }

    /**
     * Connects to the fleet's PostgreSQL (migrating it), ends the sessions this replica held in a
     * previous life, and registers it. The secret must be set: without it replicas could not trust
     * each other's forwarded calls.
     */
    static FleetRouting start(WardenConfig.Fleet fleet, FleetDb db, HttpTransport.Binding binding) {
        String secret = Optional.ofNullable(System.getenv("WARDEN_FLEET_SECRET")).filter(s -> !s.isBlank())
            .orElse(fleet.secret());
        if (secret.length() < 16) {
            throw new IllegalArgumentException("fleet.secret (or WARDEN_FLEET_SECRET) must be set, 16 or more characters, "
                    + "on every replica of a fleet: it authenticates their forwarded calls");
        }
        String id = replicaId(fleet, binding);
        Ownership ownership = new Ownership(db.dataSource(), id, fleet.deadAfterMs());
        int ended = ownership.endPreviousSessions();
        if (ended > 0) {
            log.info("fleet: {} session(s) of this replica's previous run ended", ended);
        }
        Presence presence = Presence.start(db.dataSource(), id, advertiseUrl(fleet, binding), fleet.heartbeatMs());
        log.info("fleet: replica {} at {}; sessions, executions, approvals and workspaces of other replicas are "
                + "routed to their owners", id, advertiseUrl(fleet, binding));
        return new FleetRouting(ownership, secret, presence);
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
        presence.close();
        ownership.close();
    }
}
