package dev.warden.exec.container;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import java.util.List;

/**
 * The container operations Warden asks of the engine through docker-java: create from a {@link
 * ContainerSpec}, start, kill, inspect for the OOM flag, remove, create an exec. The run's streams
 * and the waits on its end go over {@link EngineSocket}, which docker-java cannot stand in for (its
 * attach cannot half-close stdin). Two clients, each with its own part: never the same request in both.
 */
final class DockerEngine {

    private final DockerClient docker;

    DockerEngine(DockerClient docker) {
        this.docker = docker;
    }

    /** Creates the container (not started); its id. */
    String create(ContainerSpec spec) {
        return DockerCreate.fill(docker.createContainerCmd(spec.image()), spec).exec().getId();
    }

    void start(String id) {
        docker.startContainerCmd(id).exec();
    }

    /** SIGKILL to the container's init; a container that is not running any more is what we wanted. */
    void kill(String id) {
        try {
            docker.killContainerCmd(id).exec();
        }
        catch (RuntimeException ignored) {
            // not running any more: that is what we wanted
        }
    }

    /** The engine's own OOM flag of the container; false when it cannot say. */
    boolean oomKilled(String id) {
        try {
            Boolean oom = docker.inspectContainerCmd(id).exec().getState().getOOMKilled();
            return Boolean.TRUE.equals(oom);
        }
        catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Removes the container whatever its state, with its anonymous volumes; throws as docker-java does.
     * A conflict is tried again: the engine refuses a forced removal that races the container's own exit
     * ("Could not kill running container ..., cannot remove - ... is not running", measured with runsc on
     * Docker 20.10) and leaves the container dead but present, a name taken until something removes it.
     */
    void remove(String id) {
        removeRetrying(() -> docker.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec(),
                REMOVE_ATTEMPTS, REMOVE_PAUSE_MS);
    }

    static final int REMOVE_ATTEMPTS = 20;
    static final long REMOVE_PAUSE_MS = 100;

    /**
     * Runs {@code removal} until it does not end in a conflict, at most {@code attempts} times, {@code pauseMs}
     * apart; the last conflict is thrown. A removal already under way elsewhere ends here as not found.
     */
    static void removeRetrying(Runnable removal, int attempts, long pauseMs) {
        for (int i = 1;; i++) {
            try {
                removal.run();
                return;
            }
            catch (ConflictException e) {
                if (i >= attempts) {
                    throw e;
                }
            }
            try {
                Thread.sleep(pauseMs);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while removing a container", e);
            }
        }
    }

    /** Creates an exec of {@code cmd} in the container, attached to all three streams, no tty; its id. */
    String createExec(String id, String user, List<String> cmd, String workingDir) {
        return docker.execCreateCmd(id).withCmd(cmd.toArray(String[]::new)).withUser(user)
            .withAttachStdin(true).withAttachStdout(true).withAttachStderr(true).withTty(false)
            .withWorkingDir(workingDir).exec().getId();
    }
}
