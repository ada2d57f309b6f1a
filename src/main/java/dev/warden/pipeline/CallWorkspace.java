package dev.warden.pipeline;

import dev.warden.session.Workspace;
import dev.warden.session.Workspaces;
import java.io.IOException;

/**
 * Which workspace a call acts in: the durable one its {@code workspace} argument names (if it is
 * the caller's), else its session's own. A wrong id ends the call as {@code invalid}, saying the
 * same for another client's id as for an unknown one.
 */
final class CallWorkspace {

    private CallWorkspace() {
    }

    static Workspace of(CallContext c, Workspaces workspaces, Results results) throws IOException {
        Object arg = c.caller.workspace();
        if (arg == null) {
            return c.workspace(workspaces.forSession(c.caller.sessionId()));
        }
        if (!(arg instanceof String id)) {
            throw new Stop(results.invalid(c.id, "workspace must be a string: a workspace_id from create_workspace."));
        }
        try {
            return c.workspace(workspaces.forDurable(id, c.caller.owner()));
        }
        catch (Workspaces.Refused r) {
            throw new Stop(results.invalid(c.id, r.getMessage() + "."));
        }
    }
}
