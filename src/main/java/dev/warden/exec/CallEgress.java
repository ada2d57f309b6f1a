package dev.warden.exec;

/**
 * The network of one call, as its executor sees it: while a run uses a sandbox, the connections
 * that arrive at the sandbox's port are the call's, judged by what the call was granted and
 * counted for its result. The executor does not know what was granted; it only says when.
 */
public interface CallEgress {

    /** A call with no network: every connection is refused (and still reported as refused). */
    CallEgress NONE = port -> () -> { };

    /** A use of a port by a call; closed when the run's processes are gone. */
    interface Use extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * From now until the returned use is closed, connections arriving at {@code port} belong to this
     * call. A null port (no egress on this server) is allowed and does nothing.
     */
    Use use(EgressPort port);
}
