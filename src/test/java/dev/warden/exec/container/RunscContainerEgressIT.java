package dev.warden.exec.container;

import org.junit.jupiter.api.BeforeAll;

/**
 * Every test of {@link ContainerEgressIT} again under gVisor: the relay inside the sandbox reaches the
 * host's unix socket only because runsc is registered with --host-uds=open (tools/install-docker.sh).
 * Skipped, saying so, where the engine has no runsc registered.
 */
class RunscContainerEgressIT extends ContainerEgressIT {

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
