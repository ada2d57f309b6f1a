package dev.warden.exec.container;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.warden.config.ContainerLimits;
import dev.warden.config.WardenConfig;
import dev.warden.exec.Cancel;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.ExitClassifier;
import dev.warden.exec.Limits;
import dev.warden.exec.Output;
import dev.warden.exec.ProcessRun;
import dev.warden.exec.Phase;
import dev.warden.exec.StubRequest;
import dev.warden.exec.Usage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

    static final String WORKSPACE = ContainerSpec.WORKSPACE;
    static final String STUB = ContainerSpec.STUB;
    static final String BUILD_DIR = "/tmp/warden";
    private static final int INLINE_INPUT = 65536;
    private static final Pattern JAVA_PUBLIC_CLASS = Pattern.compile(
            "public\\s+(?:(?:final|abstract|strictfp)\\s+)*class\\s+([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern STATUS_CODE = Pattern.compile("\"StatusCode\"\\s*:\\s*(-?\\d+)");
    private static final Pattern EXIT_CODE = Pattern.compile("\"ExitCode\"\\s*:\\s*(-?\\d+)");
    private static final Pattern RUNNING = Pattern.compile("\"Running\"\\s*:\\s*true");
    /**
     * The end-of-run marker: the shell around the program writes it with the exit status to both
     * streams once the program has exited, so the result need not wait the ~45 ms the engine takes
     * to tear the container down (the container is killed and removed right after). The program can
     * print it too, which only ends its own run early with a status it chose: it can exit with any
     * status anyway, and the kill that follows ends whatever it left running.
     */
    static final String END_MARKER = "\u001eWARDEN-EXIT:";
    private static final String RUN_WRAPPER = "\"$@\"; s=$?; printf '\\036WARDEN-EXIT:%d\\n' \"$s\"; "
            + "printf '\\036WARDEN-EXIT:%d\\n' \"$s\" >&2";

    /** A started container waiting for its one request. */
    record Container(String id, String name, Path workspace, String language, boolean warm, String runtime) {
    }

    private final DockerClient docker;
    private final EngineSocket socket;
    private final CgroupFiles cgroups; // null: usage unknown (no readable cgroup v1 here)
    private final WardenConfig.Container config;
    private final int gid;
    private final Path stub;
    private final Function<String, ContainerLimits> limitsOf;
    private final Function<String, List<String>> imageEnv;
    private final ScheduledExecutorService timer;
    private final ExecutorService io;
    private final ExecutorService background;
    /** The engine's name of the OCI runtime a container gets now: runc or runsc (auto may change). */
    private final java.util.function.Supplier<String> runtime;
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
    private final AtomicLong counter = new AtomicLong();
    private final Map<String, Deque<Container>> warm = new LinkedHashMap<>();
    private final Map<String, String> live = new ConcurrentHashMap<>(); // id -> name, until removed
    /** Sessions that ended (workspace to when): a warm container being started for one is removed, not kept. */
    private final Map<Path, Long> ended = new ConcurrentHashMap<>();
    /** Calls in containers at once (container.max_running): what L3 may take from the host is bounded. */
    private final Semaphore running;
    private int warmCount;
    private volatile boolean closed;

    ContainerExecutor(DockerClient docker, EngineSocket socket, CgroupFiles cgroups, WardenConfig.Container config,
            int gid, Path stub, Function<String, ContainerLimits> limitsOf, Function<String, List<String>> imageEnv,
            ScheduledExecutorService timer, ExecutorService io, ExecutorService background,
            java.util.function.Supplier<String> runtime) {
        this.docker = docker;
        this.runtime = runtime;
        this.socket = socket;
        this.cgroups = cgroups;
        this.config = config;
        this.gid = gid;
        this.stub = stub;
        this.limitsOf = limitsOf;
        this.imageEnv = imageEnv;
        this.timer = timer;
        this.io = io;
        this.background = background;
        this.running = new Semaphore(config.maxRunning(), true);
    }

    @Override
    public String name() {
        return "container";
    }

    /** run_command routed to L3 runs its argv in the bash image. */
    static String languageOf(ExecRequest request) {
        return request.language() != null ? request.language() : "bash";
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
        Container c = takeWarm(request.workspace(), language);
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
        Cancel.Registration stopHook = request.cancel().onCancel(() -> kill(target));
        try {
            if (cgroups != null && c.warm()) {
                cgroups.reset(c.name());
            }
            ExecOutcome outcome = runIn(c, lang, request, limits);
            String stopped = request.cancel().reason();
            if (stopped != null && !(outcome instanceof ExecOutcome.Refused)) {
                return stoppedBy(stopped, outcome);
            }
            return outcome;
        }
        finally {
            stopHook.close();
            destroy(c);
            refill(request.workspace(), language);
        }
    }

    private ExecOutcome runIn(Container c, WardenConfig.ContainerLanguage lang, ExecRequest request, Limits limits) {
        String code = request.code() == null ? "" : request.code();
        boolean compiled = lang.compile() != null && !lang.compile().isEmpty() && request.language() != null;
        String className = javaClass(code);
        String source = lang.source() == null ? null : lang.source().replace("{class}", className);
        Map<String, String> vars = Map.of("{code}", code, "{source}", source == null ? "" : BUILD_DIR + "/" + source,
                "{class}", className);
        Phase compile = null;
        if (compiled) {
            List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c",
                    // the source arrives on stdin; the compiler writes only into the container's /tmp
                    "umask 077 && mkdir -p " + BUILD_DIR + " && cat > \"" + BUILD_DIR + "/$0\" && umask 002 && exec \"$@\"",
                    source));
            argv.addAll(substitute(lang.compile(), vars));
            byte[] req = stubRequest(request, lang, argv, true, limits);
            long compileTimeout = limitsOf.apply(c.language()).compileTimeoutMs();
            Step step = exec(c, req, code.getBytes(StandardCharsets.UTF_8), compileTimeout, limits.outputBytes());
            if (step.refused != null) {
                return step.refused;
            }
            Usage usage = usage(c);
            String status = step.timedOut ? "timeout" : step.oom ? "killed" : step.exitCode == 0 ? "ok" : "failed";
            compile = new Phase(status, step.timedOut || step.oom ? null : step.exitCode, step.stdout, step.stderr,
                    step.durationMs);
            if (!status.equals("ok")) {
                String why = step.timedOut ? "the compile ran past its time limit of " + compileTimeout + " ms"
                        : step.oom ? "the compiler exceeded the memory limit of " + limitsOf.apply(c.language()).memoryMb() + " MB"
                                : "the compiler exited with code " + step.exitCode;
                return new ExecOutcome.CompileFailed(compile, why, usage);
            }
        }
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", RUN_WRAPPER, "sh"));
        argv.addAll(request.language() == null ? request.argv() : substitute(lang.run(), vars));
        byte[] req = stubRequest(request, lang, argv, !compiled, limits);
        Step step = attach(c, req, request.stdin(), limits.timeoutMs(), limits.outputBytes());
        if (step.refused != null) {
            return step.refused;
        }
        Usage usage = usage(c);
        ContainerLimits cl = limitsOf.apply(c.language());
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
        int code2 = step.exitCode;
        ExitClassifier exit = ExitClassifier.of(limits, cl.memoryMb(), cl.pids(), " (the OOM killer ended it)");
        ExitClassifier.Evidence evidence = new ExitClassifier.Evidence(step.oom, step.pidsHit, usage.cpuMs());
        if (code2 == ExitClassifier.STUB_FAILED && !step.started && exit.limitHit(code2, evidence) == null) {
            // no start mark: the stub failed before the program (a program printing "warden-spawn: …"
            // and exiting 125 has the mark, and is reported as its own failure)
            log.error("container stub failed: {}", ProcessRun.forLog(step.stderr.bytes()));
            return new ExecOutcome.Refused("the container could not start the program", false);
        }
        return exit.exited(code2, evidence, step.stdout, step.stderr, step.durationMs, usage, compile);
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
        return cgroups == null ? Usage.UNKNOWN : cgroups.usage(c.name());
    }

    /** How one phase ended. */
    private static final class Step {
        ExecOutcome.Refused refused;
        Output stdout = Output.EMPTY;
        Output stderr = Output.EMPTY;
        int exitCode = -1;
        boolean timedOut;
        boolean oom;
        boolean pidsHit;
        boolean sandboxEnded;
        /** The stub marked the program as started (its first stderr bytes). */
        boolean started;
        long durationMs;
    }

    /** The run phase: the container's own waiting stub gets the request. */
    private Step attach(Container c, byte[] request, byte[] stdin, long timeoutMs, int cap) {
        Step step = new Step();
        long t0 = System.nanoTime();
        EngineSocket.Hijacked stream;
        try {
            stream = socket.hijack("/containers/" + c.id() + "/attach?stream=1&stdin=1&stdout=1&stderr=1", null);
        }
        catch (IOException e) {
            log.error("attach to {} failed: {}", c.name(), e.getMessage());
            step.refused = new ExecOutcome.Refused("the container could not be reached", false);
            return step;
        }
        try (stream) {
            pump(c, stream, request, stdin, timeoutMs, cap, step, t0, END_MARKER.getBytes(StandardCharsets.US_ASCII));
        }
        // a fresh container: any OOM kill in it is this run's
        boolean oomSeen = !step.timedOut && cgroups != null && cgroups.oomKills(c.name(), c.id()) > 0;
        boolean noMarker = step.exitCode < 0 && !step.timedOut;
        if (step.exitCode < 0 || step.timedOut) {
            // no end marker (the wrapper itself was killed, or the wall limit): the container's own status
            String wait;
            try {
                wait = socket.request("POST", "/containers/" + c.id() + "/wait", null).body();
            }
            catch (IOException e) {
                wait = "";
            }
            Matcher m = STATUS_CODE.matcher(wait);
            step.exitCode = m.find() ? Integer.parseInt(m.group(1)) : -1;
        }
        step.durationMs = (System.nanoTime() - t0) / 1_000_000;
        step.oom = !step.timedOut && (oomSeen || (step.exitCode == 137 && oomKilledFlag(c)));
        // Under runsc, a container that ends with status 2 and without the wrapper's marker is gVisor
        // itself exiting: its Go runtime could not make a thread, because the pids limit (which
        // counts gVisor's threads with the program's) refused it. The cgroup that counted the refusal
        // is gone with the container, so this is the only sign.
        step.sandboxEnded = noMarker && !step.oom && step.exitCode == 2 && RUNSC.equals(c.runtime());
        return step;
    }

    /** The compile phase: an exec of the stub in the same container, the source on its stdin. */
    private Step exec(Container c, byte[] request, byte[] stdin, long timeoutMs, int cap) {
        Step step = new Step();
        long t0 = System.nanoTime();
        String execId;
        EngineSocket.Hijacked stream;
        try {
            execId = docker.execCreateCmd(c.id()).withCmd(STUB, "--request", "--mark-exec").withUser(user())
                .withAttachStdin(true).withAttachStdout(true).withAttachStderr(true).withTty(false)
                .withWorkingDir(WORKSPACE).exec().getId();
            stream = socket.hijack("/exec/" + execId + "/start", "{\"Detach\":false,\"Tty\":false}");
        }
        catch (IOException | RuntimeException e) {
            log.error("exec in {} failed: {}", c.name(), e.getMessage());
            step.refused = new ExecOutcome.Refused("the compiler could not be started in the container", false);
            return step;
        }
        try (stream) {
            pump(c, stream, request, stdin, timeoutMs, cap, step, t0, null);
        }
        boolean oomSeen = !step.timedOut && cgroups != null && cgroups.oomKills(c.name(), c.id()) > 0;
        if (!step.timedOut) {
            // the streams close as the process exits; its exit code is recorded a moment later
            for (int i = 0; i < 200; i++) {
                try {
                    String body = socket.request("GET", "/exec/" + execId + "/json", null).body();
                    Matcher m = EXIT_CODE.matcher(body);
                    if (!RUNNING.matcher(body).find() && m.find()) {
                        step.exitCode = Integer.parseInt(m.group(1));
                        break;
                    }
                    Thread.sleep(5);
                }
                catch (IOException e) {
                    break;
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        step.durationMs = (System.nanoTime() - t0) / 1_000_000;
        step.oom = oomSeen;
        return step;
    }

    /** Feed the input, drain the output with caps, and kill the container at the wall limit. */
    private void pump(Container c, EngineSocket.Hijacked stream, byte[] request, byte[] stdin, long timeoutMs, int cap,
            Step step, long t0, byte[] endMarker) {
        AtomicBoolean fired = new AtomicBoolean();
        ScheduledFuture<?> limit = timer.schedule(() -> {
            fired.set(true);
            if (cgroups != null) {
                step.pidsHit = cgroups.pidsLimitHits(c.name(), c.id()) > 0;
            }
            kill(c);
            // the engine closes the stream when the container dies; if not, close it ourselves
            timer.schedule(stream::close, 3, TimeUnit.SECONDS);
        }, Math.max(1, timeoutMs - (System.nanoTime() - t0) / 1_000_000), TimeUnit.MILLISECONDS);
        try {
            Future<?> feeding = null;
            if (request.length + stdin.length <= INLINE_INPUT) {
                send(stream, request, stdin);
            }
            else {
                feeding = io.submit(() -> send(stream, request, stdin));
            }
            EngineSocket.Hijacked.Outputs out = stream.drain(cap, endMarker);
            step.stdout = out.stdout();
            // the stub's start mark: whether the program ran is never read from the program's own words
            step.started = ProcessRun.startsWithMark(out.stderr());
            step.stderr = step.started ? ProcessRun.unmark(out.stderr()) : out.stderr();
            if (out.exitCode() != null) {
                step.exitCode = out.exitCode();
            }
            if (feeding != null) {
                feeding.cancel(true);
            }
        }
        finally {
            limit.cancel(false);
            step.timedOut = fired.get();
        }
    }

    private static void send(EngineSocket.Hijacked stream, byte[] request, byte[] stdin) {
        try {
            stream.send(request, stdin);
        }
        catch (IOException ignored) {
            // the program exited or closed stdin without reading it all: that is its right
        }
    }

    /** The one request of the stub: rlimits, umask, directory, environment, files, argv. */
    private byte[] stubRequest(ExecRequest request, WardenConfig.ContainerLanguage lang, List<String> argv,
            boolean withFiles, Limits limits) {
        StubRequest stub = new StubRequest()
            .option("--rlimit", "cpu=" + limits.cpuSeconds())
            .option("--rlimit", "fsize=" + (long) limits.fileSizeMb() * 1024 * 1024)
            .option("--rlimit", "nofile=" + limits.openFiles())
            .option("--rlimit", "core=0")
            .option("--umask", "0002")
            .option("--chdir", request.cwd().isEmpty() ? WORKSPACE : WORKSPACE + "/" + request.cwd());
        for (Map.Entry<String, String> e : environment(request, lang).entrySet()) {
            stub.option("--env", e.getKey() + "=" + e.getValue());
        }
        if (withFiles) {
            for (Map.Entry<String, String> f : request.files().entrySet()) {
                stub.option("--file", f.getKey()).option("--data", f.getValue());
            }
        }
        return stub.argv(argv).encode();
    }

    /**
     * The image's own environment (PATH, the toolchain's cache directories), then the language's
     * from config, then the call's (already filtered by the policy). Nothing of Warden's own.
     */
    private Map<String, String> environment(ExecRequest request, WardenConfig.ContainerLanguage lang) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String kv : imageEnv.apply(languageOf(request))) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                env.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        env.putIfAbsent("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.putIfAbsent("HOME", "/tmp");
        env.putIfAbsent("LANG", "C.UTF-8");
        env.put("TMPDIR", "/tmp");
        if (lang.env() != null) {
            env.putAll(lang.env());
        }
        env.putAll(request.env());
        return env;
    }

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{(code|source|class)\\}");

    /** One pass per part: text put in (the code) is never searched for placeholders again. */
    static List<String> substitute(List<String> template, Map<String, String> vars) {
        List<String> out = new ArrayList<>(template.size());
        for (String part : template) {
            Matcher m = PLACEHOLDER.matcher(part);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(sb, Matcher.quoteReplacement(vars.getOrDefault(m.group(), m.group())));
            }
            m.appendTail(sb);
            out.add(sb.toString());
        }
        return out;
    }

    /** The class javac must find in a file of its own name: the public class, else Main. */
    static String javaClass(String code) {
        Matcher m = JAVA_PUBLIC_CLASS.matcher(code);
        return m.find() ? m.group(1) : "Main";
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
        String name = "warden-" + ownerPid + "-" + counter.incrementAndGet();
        String oci = runtime.get();
        ContainerSpec spec = ContainerSpec.of(image(language), name, config.label(), ownerPid, language, user(),
                limitsOf.apply(language), config.tmpMb(), oci, Seccomp.forRuntime(oci), workspace, stub,
                cgroups == null ? null : cgroups.parentOf(name));
        String id = DockerCreate.fill(docker.createContainerCmd(spec.image()), spec).exec().getId();
        live.put(id, name);
        try {
            docker.startContainerCmd(id).exec();
        }
        catch (RuntimeException e) {
            destroy(new Container(id, name, workspace, language, false, oci));
            throw e;
        }
        return new Container(id, name, workspace, language, forPool, oci);
    }

    static final String RUNSC = ContainerSpec.RUNSC;

    private void kill(Container c) {
        try {
            docker.killContainerCmd(c.id()).exec();
        }
        catch (RuntimeException ignored) {
            // not running any more: that is what we wanted
        }
    }

    private boolean oomKilledFlag(Container c) {
        try {
            Boolean oom = docker.inspectContainerCmd(c.id()).exec().getState().getOOMKilled();
            return Boolean.TRUE.equals(oom);
        }
        catch (RuntimeException e) {
            return false;
        }
    }

    /** Removes the container, its anonymous volumes and tmpfs, and its parent cgroup; off the call's path. */
    void destroy(Container c) {
        Runnable remove = () -> {
            try {
                docker.removeContainerCmd(c.id()).withForce(true).withRemoveVolumes(true).exec();
            }
            catch (NotFoundException | ConflictException ignored) {
                // already gone, or being removed by the session's end at this moment
            }
            catch (RuntimeException e) {
                log.warn("could not remove container {}: {}", c.name(), e.getMessage());
            }
            live.remove(c.id());
            if (cgroups != null) {
                cgroups.remove(c.name());
            }
        };
        try {
            // at once, in parallel: whatever still runs in it stops now (a program that printed the end
            // marker itself and went on), not when its turn for removal comes
            io.execute(() -> kill(c));
            reaper.execute(remove);
        }
        catch (java.util.concurrent.RejectedExecutionException e) {
            remove.run();
        }
    }

    private static String key(Path workspace, String language) {
        return workspace + "\0" + language;
    }

    private synchronized Container takeWarm(Path workspace, String language) {
        Deque<Container> q = warm.get(key(workspace, language));
        if (q == null || q.isEmpty()) {
            return null;
        }
        warmCount--;
        return q.poll();
    }

    /** After a call, the session's next container of that language is started in the background. */
    void refill(Path workspace, String language) {
        int want = config.pool() == null ? 0 : config.pool().getOrDefault(language, 0);
        if (want == 0 || closed) {
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
        while (true) {
            synchronized (this) {
                Deque<Container> q = warm.get(key(workspace, language));
                if (closed || (q != null && q.size() >= want) || warmCount >= config.warmMax()
                        || ended.containsKey(workspace) || !Files.isDirectory(workspace)) {
                    return;
                }
                warmCount++; // reserved before starting outside the lock
            }
            Container c;
            try {
                c = start(workspace, language, true);
            }
            catch (RuntimeException e) {
                synchronized (this) {
                    warmCount--;
                }
                log.debug("warm container for {} not started: {}", language, e.getMessage());
                return;
            }
            synchronized (this) {
                if (!closed && !ended.containsKey(workspace) && Files.isDirectory(workspace)) {
                    warm.computeIfAbsent(key(workspace, language), k -> new ArrayDeque<>()).add(c);
                    continue;
                }
                warmCount--;
            }
            destroy(c);
            return;
        }
    }

    /** The session ended: its warm containers go before its workspace does. */
    void forget(Path workspace) {
        List<Container> gone = new ArrayList<>();
        long now = System.nanoTime();
        // session directories are random and never reused: remembering them for a while is enough
        ended.values().removeIf(t -> now - t > TimeUnit.MINUTES.toNanos(10));
        synchronized (this) {
            ended.put(workspace, now);
            String prefix = workspace + "\0";
            warm.entrySet().removeIf(e -> {
                if (e.getKey().startsWith(prefix)) {
                    gone.addAll(e.getValue());
                    warmCount -= e.getValue().size();
                    return true;
                }
                return false;
            });
        }
        for (Container c : gone) {
            try {
                docker.removeContainerCmd(c.id()).withForce(true).withRemoveVolumes(true).exec();
            }
            catch (RuntimeException ignored) {
                // gone already
            }
            live.remove(c.id());
            if (cgroups != null) {
                cgroups.remove(c.name());
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        reaper.shutdown();
        try {
            reaper.awaitTermination(20, TimeUnit.SECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            warm.clear();
            warmCount = 0;
        }
        for (Map.Entry<String, String> e : List.copyOf(live.entrySet())) {
            String id = e.getKey();
            try {
                docker.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
            }
            catch (DockerException | IllegalStateException ignored) {
                // gone already, or the engine went away with it
            }
            catch (RuntimeException ignored) {
                // closing: nothing more to do about one container
            }
            live.remove(id);
            if (cgroups != null) {
                cgroups.remove(e.getValue());
            }
        }
    }
}
