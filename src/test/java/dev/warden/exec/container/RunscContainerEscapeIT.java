package dev.warden.exec.container;

import org.junit.jupiter.api.BeforeAll;

/**
 * Every test of {@link ContainerEscapeIT} again with the containers under gVisor
 * (container_runtime: runsc). Skipped, saying so, where the engine has no runsc registered
 * (tools/install-docker.sh registers Debian's).
 */
class RunscContainerEscapeIT extends ContainerEscapeIT {

    @Override
    String runtime() {
        return "runsc";
    }

    @BeforeAll
    @Override
    void start() throws Exception {
        ContainerHarness.assumeRuntime(runtime());
        super.start();
    }
}
