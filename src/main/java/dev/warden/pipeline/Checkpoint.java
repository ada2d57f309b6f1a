package dev.warden.pipeline;

import dev.warden.call.Status;
import dev.warden.contract.CallResult;
import dev.warden.policy.Finding;
import dev.warden.policy.Policy;
import dev.warden.policy.Severity;
import dev.warden.session.Workspaces;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An approved call's safety net: the workspace is checkpointed first (if small enough), and if the
 * run does not succeed the workspace is put back as it was.
 */
final class Checkpoint {

    private static final Logger log = LoggerFactory.getLogger(Checkpoint.class);

    private final Policy policy;
    private final Workspaces workspaces;

    Checkpoint(Policy policy, Workspaces workspaces) {
        this.policy = policy;
        this.workspaces = workspaces;
    }

    /** @return the run's result, with whether the workspace was restored and a message that says so */
    Outcome around(CallContext c, Supplier<CallResult> run) {
        Optional<Path> checkpoint = Optional.empty();
        if (policy.checkpointMaxBytes() > 0 || c.workspace().project()) {
            try {
                checkpoint = workspaces.checkpoint(c.workspace(), c.id, policy.checkpointMaxBytes());
                if (checkpoint.isEmpty()) {
                    c.found(new Finding("approval.no_checkpoint", Severity.LOW, "the workspace is larger than "
                            + (policy.checkpointMaxBytes() >> 20) + " MB, so it was not checkpointed before the call"));
                }
            }
            catch (IOException e) {
                log.warn("checkpoint of {} failed: {}", c.id, e.getMessage());
                c.found(new Finding("approval.no_checkpoint", Severity.LOW, "the workspace could not be checkpointed"));
            }
        }
        CallResult r = run.get();
        if (checkpoint.isEmpty()) {
            return new Outcome(r, null, r.message());
        }
        // a failure that ran (a non-zero exit, a timeout, a kill) may have left the workspace half-changed;
        // one that never started changed nothing
        boolean failedRun = r.status() == Status.FAILED && r.exitCode() != null || r.status() == Status.TIMEOUT
                || r.status() == Status.KILLED;
        String message = r.message();
        boolean restored = false;
        if (failedRun) {
            try {
                workspaces.restore(c.workspace(), checkpoint.get());
                restored = true;
                message = (message == null ? "" : message + " ")
                        + "The workspace was restored to its checkpoint from before this approved call.";
            }
            catch (IOException e) {
                log.error("restoring the checkpoint of {} failed: {}", c.id, e.getMessage());
                message = (message == null ? "" : message + " ") + "Restoring the workspace from its checkpoint failed.";
            }
        }
        if (!restored) {
            try {
                workspaces.keep(c.workspace(), checkpoint.get());
            }
            catch (IOException e) {
                log.error("keeping the changes of {} failed: {}", c.id, e.getMessage());
                message = (message == null ? "" : message + " ")
                        + "Its changes could not all be written into the project (the server log says why).";
            }
        }
        return new Outcome(r, restored, message);
    }

    record Outcome(CallResult result, Boolean restored, String message) {
    }
}
