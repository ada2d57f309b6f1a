package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Docker-only mode (no bubblewrap or no root on the host) against every case of the executor
 * contract: what the policy sends to L1 or L2 runs in a container, as the server without root
 * makes it, for a workspace that is the user's own plain directory and runs that are the user's
 * own uid (here a made-up unprivileged one). Commands come as run_command's do, an argv in the
 * bash image; code as execute_code's. The server-level wiring (Routing, the executors of L1 and
 * L2, a real non-root server in the docker group) is tests/mcp/dockeronly.test.mjs.
 *
 * <p>This JVM is root, so the container's cgroups are read as a root server reads them; a server
 * without root reads the engine's own groups (CgroupFiles.engineOwned), which the MCP test covers
 * through its memory bomb.
 */
class DockerOnlyContractIT extends ContainerContractIT {

    /** The server user's uid and gid: not root, not the configured container uid. */
    static final int UID = 48213;
    static final int GID = 48213;

    @BeforeAll
    @Override
    void start() throws Exception {
        h = ContainerHarness.dockerOnly(UID, GID, "python", "bash");
        assertTrue(h.runtime.hostSandboxMissing().isPresent(), "the runtime knows it stands in for the sandbox");
    }

    /** run_command in docker-only mode: its argv, in the bash image. */
    @Override
    protected ExecOutcome bash(String script, long timeoutMs) {
        return h.runtime.executor().run(new ExecRequest(List.of("bash", "-c", script), h.workspace, "", new byte[0],
                Map.of()), h.limits("bash", timeoutMs));
    }

    /** The server user's own uid, as every run of its sessions. */
    @Override
    protected void assertUid(int uid) {
        assertEquals(UID, uid, "the workspace's tenant: the server user's own uid");
    }

    @Test
    void filesARunWritesAreTheServerUsersAndItsHomeIsItsOwn() throws Exception {
        ExecOutcome o = bash("echo made > made.txt && echo \"$HOME\" && touch \"$HOME/h\" && stat -c %u made.txt", 20_000);
        assertEquals("/home/sandbox\n" + UID + "\n", out(o), err(o));
        assertEquals(UID, (Integer) Files.getAttribute(h.workspace.resolve("made.txt"), "unix:uid"));
        assertTrue(Files.exists(h.tenant.home().resolve("h")), "HOME is the tenant's home directory");
    }

    /** The server user's files beside the workspace: same uid, so only the container's mount namespace keeps them out. */
    @Test
    void theServerUsersOtherFilesAreNotThere() throws Exception {
        Path secret = h.root.resolve("secret-" + System.nanoTime());
        Files.writeString(secret, "server-user-secret");
        Files.setAttribute(secret, "unix:uid", UID);
        Files.setAttribute(secret, "unix:mode", 0600);
        try {
            ExecOutcome o = bash("cat " + secret + " 2>&1; cat ../" + secret.getFileName() + " 2>&1; ls / | tr '\\n' ' '", 20_000);
            assertFalse(out(o).contains("server-user-secret"), out(o));
            assertTrue(out(o).contains("No such file or directory"), out(o));
            ExecOutcome p = h.run("python", "print(open('" + secret + "').read())");
            assertFalse(out(p).contains("server-user-secret"), out(p));
            assertTrue(err(p).contains("No such file or directory"), err(p));
        }
        finally {
            Files.deleteIfExists(secret);
        }
    }
}
