package dev.warden.limit;

import dev.warden.call.Status;

/**
 * Told of every execution that starts (it was given a place) and of its end: the fleet's shared index
 * of executions (who, where, status). {@link #NONE} on a single server. An implementation must never
 * block a call for long nor throw into it: the index is a record for others, not a condition of running.
 */
public interface ExecutionIndex {

    /**
     * One execution as it starts. {@code subject} is the command or code, clipped (the operator's view of
     * another replica shows it sanitized, as the local one does).
     */
    record Started(String id, String identity, String session, String client, String tool, String tier,
            boolean background, String subject) {
    }

    ExecutionIndex NONE = new ExecutionIndex() {
        @Override
        public void started(Started s) {
        }

        @Override
        public void ended(String id, Status status, String message) {
        }
    };

    /**
     * An execution was given a place and starts now. For a background run the implementation may wait a
     * moment (bounded) for its row, so that another replica asked about it right after the answer finds it.
     */
    void started(Started s);

    /** Its final status (called for every call that ends; ids never started are ignored). */
    void ended(String id, Status status, String message);
}
