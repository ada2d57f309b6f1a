package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecutorContract;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * L3, a container per call, against every case of the executor contract, under runc here;
 * {@link RunscContainerContractIT} runs them under gVisor. Like the other container ITs it fails,
 * saying what to run, when the engine or an image is missing, unless WARDEN_IT_DOCKER=skip is set
 * (then it is skipped, saying so).
 */
class ContainerContractIT extends ExecutorContract {

    ContainerHarness h;

    /** The policy's container_runtime these cases run under. */
    String runtime() {
        return "runc";
    }

    @BeforeAll
    void start() throws Exception {
        h = ContainerHarness.unpooled(runtime(), "python", "bash");
    }

    @AfterAll
    void stop() {
        if (h != null) {
            h.close();
        }
    }

    @Override
    protected ExecOutcome python(String code, long timeoutMs) {
        return h.run("python", code, timeoutMs, "", Map.of());
    }

    @Override
    protected ExecOutcome bash(String script, long timeoutMs) {
        return h.run("bash", script, timeoutMs, "", Map.of());
    }

    @Override
    protected Path workspace() {
        return h.workspace;
    }

    @Override
    protected int outputCap() {
        return h.limits("python", 1000).outputBytes();
    }

    /**
     * The image's own environment (Config.Env, e.g. PYTHONDONTWRITEBYTECODE=1, which the test JVM
     * may have too) and the language's from config: the run starts from them, so they are no leak.
     */
    @Override
    protected boolean setByTier(String key, String value) {
        Map<String, String> lang = h.config.container().languages().get("python").env();
        if (lang != null && value.equals(lang.get(key))) {
            return true;
        }
        try {
            var image = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                    EngineSocket.of(h.config.container().dockerHost()).image(h.config.container().imagePrefix() + "python").body());
            for (var e : image.path("Config").path("Env")) {
                if (e.asText().equals(key + "=" + value)) {
                    return true;
                }
            }
            return false;
        }
        catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** This JVM's containers, running or not: each is removed after its call. */
    @Override
    protected List<String> leftovers() throws Exception {
        return h.containersLeft();
    }

    /** A container is started for the call, and stopped by the engine. */
    @Override
    protected long stopSlackMs() {
        return 4_500;
    }

    /** The container is killed and removed just after the answer (off the call's path). */
    @Override
    protected long processTreeGoneWithinMs() {
        return 15_000;
    }

    @Override
    protected void assertUid(int uid) {
        assertEquals(h.config.container().uid(), uid, "the configured container uid");
    }

    /** gVisor forks far slower (ptrace platform), and its host limit is larger (ContainerSpec.hostPids). */
    @Override
    protected long forkBombWallMs() {
        return runtime().equals("runsc") ? 20_000 : 4_000;
    }

    /** The pids limit is named: the timer reads the cgroup's refusals before it kills the container. */
    @Override
    protected void assertForkBombOutcome(ExecOutcome o) {
        int pids = h.policy.containerLimits("bash").pids();
        ExecOutcome.Killed k = assertInstanceOf(ExecOutcome.Killed.class, o, () -> "got " + o);
        assertTrue(k.reason().contains("limit of " + pids + " processes"), k.reason());
    }

    /** Killed naming the language's memory limit, with the peak near it. */
    @Override
    protected void assertMemoryOutcome(ExecOutcome o) {
        int mb = h.policy.containerLimits("python").memoryMb();
        ExecOutcome.Killed k = assertInstanceOf(ExecOutcome.Killed.class, o, () -> "got " + o + " " + err(o));
        assertTrue(k.reason().contains("memory limit of " + mb + " MB"), k.reason());
        assertTrue(k.usage().peakMemoryKb() != null && k.usage().peakMemoryKb() > (mb - 64) * 1024L,
                "peak memory near the limit: " + k.usage().peakMemoryKb());
    }
}
