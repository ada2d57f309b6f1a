package dev.warden.exec.container;

import dev.warden.exec.EgressPort;
import java.nio.file.Path;

/**
 * A started container waiting for its one request: bound to one session's workspace, of one language;
 * with egress, its own port (null without), closed when the container is removed; {@code user} (uid:gid)
 * and {@code home} (HOME) are its workspace tenant's.
 */
record Container(String id, String name, Path workspace, String language, boolean warm, String runtime,
        EgressPort port, String user, String home) {
}
