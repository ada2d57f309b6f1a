package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.fail;

import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import dev.warden.exec.EgressPorts;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import dev.warden.policy.Policy;
import dev.warden.policy.PolicyLoader;
import dev.warden.session.WorkspaceDirs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real container runtime against the local Docker engine and the warden/* images, one session
 * workspace, and helpers to look at the host. With no engine or images the tests fail, saying
 * what to run, unless WARDEN_IT_DOCKER=skip is set explicitly.
 */
final class ContainerHarness implements AutoCloseable {

    final WardenConfig config;
    final Policy policy;
    final Path state;
    final Path root;
    final Path workspace;
    final ContainerRuntime runtime;

    /** @param poolOverlay YAML of the container section's pool (e.g. "{python: 0}") */
    ContainerHarness(String poolOverlay) throws IOException {
        this(poolOverlay, System.getenv().getOrDefault("WARDEN_IT_IMAGE_PREFIX", "warden/"));
    }

    /** Under the runtime WARDEN_IT_RUNTIME names (runc unless set: WARDEN_IT_RUNTIME=runsc runs any container IT under gVisor). */
    ContainerHarness(String poolOverlay, String prefix) throws IOException {
        this(poolOverlay, prefix, System.getenv().getOrDefault("WARDEN_IT_RUNTIME", "runc"), "");
    }

    /**
     * @param runtime the policy's container_runtime (runc, runsc, auto)
     * @param containerYaml more keys of the container section, each line indented by two spaces
     */
    ContainerHarness(String poolOverlay, String prefix, String runtime, String containerYaml) throws IOException {
        this(poolOverlay, prefix, runtime, containerYaml, EgressPorts.NONE);
    }

    /** @param egress the containers' way out (a {@link dev.warden.exec.FakeEgress} in the egress tests) */
    ContainerHarness(String poolOverlay, String prefix, String runtime, String containerYaml, EgressPorts egress)
            throws IOException {
        this(poolOverlay, prefix, runtime, containerYaml, egress, null);
    }

    /** The tenant of {@link #workspace} in docker-only mode, and the runtime's reason for it; null otherwise. */
    final dev.warden.call.Tenant tenant;

    /**
     * @param dockerOnly the workspace as a server without root makes it, for this uid and gid (its
     *     own plain directory, home and passwd, the runtime told the host has no sandbox); null: as
     *     a root server's L3 (a root-owned workspace of the sandbox group, no tenant)
     */
    ContainerHarness(String poolOverlay, String prefix, String runtime, String containerYaml, EgressPorts egress,
            int[] dockerOnly) throws IOException {
        if ("skip".equals(System.getenv("WARDEN_IT_DOCKER"))) {
            Assumptions.abort("WARDEN_IT_DOCKER=skip: container tests skipped on request");
        }
        Path overlay = Files.createTempFile("warden-it-config-", ".yaml");
        Files.writeString(overlay, "container:\n  image_prefix: " + prefix + "\n  pool: " + poolOverlay + "\n"
                + containerYaml);
        this.config = new ConfigLoader().load(overlay);
        Files.delete(overlay);
        this.policy = new Policy(new PolicyLoader().load(null, null));
        this.state = Files.createTempDirectory("warden-it-state-");
        Files.setAttribute(state, "unix:mode", 0755);
        this.root = Files.createTempDirectory("warden-it-ws-");
        Files.setAttribute(root, "unix:mode", 0711);
        this.workspace = root.resolve("session");
        if (dockerOnly == null) {
            WorkspaceDirs.create(workspace, config.sandbox().gid());
            this.tenant = null;
            this.runtime = ContainerRuntime.start(config, state, policy::containerLimits, runtime,
                    java.util.concurrent.CompletableFuture.completedFuture(null), egress);
            return;
        }
        // what Workspaces makes without root: the user's own directories, mode 2770 and 0700
        int uid = dockerOnly[0];
        int gid = dockerOnly[1];
        WorkspaceDirs.create(workspace, gid);
        Files.setAttribute(workspace, "unix:uid", uid);
        Path home = root.resolve("home");
        WorkspaceDirs.create(home, gid);
        Files.setAttribute(home, "unix:uid", uid);
        Files.setAttribute(home, "unix:mode", 0700);
        Path etc = root.resolve("etc");
        Files.createDirectories(etc);
        Files.writeString(etc.resolve("passwd"), dev.warden.call.Tenant.passwd(uid, gid));
        Files.writeString(etc.resolve("group"), dev.warden.call.Tenant.group(gid));
        this.tenant = new dev.warden.call.Tenant(uid, gid, home.toRealPath(), etc);
        dev.warden.call.Tenants tenants = new dev.warden.call.Tenants();
        tenants.register(workspace, tenant);
        this.runtime = ContainerRuntime.start(config, state, policy::containerLimits, runtime,
                java.util.concurrent.CompletableFuture.completedFuture(null), egress, tenants,
                "bubblewrap is not installed at /nonexistent/bwrap (apt-get install bubblewrap)");
    }

    /**
     * Docker-only mode's containers, unpooled, for a workspace of {@code uid}/{@code gid} made as a
     * server without root makes it.
     */
    static ContainerHarness dockerOnly(int uid, int gid, String... languages) throws Exception {
        return dockerOnly(uid, gid, EgressPorts.NONE, languages);
    }

    /** {@link #dockerOnly(int, int, String...)} with containers that reach {@code egress}. */
    static ContainerHarness dockerOnly(int uid, int gid, EgressPorts egress, String... languages) throws Exception {
        ContainerHarness h = new ContainerHarness("{python: 0, javascript: 0, typescript: 0, bash: 0, java: 0, c: 0, cpp: 0, go: 0, rust: 0}",
                System.getenv().getOrDefault("WARDEN_IT_IMAGE_PREFIX", "warden/"), "runc", "", egress,
                new int[] {uid, gid});
        h.require(languages);
        return h;
    }

    /** Fails (never skips) when the engine or an image is missing: CI installs both. */
    void require(String... languages) {
        for (String lang : languages) {
            runtime.unavailable(lang).ifPresent(why -> fail("the container tests need a Docker engine and the image of "
                    + lang + " (bash tools/install-docker.sh && bash tools/build-images.sh; or set WARDEN_IT_DOCKER=skip "
                    + "to skip them explicitly): " + why));
        }
    }

    /** The OCI runtimes the local engine has registered (its /info), e.g. [runc, runsc]. */
    /**
     * A harness with no warm pool (every container left after a test would be a leak), under the
     * policy's container_runtime {@code runtime}, that requires the images of {@code languages}.
     */
    static ContainerHarness unpooled(String runtime, String... languages) throws Exception {
        return unpooled(runtime, EgressPorts.NONE, languages);
    }

    /** {@link #unpooled(String, String...)} with containers that reach {@code egress}. */
    static ContainerHarness unpooled(String runtime, EgressPorts egress, String... languages) throws Exception {
        ContainerHarness h = new ContainerHarness("{python: 0, javascript: 0, typescript: 0, bash: 0, java: 0, c: 0, cpp: 0, go: 0, rust: 0}",
                System.getenv().getOrDefault("WARDEN_IT_IMAGE_PREFIX", "warden/"), runtime, "", egress);
        h.require(languages);
        org.junit.jupiter.api.Assertions.assertEquals(runtime, h.runtime.runtime(), "the containers run under " + runtime);
        return h;
    }

    /** Skips the calling test class, saying why, unless the engine has this OCI runtime registered. */
    static void assumeRuntime(String runtime) {
        org.junit.jupiter.api.Assumptions.assumeTrue(engineRuntimes().contains(runtime),
                "the Docker engine has no runtime " + runtime + " registered (bash tools/install-docker.sh registers it)");
    }

    static java.util.Set<String> engineRuntimes() {
        try {
            return ContainerRuntime.runtimesOf(EngineSocket.of("unix:///var/run/docker.sock").info());
        }
        catch (IOException | RuntimeException e) {
            return java.util.Set.of();
        }
    }

    Limits limits(String language, long timeoutMs) {
        var c = policy.containerLimits(language);
        Limits base = Limits.of(config.limits());
        return new Limits(timeoutMs, base.cpuMs(), c.memoryMb(), c.pids(), base.outputBytes(), base.fileSizeMb(),
                base.openFiles(), base.tmpMb());
    }

    ExecOutcome run(String language, String code) {
        return run(language, code, 30_000, "", Map.of());
    }

    ExecOutcome run(String language, String code, long timeoutMs, String stdin, Map<String, String> files) {
        require(language);
        return runtime.executor().run(ExecRequest.code(List.of(), workspace, stdin.getBytes(StandardCharsets.UTF_8),
                Map.of(), files, language, code), limits(language, timeoutMs));
    }

    static String err(ExecOutcome o) {
        if (o instanceof ExecOutcome.Completed c) {
            return new String(c.stderr().bytes(), StandardCharsets.UTF_8);
        }
        if (o instanceof ExecOutcome.CompileFailed f) {
            return new String(f.compile().stderr().bytes(), StandardCharsets.UTF_8);
        }
        if (o instanceof ExecOutcome.Refused r) {
            return r.reason();
        }
        return "";
    }

    /** Names of this test JVM's containers, running or not (`docker ps -a` by the warden pid label). */
    List<String> containersLeft() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("docker", "ps", "-a", "--format", "{{.Names}}", "--filter",
                "label=" + config.container().label() + ".pid=" + ProcessHandle.current().pid())
            .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(20, TimeUnit.SECONDS);
        List<String> names = new ArrayList<>();
        text.lines().filter(l -> !l.isBlank()).forEach(names::add);
        return names;
    }

    /** Waits until no container of this JVM is left (removal runs just after the result), up to 15 s. */
    List<String> awaitNoContainers() throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        List<String> left = containersLeft();
        while (!left.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(200);
            left = containersLeft();
        }
        return left;
    }

    @Override
    public void close() {
        runtime.forget(workspace);
        runtime.close();
        WorkspaceDirs.delete(root);
        WorkspaceDirs.delete(state);
    }
}
