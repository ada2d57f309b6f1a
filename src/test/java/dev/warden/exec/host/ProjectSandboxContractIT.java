package dev.warden.exec.host;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;

/**
 * Project mode against every case of the executor contract: the escapes, limits and leaks of L2, with
 * the sandbox's workspace a bind of a project directory and its runs as the project's owner (the
 * tenant), as a --project server runs them.
 */
class ProjectSandboxContractIT extends SandboxContractIT {

    static final int OWNER = 4321;

    @Override
    SandboxHarness harness() throws IOException {
        return SandboxHarness.project(OWNER);
    }

    /** The project owner's uid, never root and never a slot's. */
    @Override
    protected void assertUid(int uid) {
        assertEquals(OWNER, uid);
    }
}
