package dev.warden.pipeline;

import dev.warden.approval.Prompter;
import dev.warden.exec.Cancel;

/**
 * Who is calling: the MCP session (its workspace key), the client's name for the audit, the
 * transport, the identity rate limits count against (its bearer token, else its session), a way to
 * ask its user right now (MCP elicitation; null if the client cannot), where to report progress, and
 * how the client's {@code notifications/cancelled} stops this call's run; {@code workspace}, the raw
 * {@code workspace} argument of the call (a durable workspace's id), or null.
 */
public record Caller(String sessionId, String client, String transport, String identity, Prompter prompter,
        Progress progress, Cancel cancel, Object workspace) {

    public Caller(String sessionId, String client, String transport, String identity, Prompter prompter,
            Progress progress, Cancel cancel) {
        this(sessionId, client, transport, identity, prompter, progress, cancel, null);
    }

    /**
     * Who owns what this caller makes to outlast its session (durable workspaces): its bearer token's
     * identity, or with no token the one local client (stdio, or HTTP on loopback without tokens).
     */
    public String owner() {
        return identity.equals(sessionId) ? "local" : "token:" + identity;
    }

    /** Progress of a call that waits (in the queue, for a person); a no-op when the client gave no token. */
    public interface Progress {

        Progress NONE = (done, message) -> {
        };

        void report(double done, String message);
    }

    public Caller(String sessionId, String client, String transport) {
        this(sessionId, client, transport, sessionId, null, Progress.NONE, new Cancel());
    }

    public Caller {
        identity = identity == null ? sessionId : identity;
        progress = progress == null ? Progress.NONE : progress;
        cancel = cancel == null ? new Cancel() : cancel;
    }
}
