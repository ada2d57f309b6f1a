package dev.warden.mcp;

import java.util.Optional;

/**
 * What the MCP edge needs of the fleet (docs/FLEET.md), implemented by the composition root over
 * the shared tables: who this replica is, the secret the replicas share, and which replica owns a
 * session, execution, held approval or durable workspace. Absent (null) on a single server, where
 * none of the fleet's routing runs.
 */
public interface FleetLink {

    /** What can be owned by one replica. */
    enum Kind {
        SESSION, EXECUTION, APPROVAL, WORKSPACE
    }

    /**
     * The owner of one thing: its replica's id and address, whether it is alive, the identity the
     * thing belongs to, and its status: {@code open} or {@code ended} for a session, the index's status
     * (and message) for an execution or a held call.
     */
    record Owner(String replica, String url, boolean live, String identity, String status, String message) {
    }

    /** This replica's id. */
    String replicaId();

    /** The secret that authenticates the replicas' requests to each other. */
    String secret();

    /** The owner the shared tables name for {@code id}; empty when unknown (or the lookup failed). */
    Optional<Owner> owner(Kind kind, String id);

    /** A session of {@code identity} opened here (written before the client can name it elsewhere). */
    void sessionOpened(String id, String identity);

    /** A session of this replica ended. */
    void sessionEnded(String id);

    /** A durable workspace of {@code identity} was created here. */
    void workspaceCreated(String id, String identity);

    /** A durable workspace of this replica was deleted. */
    void workspaceDeleted(String id);
}
