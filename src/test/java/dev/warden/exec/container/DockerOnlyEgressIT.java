package dev.warden.exec.container;

import dev.warden.exec.FakeEgress;
import org.junit.jupiter.api.BeforeAll;

/**
 * Egress in docker-only mode: a container of a workspace made as a server without root makes it,
 * running as that server user's uid, reaches the proxy through its own port and nothing else, as
 * every L3 container does ({@link ContainerEgressIT}'s cases).
 */
class DockerOnlyEgressIT extends ContainerEgressIT {

    @BeforeAll
    @Override
    void start() throws Exception {
        fake = new FakeEgress();
        h = ContainerHarness.dockerOnly(DockerOnlyContractIT.UID, DockerOnlyContractIT.GID, fake, "python", "bash",
                "javascript");
    }
}
