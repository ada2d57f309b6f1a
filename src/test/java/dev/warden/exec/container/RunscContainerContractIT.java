package dev.warden.exec.container;

import org.junit.jupiter.api.BeforeAll;

/**
 * Every case of the executor contract again with the containers under gVisor (container_runtime:
 * runsc). Skipped, saying so, where the engine has no runsc registered (tools/install-docker.sh
 * registers Debian's).
 */
class RunscContainerContractIT extends ContainerContractIT {

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

    /**
     * Under this runsc (Debian 12's, ptrace platform) a flood to stdout loses bytes inside gVisor
     * before they reach the engine (also with the plain docker CLI; README, Containers), so the
     * exact cap cannot be asserted here. What the boundary must still hold: never more than the
     * cap, the run completes, and what the program wrote after the flood arrives.
     */
    @Override
    protected boolean exactOutputCap() {
        return false;
    }
}
