package dev.warden.exec.container;

import com.github.dockerjava.api.DockerClient;
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

    /** Removes the container whatever its state, with its anonymous volumes; throws as docker-java does. */
    void remove(String id) {
        docker.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
    }

    /** Creates an exec of {@code cmd} in the container, attached to all three streams, no tty; its id. */
    String createExec(String id, String user, List<String> cmd, String workingDir) {
        return docker.execCreateCmd(id).withCmd(cmd.toArray(String[]::new)).withUser(user)
            .withAttachStdin(true).withAttachStdout(true).withAttachStderr(true).withTty(false)
            .withWorkingDir(workingDir).exec().getId();
    }
}
