package dev.warden.exec.container;

import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.warden.config.ContainerLimits;
import dev.warden.config.WardenConfig;
import dev.warden.exec.CallEgress;
import dev.warden.exec.Cancel;
import dev.warden.exec.EgressPort;
import dev.warden.exec.EgressPorts;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.ExitClassifier;
import dev.warden.exec.Limits;
import dev.warden.exec.Phase;
import dev.warden.exec.ProcessRun;
import dev.warden.call.Tenant;
import dev.warden.call.Tenants;
import dev.warden.exec.Usage;
import dev.warden.exec.WarmPool;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * L3: every call in a container of its language's image that serves that one call and is then
 * removed. The container: read-only root filesystem, no network, every capability dropped,
 * no-new-privileges, an unprivileged uid, Warden's seccomp profile ({@link Seccomp}), docker-init as
 * PID 1, memory (swap included), pids and CPU limits, a size-limited /tmp, and the session workspace
 * bound at /workspace as the only writable host directory; under the OCI runtime the policy chose
 * (runc, or gVisor's runsc).
 *
 * <p>Its main process is Warden's launcher stub ({@code warden-spawn --request}, static, mounted
 * read-only): started ahead of time, it waits on stdin for its one request (files, environment,
 * rlimits, argv), then execs the program, so a call on a warm container costs an attach and the
 * program itself. Compiled languages compile first through an exec of the same stub in the same
 * container (the source goes in on stdin, the output stays in the container's /tmp), reported as
 * their own phase; the run follows only if the compile succeeded.
 *
 * <p>Warm containers are made per session and language, each with that session's workspace bound
 * from the start: a container never sees another session's files, and needs nothing copied in or
 * out. Each serves exactly one call.
 */
final class ContainerExecutor implements Executor, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ContainerExecutor.class);

    static final String RUNSC = ContainerSpec.RUNSC;

    /** The warm pool's key: a session's workspace and a language. */
    private record Key(Path workspace, String language) {
    }

    private final DockerEngine engine;
    private final ContainerSession session;
    private final CgroupFiles cgroups; // null: usage unknown (no readable cgroup v1 here)
    private final WardenConfig.Container config;
    private final int gid;
    private final Path stub;
    /** The runs' /etc/hosts (the same as L2's), bound read-only. */
    private final Path hosts;
    private final Function<String, ContainerLimits> limitsOf;
    private final Function<String, List<String>> imageEnv;
    private final ExecutorService io;
    private final ExecutorService background;
    /** The engine's name of the OCI runtime a container gets now: runc or runsc (auto may change). */
    private final Supplier<String> runtime;
    /**
     * Removals, one at a time: a removal is the engine's most expensive step (unmounting, deleting
     * the container's directories), and a burst of them would slow the calls still running; the
     * program is gone already when one is queued (its container's init exited or was killed).
     */
    private final ExecutorService reaper = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "warden-l3-reaper");
        t.setDaemon(true);
        return t;
    });
    private final String ownerPid = Long.toString(ProcessHandle.current().pid());
    /** One sequence for the whole process: two executors of one JVM (tests, a restart in place) never share a name. */
    private static final AtomicLong COUNTER = new AtomicLong();
    private final WarmPool<Key, Container> warm;
    private final Map<String, String> live = new ConcurrentHashMap<>(); // id -> name, until removed
    private final EgressPorts egress;
    /** Each container's egress port (id to port), closed when the container is removed. */
    private final Map<String, EgressPort> ports = new ConcurrentHashMap<>();
    /** Sessions that ended (workspace to when): a warm container being started for one is removed, not kept. */
    private final Map<Path, Long> ended = new ConcurrentHashMap<>();
    /** Calls in containers at once (container.max_running): what L3 may take from the host is bounded. */
    private final Semaphore running;

    private final Tenants tenants;

    ContainerExecutor(com.github.dockerjava.api.DockerClient docker, EngineSocket socket, CgroupFiles cgroups,
            WardenConfig.Container config, int gid, Path stub, Path hosts, Function<String, ContainerLimits> limitsOf,
            Function<String, List<String>> imageEnv, ScheduledExecutorService timer, ExecutorService io,
            ExecutorService background, Supplier<String> runtime, EgressPorts egress, Tenants tenants) {
        this.tenants = tenants;
        this.engine = new DockerEngine(docker);
        this.egress = egress;
        this.session = new ContainerSession(engine, socket, cgroups, timer, io);
        this.runtime = runtime;
        this.cgroups = cgroups;
        this.config = config;
        this.gid = gid;
        this.stub = stub;
        this.hosts = hosts;
        this.limitsOf = limitsOf;
        this.imageEnv = imageEnv;
        this.io = io;
        this.background = background;
        this.running = new Semaphore(config.maxRunning(), true);
        this.warm = new WarmPool<>(config.warmMax());
    }

    /** Containers of this server that exist now, running or warm (the metrics, like the two below). */
    int liveCount() {
        return live.size();
    }

    int warmCount() {
        return warm.size();
    }

    /** Calls in a container now: the places of container.max_running taken. */
    int runningCount() {
        return config.maxRunning() - running.availablePermits();
    }

    @Override
    public String name() {
        return "container";
    }

    /** run_command routed to L3 runs its argv in the bash image. */
    static String languageOf(ExecRequest request) {
        return ContainerCommand.languageOf(request);
    }

    @Override
    public ExecOutcome run(ExecRequest request, Limits limits) {
        String language = languageOf(request);
        WardenConfig.ContainerLanguage lang = config.languages().get(language);
        if (lang == null) {
            return new ExecOutcome.Refused("there is no container for the language " + language, false);
        }
        try {
            if (!running.tryAcquire(10, TimeUnit.SECONDS)) {
                return new ExecOutcome.Refused("all " + config.maxRunning() + " container slots are busy", true);
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ExecOutcome.Refused("interrupted", false);
        }
        try {
            return runHolding(request, limits, language, lang);
        }
        finally {
            running.release();
        }
    }

    private ExecOutcome runHolding(ExecRequest request, Limits limits, String language,
            WardenConfig.ContainerLanguage lang) {
        Container c = warm.take(new Key(request.workspace(), language), x -> true, x -> { });
        if (c == null) {
            try {
                c = start(request.workspace(), language, false);
            }
            catch (NotFoundException e) {
                return new ExecOutcome.Refused("the container image " + image(language)
                        + " is not built on this host (build it with tools/build-images.sh)", false);
            }
            catch (RuntimeException e) {
                log.error("container start failed: {}", e.getMessage());
                return new ExecOutcome.Refused("the container could not be started", false);
            }
        }
        Container target = c;
        // an operator's stop or the kill switch kills the container; unregistered before it is destroyed
        Cancel.Registration stopHook = request.cancel().onCancel(() -> engine.kill(target.id()));
        // the container's port is the call's from before the request until the container is killed
        // (destroy closes the use then: whatever the program left running is gone with it)
        CallEgress.Use use = request.egress().use(c.port());
        try {
            if (cgroups != null && c.warm()) {
                cgroups.reset(c.name());
            }
            ExecOutcome outcome = runIn(c, new ContainerCommand(request, lang, imageEnv.apply(language),
                    c.port() != null, c.home()), request, limits);
            String stopped = request.cancel().reason();
            if (stopped != null && !(outcome instanceof ExecOutcome.Refused)) {
                return stoppedBy(stopped, outcome);
            }
            return outcome;
        }
        finally {
            stopHook.close();
            destroy(c, use);
            refill(request.workspace(), language);
        }
    }

    /** The compile phase if the language has one, then the run phase; each phase's end read as an outcome. */
    private ExecOutcome runIn(Container c, ContainerCommand command, ExecRequest request, Limits limits) {
        ContainerLimits cl = limitsOf.apply(c.language());
        Phase compile = null;
        if (command.compiled()) {
            byte[] req = command.stubRequest(command.compileArgv(), true, limits).encode();
            long compileTimeout = cl.compileTimeoutMs();
            ContainerSession.Step step = session.exec(c, c.user(), req, command.code().getBytes(StandardCharsets.UTF_8),
                    compileTimeout, limits.outputBytes());
            if (step.refused != null) {
                return step.refused;
            }
            Usage usage = usage(c);
            String status = step.timedOut ? "timeout" : step.oom ? "killed" : step.exitCode == 0 ? "ok" : "failed";
            compile = new Phase(status, step.timedOut || step.oom ? null : step.exitCode, step.stdout, step.stderr,
                    step.durationMs);
            if (!status.equals("ok")) {
                String why = step.timedOut ? "the compile ran past its time limit of " + compileTimeout + " ms"
                        : step.oom ? "the compiler exceeded the memory limit of " + cl.memoryMb() + " MB"
                                : "the compiler exited with code " + step.exitCode;
                return new ExecOutcome.CompileFailed(compile, why, usage);
            }
        }
        byte[] req = command.stubRequest(command.runArgv(), !command.compiled(), limits).encode();
        ContainerSession.Step step = session.attach(c, req, request.stdin(), limits.timeoutMs(), limits.outputBytes(),
                request.live(), request.input());
        if (step.refused != null) {
            return step.refused;
        }
        return outcome(step, c, cl, limits, compile);
    }

    /** How the run phase ended, as the call's outcome. */
    private ExecOutcome outcome(ContainerSession.Step step, Container c, ContainerLimits cl, Limits limits,
            Phase compile) {
        Usage usage = usage(c);
        if (step.timedOut) {
            if (step.pidsHit) {
                return new ExecOutcome.Killed("it hit the limit of " + cl.pids() + " processes and ran out its time",
                        step.stdout, step.stderr, step.durationMs, usage, compile);
            }
            return new ExecOutcome.TimedOut(step.stdout, step.stderr, step.durationMs, usage, compile);
        }
        if (step.sandboxEnded) {
            return new ExecOutcome.Killed("gVisor ended the container before the program finished (status 2): "
                    + "it most likely hit the limit of " + cl.pids() + " processes",
                    step.stdout, step.stderr, step.durationMs, usage, compile);
        }
        int code = step.exitCode;
        ExitClassifier exit = ExitClassifier.of(limits, cl.memoryMb(), cl.pids(), " (the OOM killer ended it)");
        ExitClassifier.Evidence evidence = new ExitClassifier.Evidence(step.oom, step.pidsHit, usage.cpuMs());
        if (code == ExitClassifier.STUB_FAILED && !step.started && exit.limitHit(code, evidence) == null) {
            // no start mark: the stub failed before the program (a program printing "warden-spawn: …"
            // and exiting 125 has the mark, and is reported as its own failure)
            log.error("container stub failed: {}", ProcessRun.forLog(step.stderr.bytes()));
            return new ExecOutcome.Refused("the container could not start the program", false);
        }
        return exit.exited(code, evidence, step.stdout, step.stderr, step.durationMs, usage, compile);
    }

    /** A run an operator stopped is reported as killed, with the output it had, whatever the kill looked like. */
    private static ExecOutcome stoppedBy(String reason, ExecOutcome o) {
        if (o instanceof ExecOutcome.Completed x) {
            return new ExecOutcome.Killed(reason, x.stdout(), x.stderr(), x.durationMs(), x.usage(), x.compile());
        }
        if (o instanceof ExecOutcome.TimedOut x) {
            return new ExecOutcome.Killed(reason, x.stdout(), x.stderr(), x.durationMs(), x.usage(), x.compile());
        }
        if (o instanceof ExecOutcome.Killed x) {
            return new ExecOutcome.Killed(reason, x.stdout(), x.stderr(), x.durationMs(), x.usage(), x.compile());
        }
        return o;
    }

    private Usage usage(Container c) {
        return cgroups == null ? Usage.UNKNOWN : cgroups.usage(c.name(), c.id());
    }

    private String user() {
        return config.uid() + ":" + gid;
    }

    String image(String language) {
        return config.imagePrefix() + language;
    }

    // ---- container life cycle ----------------------------------------------------------------------

    /** Creates and starts a container of the language bound to this workspace, waiting for its request. */
    Container start(Path workspace, String language, boolean forPool) {
        String name = "warden-" + ownerPid + "-" + COUNTER.incrementAndGet();
        String oci = runtime.get();
        EgressPort port = openPort(name);
        String id;
        // the workspace's tenant: the same uid, gid and home as its L1 and L2 runs
        Tenant tenant = tenants.of(workspace);
        String user = tenant == null ? user() : tenant.uid() + ":" + tenant.gid();
        String home = tenant == null ? null : tenant.homeInSandbox(ContainerSpec.WORKSPACE);
        try {
            ContainerSpec spec = ContainerSpec.of(image(language), name, config.label(), ownerPid, language, user,
                    limitsOf.apply(language), config.tmpMb(), oci, Seccomp.forRuntime(oci), workspace, stub, hosts,
                    cgroups == null ? null : cgroups.parentOf(name), port == null ? null : port.dir(), tenant);
            id = engine.create(spec);
        }
        catch (RuntimeException e) {
            if (port != null) {
                port.close();
            }
            throw e;
        }
        live.put(id, name);
        if (port != null) {
            ports.put(id, port);
        }
        try {
            engine.start(id);
        }
        catch (RuntimeException e) {
            destroy(new Container(id, name, workspace, language, false, oci, port, user, home), null);
            throw e;
        }
        return new Container(id, name, workspace, language, forPool, oci, port, user, home);
    }

    /** The container's own egress port ("l3-" and its name), or null without egress. */
    private EgressPort openPort(String name) {
        try {
            return egress.open("l3-" + name);
        }
        catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("no egress port for " + name, e);
        }
    }

    /**
     * Removes the container, its anonymous volumes and tmpfs, its parent cgroup and its port; off the
     * call's path. The call's use of the port ({@code use}, may be null) ends once the container is killed.
     */
    void destroy(Container c, CallEgress.Use use) {
        Runnable kill = () -> {
            try {
                engine.kill(c.id());
            }
            finally {
                if (use != null) {
                    use.close();
                }
            }
        };
        Runnable remove = () -> {
            try {
                engine.remove(c.id());
            }
            catch (NotFoundException ignored) {
                // already gone: removed by the session's end at this moment
            }
            catch (RuntimeException e) {
                log.warn("could not remove container {}: {}", c.name(), e.getMessage());
            }
            forgetLive(c.id(), c.name());
        };
        try {
            // at once, in parallel: whatever still runs in it stops now (a program that printed the end
            // marker itself and went on), not when its turn for removal comes
            io.execute(kill);
            reaper.execute(remove);
        }
        catch (java.util.concurrent.RejectedExecutionException e) {
            remove.run(); // a forced removal kills it too
            if (use != null) {
                use.close();
            }
        }
    }

    private void forgetLive(String id, String name) {
        live.remove(id);
        EgressPort port = ports.remove(id);
        if (port != null) {
            port.close();
        }
        if (cgroups != null) {
            cgroups.remove(name);
        }
    }

    /** After a call, the session's next container of that language is started in the background. */
    void refill(Path workspace, String language) {
        int want = config.pool() == null ? 0 : config.pool().getOrDefault(language, 0);
        if (want == 0 || warm.isClosed()) {
            return;
        }
        try {
            background.execute(() -> fill(workspace, language, want));
        }
        catch (java.util.concurrent.RejectedExecutionException ignored) {
            // shutting down
        }
    }

    /** Starts containers until the session has {@code want} warm ones of the language (or warm_max is reached). */
    void fill(Path workspace, String language, int want) {
        Key key = new Key(workspace, language);
        while (warm.reserve(key, want, () -> wanted(workspace))) {
            Container c;
            try {
                c = start(workspace, language, true);
            }
            catch (RuntimeException e) {
                warm.cancelReservation();
                log.debug("warm container for {} not started: {}", language, e.getMessage());
                return;
            }
            if (!warm.offer(key, c, () -> wanted(workspace))) {
                destroy(c, null);
                return;
            }
        }
    }

    /** Whether a warm container for this workspace is still worth keeping: its session goes on. */
    private boolean wanted(Path workspace) {
        return !ended.containsKey(workspace) && Files.isDirectory(workspace);
    }

    /** The session ended: its warm containers go before its workspace does. */
    void forget(Path workspace) {
        long now = System.nanoTime();
        // session directories are random and never reused: remembering them for a while is enough
        ended.values().removeIf(t -> now - t > TimeUnit.MINUTES.toNanos(10));
        // marked before the removal: a container offered meanwhile either is removed here or is refused
        ended.put(workspace, now);
        for (Container c : warm.removeAll(k -> k.workspace().equals(workspace))) {
            try {
                engine.remove(c.id());
            }
            catch (RuntimeException ignored) {
                // gone already
            }
            forgetLive(c.id(), c.name());
        }
    }

    @Override
    public void close() {
        warm.close();
        reaper.shutdown();
        try {
            reaper.awaitTermination(20, TimeUnit.SECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        warm.drain(); // every one of them is in live too, removed next
        for (Map.Entry<String, String> e : List.copyOf(live.entrySet())) {
            String id = e.getKey();
            try {
                engine.remove(id);
            }
            catch (DockerException | IllegalStateException ignored) {
                // gone already, or the engine went away with it
            }
            catch (RuntimeException ignored) {
                // closing: nothing more to do about one container
            }
            forgetLive(id, e.getValue());
        }
        if (cgroups != null) {
            cgroups.sweepOwn(); // also the groups of containers removed behind Warden's back (an engine cut)
        }
    }
}
