package dev.warden.exec.container;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.warden.config.ContainerLimits;
import dev.warden.config.WardenConfig;
import dev.warden.exec.ContainerStatus;
import dev.warden.exec.DaemonThreads;
import dev.warden.exec.EgressPorts;
import dev.warden.call.Tenants;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Launcher;
import dev.warden.exec.SandboxHosts;
import dev.warden.exec.Limits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The L3 tier's start-up and state: finds the Docker engine in the background (never on the path
 * of MCP initialize), says on stderr whether it found one and which images, and answers for each
 * language whether a container can run it now. Without an engine Warden serves L1 and L2 as ever
 * and refuses what needs L3, with the reason; an engine or image that appears later is found at
 * the next call.
 */
public final class ContainerRuntime implements ContainerStatus, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ContainerRuntime.class);
    private static final long RECHECK_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final WardenConfig.Container config;
    private final int gid;
    private final Path stateDir;
    private final Function<String, ContainerLimits> limitsOf;
    private final EngineSocket socket;
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("warden-l3-timer"));
    private final ExecutorService io = Executors.newCachedThreadPool(DaemonThreads.named("warden-l3-io"));
    private final ExecutorService background =
            Executors.newFixedThreadPool(2, DaemonThreads.named("warden-l3-pool"));
    /** The images found (language to the image's JSON, parsed for its environment when first needed). */
    private final Map<String, String> images = new ConcurrentHashMap<>();
    private final Map<String, List<String>> imageEnv = new ConcurrentHashMap<>();
    private final Map<String, Long> imageMissingSince = new ConcurrentHashMap<>();
    private final CompletableFuture<Void> probed;
    /**
     * docker-java and the executor, set up once the engine answers; set up again (at most every 5 s)
     * when that failed, e.g. because the engine went away during it: an engine that comes back is used.
     */
    private volatile CompletableFuture<ContainerExecutor> client = new CompletableFuture<>();
    private volatile long setupFailedAt;
    private volatile String engineProblem = "the container engine is still being looked for";
    private volatile long engineCheckedAt;
    private volatile boolean cgroupV1;
    private volatile ObjectMapper json;
    private volatile DockerClient docker;
    private volatile boolean setupStarted;
    private final CompletionStage<?> setupAfter;
    /** The policy's container_runtime: runc, runsc or auto. */
    private final String wanted;
    /** The OCI runtimes the engine has registered (its /info), read with each probe. */
    private volatile Set<String> engineRuntimes = Set.of();
    private volatile long runtimesCheckedAt;
    /** The containers' way out: each container opens its own port. */
    private final EgressPorts egress;

    private ContainerRuntime(WardenConfig.Container config, int gid, Path stateDir,
            Function<String, ContainerLimits> limitsOf, String runtime, CompletionStage<?> setupAfter,
            EgressPorts egress, Tenants tenants, String hostProblem) {
        this.tenants = tenants;
        this.hostProblem = hostProblem;
        this.egress = egress;
        if (!List.of(RUNC, ContainerExecutor.RUNSC, AUTO).contains(runtime)) {
            throw new IllegalArgumentException("container runtime must be runc, runsc or auto (was " + runtime + ")");
        }
        this.wanted = runtime;
        this.config = config;
        this.gid = gid;
        this.stateDir = stateDir;
        this.limitsOf = limitsOf;
        this.dockerHost = engineAddress(config.dockerHost(), System.getenv("DOCKER_HOST"), Path.of(
                System.getProperty("user.home", "/nonexistent")), System.getenv("XDG_RUNTIME_DIR"));
        this.socket = EngineSocket.of(dockerHost);
        this.setupAfter = setupAfter;
        this.probed = CompletableFuture.runAsync(this::probe, background);
    }

    /**
     * Starts looking for the engine in the background and returns at once. docker-java (thousands
     * of classes) is set up only once {@code setupAfter} completes, so it does not compete with
     * answering initialize for the CPU; a call that needs it earlier waits for it.
     */
    public static ContainerRuntime start(WardenConfig config, Path stateDir, Function<String, ContainerLimits> limitsOf,
            CompletionStage<?> setupAfter) {
        return start(config, stateDir, limitsOf, RUNC, setupAfter, EgressPorts.NONE);
    }

    /**
     * @param runtime the policy's container_runtime: runc, runsc (calls are refused while the engine
     *     has no runsc; never run under runc instead) or auto (runsc when the engine has it, else runc)
     * @param egress the containers' way out (a port per container): EgressPorts.NONE for none
     */
    public static ContainerRuntime start(WardenConfig config, Path stateDir, Function<String, ContainerLimits> limitsOf,
            String runtime, CompletionStage<?> setupAfter, EgressPorts egress) {
        return start(config, stateDir, limitsOf, runtime, setupAfter, egress, new Tenants());
    }

    /** @param tenants who each workspace's runs are: its containers run as its uid, with its home */
    public static ContainerRuntime start(WardenConfig config, Path stateDir, Function<String, ContainerLimits> limitsOf,
            String runtime, CompletionStage<?> setupAfter, EgressPorts egress, Tenants tenants) {
        return start(config, stateDir, limitsOf, runtime, setupAfter, egress, tenants, null);
    }

    /**
     * @param hostProblem why this host has no L1/L2 sandbox (docker-only mode: those calls run in
     *     containers), or null when it has one
     */
    public static ContainerRuntime start(WardenConfig config, Path stateDir, Function<String, ContainerLimits> limitsOf,
            String runtime, CompletionStage<?> setupAfter, EgressPorts egress, Tenants tenants, String hostProblem) {
        return new ContainerRuntime(config.container(), config.sandbox().gid(), stateDir, limitsOf, runtime,
                setupAfter, egress, tenants, hostProblem);
    }

    private final Tenants tenants;
    /** The engine's socket: container.docker_host, or where this user's engine is when that is the default and absent. */
    private final String dockerHost;
    /** Docker-only mode: why the host has no sandbox (null: it has one, and containers are L3 only). */
    private final String hostProblem;
    /** What was last said about the engine in docker-only mode: said again only when it changes (one line, not one per call). */
    private volatile String saidAboutEngine;

    static final String DEFAULT_HOST = "unix:///var/run/docker.sock";

    /**
     * Where the engine is. A configured socket other than the default is used as it is; with the
     * default, DOCKER_HOST wins when it names a local socket (what the docker CLI of this user
     * uses), else the default socket if it is there, else Docker Desktop's per-user socket on
     * macOS ({@code ~/.docker/run/docker.sock}) or a rootless engine's ({@code $XDG_RUNTIME_DIR/docker.sock}).
     * Only local sockets: an engine over TCP would see none of Warden's files to bind.
     */
    static String engineAddress(String configured, String envHost, Path home, String runtimeDir) {
        if (!DEFAULT_HOST.equals(configured)) {
            return configured;
        }
        if (envHost != null && envHost.startsWith("unix:///")) {
            return envHost;
        }
        if (Files.exists(Path.of(DEFAULT_HOST.substring("unix://".length())))) {
            return configured;
        }
        List<Path> candidates = new ArrayList<>(List.of(home.resolve(".docker/run/docker.sock")));
        if (runtimeDir != null && runtimeDir.startsWith("/")) {
            candidates.add(Path.of(runtimeDir, "docker.sock"));
        }
        for (Path p : candidates) {
            if (Files.exists(p)) {
                return "unix://" + p.toAbsolutePath();
            }
        }
        return configured;
    }

    @Override
    public Optional<String> hostSandboxMissing() {
        return Optional.ofNullable(hostProblem);
    }

    /** Docker-only mode: one line when the engine is found or lost, never one per call. */
    private void sayDockerOnly(String problem) {
        String said = problem == null ? "" : problem;
        if (said.equals(saidAboutEngine)) {
            return;
        }
        saidAboutEngine = said;
        if (problem == null) {
            log.info("docker-only mode: {}; calls the policy sends to L1 or L2 run in containers (L3) of the Docker "
                    + "engine at {}", hostProblem, dockerHost);
        }
        else {
            log.error("{}", ContainerStatus.nothingToRunWith(hostProblem, problem));
        }
    }

    static final String RUNC = "runc";
    static final String AUTO = "auto";

    /**
     * The runtime containers get: runsc when asked for (whether the engine has it or not: without it
     * {@link #unavailable} refuses the call), runsc under auto when the engine has it, else runc.
     */
    String runtime() {
        if (wanted.equals(AUTO)) {
            return engineRuntimes.contains(ContainerExecutor.RUNSC) ? ContainerExecutor.RUNSC : RUNC;
        }
        return wanted;
    }

    /** Null when the runtime asked for is there; else why calls are refused. */
    private String runtimeProblem() {
        if (!wanted.equals(ContainerExecutor.RUNSC) || engineRuntimes.contains(ContainerExecutor.RUNSC)) {
            return null;
        }
        return "the policy asks for the gVisor runtime (container_runtime: runsc), but the Docker engine at "
                + dockerHost + " has no runtime named runsc registered (it has " + engineRuntimes
                + "; tools/install-docker.sh installs Debian's runsc and registers it)";
    }

    /** The keys of the engine's "Runtimes" object in its /info, without parsing the rest of it. */
    static Set<String> runtimesOf(String info) {
        int at = info.indexOf("\"Runtimes\":{");
        if (at < 0) {
            return Set.of();
        }
        Set<String> names = new java.util.TreeSet<>();
        int depth = 0;
        boolean inString = false;
        int stringStart = -1;
        for (int i = at + "\"Runtimes\":".length(); i < info.length(); i++) {
            char ch = info.charAt(i);
            if (inString) {
                if (ch == '\\') {
                    i++;
                }
                else if (ch == '"') {
                    inString = false;
                    // a key of the Runtimes object itself: a string at depth 1 followed by a colon
                    if (depth == 1 && i + 1 < info.length() && info.charAt(i + 1) == ':') {
                        names.add(info.substring(stringStart, i));
                    }
                }
            }
            else if (ch == '"') {
                inString = true;
                stringStart = i + 1;
            }
            else if (ch == '{' || ch == '[') {
                depth++;
            }
            else if (ch == '}' || ch == ']') {
                if (--depth == 0) {
                    break;
                }
            }
        }
        return Set.copyOf(names);
    }

    /**
     * Is there an engine, and which images: a few plain requests on the socket, no Jackson and no
     * docker-java, so the tool list (which waits for this) is not held up at start-up. docker-java
     * is set up afterwards, in the background, before the first call needs it.
     */
    private synchronized void probe() {
        engineCheckedAt = System.nanoTime();
        String problem = engine();
        engineProblem = problem;
        if (hostProblem != null) {
            sayDockerOnly(problem);
        }
        if (problem != null) {
            if (hostProblem == null) {
                log.warn("container engine: {}; calls that need L3 will be refused", problem);
            }
            return;
        }
        List<String> found = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String lang : config.languages().keySet()) {
            (image(lang) ? found : missing).add(lang);
        }
        log.info("container engine at {}: images for {}{}", dockerHost, found.isEmpty() ? "no language" : found,
                missing.isEmpty() ? "" : "; not built: " + missing + " (tools/build-images.sh builds them)");
        if (!setupStarted) {
            setupStarted = true;
            setupAfter.whenComplete((ok, failed) -> background.execute(this::setup));
        }
    }

    /** Null when the engine answers; else why not. */
    private String engine() {
        if (!Files.exists(socket.path())) {
            return "no Docker engine is reachable at " + dockerHost + " (no such socket)";
        }
        try {
            EngineSocket.Reply ping = socket.ping();
            if (ping.status() != 200) {
                return "the Docker engine at " + dockerHost + " does not answer (ping: " + ping.status() + ")";
            }
            String info = socket.info();
            readRuntimes(info);
            cgroupV1 = info.contains("\"CgroupDriver\":\"cgroupfs\"") && !info.contains("\"CgroupVersion\":\"2\"")
                    && CgroupFiles.usable(Path.of("/sys/fs/cgroup"));
            return null;
        }
        catch (IOException | RuntimeException e) {
            return "no Docker engine is reachable at " + dockerHost + " (" + e.getMessage() + ")";
        }
    }

    private void readRuntimes(String info) {
        Set<String> before = engineRuntimes;
        engineRuntimes = runtimesOf(info);
        runtimesCheckedAt = System.nanoTime();
        if (!engineRuntimes.equals(before)) {
            String problem = runtimeProblem();
            if (problem != null) {
                log.error("{}: calls that need L3 are refused", problem);
            }
            else {
                log.info("container runtime: {} (policy container_runtime: {}; the engine has {})", runtime(), wanted,
                        engineRuntimes);
            }
            if (engineRuntimes.contains(ContainerExecutor.RUNSC) && !info.contains("\"--oci-seccomp\"")) {
                log.warn("the engine's runsc runs without --oci-seccomp: Warden's seccomp profile is not applied "
                        + "inside gVisor (tools/install-docker.sh registers it with that flag)");
            }
        }
    }

    /** The runsc asked for is missing: the engine's runtimes are read again (at most every 5 s). */
    private void recheckRuntimes() {
        if (System.nanoTime() - runtimesCheckedAt < RECHECK_NANOS) {
            return;
        }
        try {
            readRuntimes(socket.info());
        }
        catch (IOException | RuntimeException e) {
            runtimesCheckedAt = System.nanoTime(); // the engine's own problem is found by the next probe
        }
    }

    /** docker-java, the stub, leftovers of a dead Warden: once, in the background. */
    private void setup() {
        try {
            json = new ObjectMapper();
            Path cgroupRoot = Path.of("/sys/fs/cgroup");
            // without root: the engine's own groups, read only (Warden cannot remove groups it would make)
            CgroupFiles cgroups = !cgroupV1 ? null : CgroupFiles.writable(cgroupRoot)
                    ? new CgroupFiles(cgroupRoot, config.cgroupParent()) : CgroupFiles.engineOwned(cgroupRoot);
            if (!cgroupV1) {
                log.warn("container engine does not use cgroup v1 with the cgroupfs driver: usage figures of L3 runs are not reported");
            }
            Path stub = Launcher.unpack(stateDir.resolve("container")).path();
            Path hosts = SandboxHosts.write(stateDir.resolve("container").resolve("etc"));
            DockerClientConfig dc = DefaultDockerClientConfig.createDefaultConfigBuilder()
                .withDockerHost(dockerHost).withDockerTlsVerify(false).build();
            ApacheDockerHttpClient http = new ApacheDockerHttpClient.Builder().dockerHost(dc.getDockerHost())
                .maxConnections(64).connectionTimeout(Duration.ofSeconds(5)).responseTimeout(Duration.ofSeconds(60))
                .build();
            docker = DockerClientImpl.getInstance(dc, http);
            var version = docker.versionCmd().exec();
            reapLeftovers();
            if (cgroups != null) {
                cgroups.sweep();
            }
            client.complete(new ContainerExecutor(docker, socket, cgroups, config, gid, stub, hosts, limitsOf, this::envOf,
                    timer, io, background, this::runtime, egress, tenants));
            log.info("container engine: Docker {} (API {}), usage from cgroups: {}", version.getVersion(),
                    version.getApiVersion(), cgroupV1 ? "v1" : "no");
        }
        catch (IOException | RuntimeException e) {
            log.error("container engine found but not usable: {}", e.getMessage());
            setupFailedAt = System.nanoTime();
            client.completeExceptionally(e);
        }
    }

    /** Containers of a Warden that died (its pid label names no live process) are removed. */
    private void reapLeftovers() {
        try {
            docker.listContainersCmd().withShowAll(true).withLabelFilter(List.of(config.label())).exec().forEach(c -> {
                String pid = c.getLabels() == null ? null : c.getLabels().get(config.label() + ".pid");
                boolean alive = pid != null && pid.matches("\\d+") && ProcessHandle.of(Long.parseLong(pid)).isPresent();
                if (!alive) {
                    try {
                        docker.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
                        log.info("removed leftover container {} of a Warden that is gone", c.getId().substring(0, 12));
                    }
                    catch (RuntimeException ignored) {
                        // someone else removed it
                    }
                }
            });
        }
        catch (RuntimeException e) {
            log.warn("could not list leftover containers: {}", e.getMessage());
        }
    }

    /** Whether the language's image is there (never pulled: there is no registry to trust). */
    private boolean image(String language) {
        if (images.containsKey(language)) {
            return true;
        }
        try {
            EngineSocket.Reply r = socket.image(config.imagePrefix() + language);
            if (r.status() != 200) {
                imageMissingSince.put(language, System.nanoTime());
                return false;
            }
            images.put(language, r.body());
            imageMissingSince.remove(language);
            return true;
        }
        catch (IOException | RuntimeException e) {
            imageMissingSince.put(language, System.nanoTime());
            return false;
        }
    }

    /** The image's own environment (Config.Env), the base of every run's. */
    private List<String> envOf(String language) {
        return imageEnv.computeIfAbsent(language, lang -> {
            List<String> env = new ArrayList<>();
            try {
                json.readTree(images.getOrDefault(lang, "{}")).path("Config").path("Env").forEach(e -> env.add(e.asText()));
            }
            catch (IOException e) {
                log.warn("image {} has unreadable metadata: {}", config.imagePrefix() + lang, e.getMessage());
            }
            return List.copyOf(env);
        });
    }

    @Override
    public Optional<String> unavailable(String language) {
        if (!config.languages().containsKey(language)) {
            return Optional.of("there is no container configuration for " + language);
        }
        awaitProbe(10_000);
        if (engineProblem != null && System.nanoTime() - engineCheckedAt > RECHECK_NANOS) {
            probe(); // an engine started after Warden is found here
        }
        if (engineProblem != null) {
            return Optional.of(engineProblem);
        }
        if (runtimeProblem() != null) {
            recheckRuntimes(); // registered and dockerd reloaded after Warden started: found here
            String problem = runtimeProblem();
            if (problem != null) {
                return Optional.of(problem);
            }
        }
        if (!images.containsKey(language)) {
            Long since = imageMissingSince.get(language);
            if (since == null || System.nanoTime() - since > RECHECK_NANOS) {
                image(language);
            }
        }
        if (!images.containsKey(language)) {
            return Optional.of("the container image " + config.imagePrefix() + language
                    + " is not built on this host (build it with tools/build-images.sh)");
        }
        return Optional.empty();
    }

    /** For the tool list: waits up to {@code waitMs} for the probe, then says whether the language can run. */
    public boolean ready(String language, long waitMs) {
        awaitProbe(waitMs);
        return probed.isDone() && engineProblem == null && runtimeProblem() == null && images.containsKey(language);
    }

    private void awaitProbe(long waitMs) {
        try {
            probed.get(waitMs, TimeUnit.MILLISECONDS);
        }
        catch (java.util.concurrent.TimeoutException e) {
            // not yet: the caller decides with what is known
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        catch (java.util.concurrent.ExecutionException e) {
            // probe() catches its own failures; nothing to add
        }
    }

    /** The L3 executor: refuses with the reason while there is no engine or image, never runs elsewhere. */
    public Executor executor() {
        return new Executor() {
            @Override
            public ExecOutcome run(ExecRequest request, Limits limits) {
                Optional<String> down = unavailable(ContainerExecutor.languageOf(request));
                if (down.isPresent()) {
                    return new ExecOutcome.Refused(down.get(), false);
                }
                ContainerExecutor e = executor(30_000);
                if (e == null) {
                    return new ExecOutcome.Refused("the Docker engine at " + dockerHost + " could not be used", false);
                }
                return e.run(request, limits);
            }

            @Override
            public String name() {
                return "container";
            }
        };
    }

    /** Warm containers for this session and language, started now (the benchmark and tests fill the pool with it). */
    public void prewarm(Path workspace, String language, int count) {
        ContainerExecutor e = unavailable(language).isEmpty() ? executor(30_000) : null;
        if (e != null) {
            e.fill(workspace, language, count);
        }
    }

    /** The executor once docker-java is set up, waiting up to {@code waitMs}; null if it cannot be. */
    private ContainerExecutor executor(long waitMs) {
        if (client.isCompletedExceptionally() && System.nanoTime() - setupFailedAt > RECHECK_NANOS) {
            setupAgain();
        }
        try {
            return client.get(waitMs, TimeUnit.MILLISECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
        catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return null;
        }
    }

    private synchronized void setupAgain() {
        if (client.isCompletedExceptionally() && System.nanoTime() - setupFailedAt > RECHECK_NANOS) {
            client = new CompletableFuture<>();
            setup();
        }
    }

    /** The executor if it is set up, else null; never waits, never throws. */
    private ContainerExecutor current() {
        CompletableFuture<ContainerExecutor> c = client;
        return c.isDone() && !c.isCompletedExceptionally() ? c.join() : null;
    }

    /** This server's containers at one moment: that exist (running or warm), warm ones, calls running in one. */
    public record Counts(int existing, int warm, int running) {
    }

    /** This server's containers now (the metrics); all 0 until docker-java is set up. Never waits. */
    public Counts counts() {
        ContainerExecutor e = current();
        return e == null ? new Counts(0, 0, 0) : new Counts(e.liveCount(), e.warmCount(), e.runningCount());
    }

    /** The session ended: its warm containers are removed before its workspace is. */
    public void forget(Path workspace) {
        ContainerExecutor e = current();
        if (e != null) {
            e.forget(workspace);
        }
    }

    @Override
    public void close() {
        // short waits: a stop must not hang on an engine in trouble (the next start removes what is left)
        awaitProbe(1_000);
        ContainerExecutor e = setupStarted ? (client.isDone() ? current() : executor(2_000)) : null;
        if (e != null) {
            e.close(); // no new warm container from here on
        }
        background.shutdown();
        try {
            background.awaitTermination(5, TimeUnit.SECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        if (e != null) {
            e.close();
        }
        timer.shutdownNow();
        io.shutdownNow();
        DockerClient d = docker;
        if (d != null) {
            try {
                d.close();
            }
            catch (IOException ignored) {
                // the connections end with the process
            }
        }
    }

}
