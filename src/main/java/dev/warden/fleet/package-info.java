/**
 * Several replicas as one Warden (docs/FLEET.md): the shared control state in PostgreSQL (a pool,
 * versioned migrations from db/fleet, the replicas and their heartbeats, held approvals, the index
 * of executions, owners of sessions and workspaces, the kill switch) and the shared rate limits in
 * Redis. Depends on config, call, limit, approval and audit; the composition root wires it into the
 * pipeline, the operator console and mcp through interfaces of theirs. Nothing of it runs unless the
 * configuration's fleet section names a Redis or a PostgreSQL.
 */
package dev.warden.fleet;
