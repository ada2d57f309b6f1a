package dev.warden.pipeline;

import dev.warden.call.Status;
import dev.warden.contract.CallResult;
import dev.warden.contract.CodeCall;
import dev.warden.contract.CommandCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ContainerStatus;
import dev.warden.policy.Policy;
import dev.warden.policy.PolicyLoader;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Docker-only mode, with stand-in executors: what the policy sends to L1 or L2 runs in a container
 * and says so (tier L3, executor container, the finding host.docker_only naming the policy's tier),
 * with the container's limits; a kernel is refused, saying why; with no engine either, every call
 * is refused with what to install, and nothing runs anywhere (not even under l3_fallback).
 */
class DockerOnlyRoutingTest extends RoutingFixture {

    private static final String NO_BWRAP = "bubblewrap is not installed at /nonexistent/bwrap (apt-get install bubblewrap)";

    /** An engine with every image, on a host without a sandbox. */
    private static final ContainerStatus DOCKER_ONLY = new ContainerStatus() {
        @Override
        public Optional<String> unavailable(String language) {
            return Optional.empty();
        }

        @Override
        public Optional<String> hostSandboxMissing() {
            return Optional.of(NO_BWRAP);
        }
    };

    /** Neither a sandbox nor an engine. */
    private static final ContainerStatus NOTHING = new ContainerStatus() {
        @Override
        public Optional<String> unavailable(String language) {
            return Optional.of("no Docker engine is reachable at unix:///var/run/docker.sock (no such socket)");
        }

        @Override
        public Optional<String> hostSandboxMissing() {
            return Optional.of(NO_BWRAP);
        }
    };

    private static final Caller CALLER = new Caller("s1", "test/1", "stdio");

    @Test
    void anL2CallRunsInAContainerAndSaysSo() throws Exception {
        CallResult r = pipeline(null, DOCKER_ONLY, null).executeCode(CALLER, new CodeCall("python", "print(1)", null, null, null));
        assertEquals(Status.OK, r.status());
        assertNull(r.message());
        assertEquals("L3", r.tier());
        assertEquals("container", r.executor());
        assertTrue(r.findings().stream().anyMatch(f -> f.rule().equals("host.docker_only")
                && f.detail().contains("runs this at L2") && f.detail().contains(NO_BWRAP)), r.findings().toString());
        int mb = new Policy(new PolicyLoader().load(null, null)).containerLimits("python").memoryMb();
        assertEquals(List.of("container:python:" + mb), ran, "the container, with the container's limits");
        assertEquals(mb, r.limits().get("memory_mb"));
    }

    @Test
    void anL1CommandRunsInAContainerToo() throws Exception {
        CallResult r = pipeline(null, DOCKER_ONLY, null).runCommand(CALLER, new CommandCall("ls", null, null, null, null));
        assertEquals(Status.OK, r.status(), r.message());
        assertEquals("container", r.executor());
        assertTrue(r.findings().stream().anyMatch(f -> f.rule().equals("host.docker_only") && f.detail().contains("at L1")),
                r.findings().toString());
        assertEquals(1, ran.size());
        assertTrue(ran.get(0).startsWith("container:null:"), ran.toString());
    }

    @Test
    void aKernelIsRefusedSayingWhy() throws Exception {
        CallResult r = pipeline(null, DOCKER_ONLY, null).executeCode(CALLER,
                new CodeCall("python", "x = 1", null, null, null, null, false, "k1", false));
        assertEquals(Status.FAILED, r.status());
        assertEquals("none", r.executor());
        assertTrue(r.message().contains("kernels live in L2 sandboxes, and this server has none (" + NO_BWRAP), r.message());
        assertEquals(List.of(), ran);
    }

    @Test
    void withNeitherEveryCallIsRefusedWithWhatToInstallEvenUnderAFallback() throws Exception {
        for (String policy : new String[] {null, "l3_fallback: L2\n"}) {
            CallResult r = pipeline(policy, NOTHING, null).executeCode(CALLER, new CodeCall("python", "print(1)", null, null, null));
            assertEquals(Status.FAILED, r.status());
            assertEquals("none", r.executor());
            assertTrue(r.message().startsWith("It did not run: Warden has nothing to run calls in: " + NO_BWRAP
                    + "; and no Docker engine"), r.message());
            assertTrue(r.message().contains("tools/install-sandbox.sh") && r.message().contains("tools/build-images.sh"),
                    r.message());
            assertFalse(r.findings().stream().anyMatch(f -> f.rule().equals("container.fallback")));
        }
        assertEquals(List.of(), ran, "nothing ran anywhere");
    }
}
