package dev.warden.exec.host;

import dev.warden.exec.AfterAnswer;
import dev.warden.exec.CallEgress;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.ExitClassifier;
import dev.warden.exec.Executor;
import dev.warden.exec.Kernel;
import dev.warden.exec.KernelHost;
import dev.warden.exec.Launcher;
import dev.warden.exec.Limits;
import dev.warden.exec.ProcessRun;
import dev.warden.call.Tenant;
import dev.warden.call.Tenants;
import dev.warden.exec.Usage;
import dev.warden.exec.WarmPool;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * L2: every run in fresh namespaces made by bubblewrap (user, pid, mount, ipc, uts, cgroup; the
 * network namespace is its session's, loopback only, shared by the session's runs: {@link
 * SessionNetworks}), as a slot's own unprivileged uid, inside the slot's cgroups (memory, pids,
 * cpu accounting), with rlimits, a private /tmp, the session workspace as the only writable host
 * directory, and a minimal environment. Killing the bwrap process ends the pid namespace, and with
 * it every process the run started, daemons included.
 *
 * <p>A sandbox can be pre-created: it is started up to the point where the launcher stub inside it
 * waits for its request, so a call only pays for its own program. Each one serves exactly one call
 * of the session whose workspace it binds, and is then destroyed. After a stateless execute_code call
 * of python or javascript, the session's next sandbox goes one step further: its interpreter is
 * started too, in the shape of that call (same limits, directory and environment), waiting for code
 * ({@link WarmInterpreter}); after any other call it is a plain stub. A call takes the one that fits
 * it best (an interpreter started exactly as its own cold run would start it, else a plain stub); when
 * none fits it starts cold, and the session's oldest is given up if it holds all it may (see {@link
 * WarmPool#take}), so a session that alternates code and commands keeps one of each.
 */
public final class SandboxExecutor implements Executor, KernelHost, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SandboxExecutor.class);

    private final Launcher launcher;
    private final SlotPool slots;
    private final Path bwrap;
    private final Path etcDir;
    private final Limits baseLimits;
    private final ProcessRun processes;
    private final ExecutorService background;
    private final int warmPerSession;
    /** sandbox.warm_interpreters: whether a session's next sandbox may have its interpreter started. */
    private final boolean warmInterpreters;
    private final WarmPool<Path, Sandbox> warm;
    /**
     * Bumped by {@link #forget} (a session's end, or a restore that swapped its workspace): a sandbox
     * started for an older generation binds a tree that is no longer the workspace, so it is not kept.
     */
    private final Map<Path, Integer> generations = new java.util.concurrent.ConcurrentHashMap<>();
    /**
     * The kernels' sandboxes by workspace: a session's end or a restore that swapped its workspace ends
     * them too (a kernel would go on working in the tree that is no longer the workspace).
     */
    private final Map<Path, java.util.Set<KernelBox>> kernels = new ConcurrentHashMap<>();

    /**
     * A sandbox started up to its stub, bound to one workspace and one slot; its relay's port on its
     * loopback. {@code interpreter}: the tokens of the request its stub has already served, which started
     * a {@link WarmInterpreter} now waiting for code; null: the stub still waits for its request. {@code
     * epoch}: its session's {@link Activity} when the interpreter was started.
     */
    private record Sandbox(Process process, Slot slot, Path workspace, int relayPort, String home,
            List<String> interpreter, long epoch) {

        boolean egress() {
            return slot.port() != null;
        }

        /** How well it serves a call (0: not at all): an interpreter started for it, else a plain stub. */
        int fit(ExecRequest request, Limits limits) {
            if (interpreter == null) {
                return 1;
            }
            return WarmInterpreter.fits(interpreter, request, limits, egress(), relayPort, home) ? 2 : 0;
        }
    }

    /** How a run's sandbox was started, as the audit line says it ({@link Usage#start}). */
    static final String COLD = "cold";
    static final String WARM_SANDBOX = "warm_sandbox";
    static final String WARM_INTERPRETER = "warm_interpreter";

    /**
     * The runs of one session, as far as a warm interpreter cares: what its start read of the workspace
     * (python's user site-packages under $HOME/.local and their .pth files, say) must be what a cold start
     * at the call would read. So an interpreter is started only while none of the session's runs is in
     * progress, and used only if none started since: otherwise it is discarded like a dead one. A session's
     * sequential calls stay warm (each next sandbox is made after the run before it ended).
     */
    private static final class Activity {
        private long epoch;
        private int running;

        synchronized void started() {
            epoch++;
            running++;
        }

        synchronized void ended() {
            epoch++;
            running--;
        }

        /** The epoch, or -1 while a run is in progress. */
        synchronized long quiet() {
            return running > 0 ? -1 : epoch;
        }
    }

    private final Map<Path, Activity> activity = new java.util.concurrent.ConcurrentHashMap<>();

    private Activity activity(Path workspace) {
        return activity.computeIfAbsent(workspace, w -> new Activity());
    }

    /**
     * The shape of a session's next sandbox: a call's {@link WarmInterpreter#shape} (its interpreter with the
     * loader, directory, environment) and limits, whose interpreter it starts ahead (null: a plain stub).
     */
    private record Next(ExecRequest request, Limits limits) {
    }

    /** The sessions' network namespaces, or null: each sandbox makes its own. */
    private volatile SessionNetworks nets;
    /** What runs see as /usr and its /etc entries (sandbox.environment). */
    private volatile SystemTree system = SystemTree.HOST;

    private final Tenants tenants;

    SandboxExecutor(Launcher launcher, SlotPool slots, Path bwrap, Path etcDir, Limits baseLimits,
            ProcessRun processes, ExecutorService background, int warmPerSession, int warmMax, Tenants tenants,
            boolean warmInterpreters) {
        this.warmInterpreters = warmInterpreters;
        this.tenants = tenants;
        this.launcher = launcher;
        this.slots = slots;
        this.bwrap = bwrap;
        this.etcDir = etcDir;
        this.baseLimits = baseLimits;
        this.processes = processes;
        this.background = background;
        this.warmPerSession = warmPerSession;
        this.warm = new WarmPool<>(warmMax);
    }

    @Override
    public String name() {
        return "sandbox";
    }

    @Override
    public ExecOutcome run(ExecRequest request, Limits limits) {
        return run(request, limits, true);
    }

    /** @param prewarmNext whether to pre-create the session's next sandbox afterwards */
    ExecOutcome run(ExecRequest request, Limits limits, boolean prewarmNext) {
        long t0 = System.nanoTime();
        Sandbox sb = takeWarm(request, limits);
        Activity runs = activity(request.workspace());
        runs.started();
        String start = sb == null ? COLD : sb.interpreter() != null ? WARM_INTERPRETER : WARM_SANDBOX;
        if (sb == null) {
            Slot slot = acquireSlot();
            if (slot == null) {
                runs.ended();
                return new ExecOutcome.Refused("all " + slots.size() + " sandbox slots are busy", true);
            }
            try {
                sb = start(slot, request.workspace(), null);
            }
            catch (IOException e) {
                runs.ended();
                slots.release(slot);
                log.error("sandbox start failed: {}", e.getMessage());
                return new ExecOutcome.Refused("the sandbox could not be created", false);
            }
        }
        long t1 = System.nanoTime();
        try {
            return runIn(sb, request, limits).withStart(start);
        }
        finally {
            if (log.isDebugEnabled()) {
                log.debug("sandbox run: start={} acquire={}us run={}us", start, (t1 - t0) / 1000,
                        (System.nanoTime() - t1) / 1000);
            }
            // The sandbox's namespace died with its program (runIn waits for the launcher, or kills
            // the tree): making sure of it through the cgroups and freeing the slot wait for the answer.
            runs.ended(); // the program has exited (or its tree was killed): the run is over
            Sandbox done = sb;
            int generation = generation(done.workspace()); // now, before the caller may restore the workspace
            Next next = warmInterpreters ? WarmInterpreter.shape(request).map(r -> new Next(r, limits)).orElse(null) : null;
            AfterAnswer.run(background, () -> {
                destroy(done);
                if (prewarmNext) {
                    refill(done.workspace(), generation, next);
                }
            });
        }
    }

    private ExecOutcome runIn(Sandbox sb, ExecRequest request, Limits limits) {
        Cgroups cg = sb.slot().cgroups();
        long pidHitsBefore = 0;
        long oomBefore = 0;
        if (cg != null) {
            cg.resetCounters();
            pidHitsBefore = cg.pidsLimitHits();
            oomBefore = cg.oomKills();
        }
        // a warm interpreter's stub served its request when it was made: the loader now waits for the code
        byte[] preamble = sb.interpreter() != null ? WarmInterpreter.frame(request.code())
            : BwrapPlan.request(request, limits, sb.egress(), sb.relayPort(), sb.home()).encode();
        Runnable killTree = () -> stop(sb);
        ProcessRun.Raw raw;
        // the slot's port is the call's from before the request until every process of the run is gone:
        // the launcher (the tree's reaper) has exited, or the tree was killed and waited for
        try (CallEgress.Use use = request.egress().use(sb.slot().port())) {
            raw = processes.run(sb.process(), preamble, request.stdin(), limits.timeoutMs(), limits.outputBytes(),
                    killTree, request.cancel(), request.live(), request.input());
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            killTree.run();
            return new ExecOutcome.Refused("interrupted", false);
        }
        Usage usage = cg != null ? cg.usage() : Usage.UNKNOWN;
        boolean oom = cg != null && cg.oomKills() > oomBefore;
        boolean pidsHit = cg != null && cg.pidsLimitHits() > pidHitsBefore;
        if (raw.stopped() != null) {
            return new ExecOutcome.Killed(raw.stopped(), raw.stdout(), raw.stderr(), raw.durationMs(), usage);
        }
        if (raw.timedOut()) {
            return new ExecOutcome.TimedOut(raw.stdout(), raw.stderr(), raw.durationMs(), usage);
        }
        if (!raw.started()) {
            // the stub never marked the program as started: this is bwrap's or the launcher's word
            log.error("sandbox setup failed (exit {}): {}", raw.exitCode(), ProcessRun.forLog(raw.stderr().bytes()));
            return new ExecOutcome.Refused("the sandbox could not be created", false);
        }
        int code = raw.exitCode();
        boolean memoryHit = oom || (code == ExitClassifier.SIGKILL && cg != null && cg.memoryLimitHit());
        return ExitClassifier.of(limits).exited(code, new ExitClassifier.Evidence(memoryHit, pidsHit, usage.cpuMs()),
                raw.stdout(), raw.stderr(), raw.durationMs(), usage, null);
    }

    /**
     * Starts a sandbox up to its stub; with {@code next}, the stub is sent its request at once, which
     * starts the interpreter of that call's language with the loader, in the shape the call had.
     */
    private Sandbox start(Slot slot, Path workspace, Next next) throws IOException {
        SessionNetworks n = nets;
        Tenant tenant = tenants.of(workspace);
        BwrapPlan plan = BwrapPlan.of(launcher.path(), slot, baseLimits, bwrap, etcDir, workspace,
                n == null ? null : n.of(workspace), system, tenant, slots.size());
        ProcessBuilder pb = new ProcessBuilder(plan.argv());
        pb.environment().clear();
        // the launcher checks that its parent is still this server (nsenter runs before it; see warden-spawn.c)
        pb.environment().put("WARDEN_PARENT", Long.toString(ProcessHandle.current().pid()));
        String home = tenant == null ? BwrapPlan.WORKSPACE : tenant.homeInSandbox(BwrapPlan.WORKSPACE);
        long epoch = next == null ? -1 : activity(workspace).quiet();
        Process p = pb.start();
        List<String> interpreter = null;
        if (epoch >= 0) { // else a run of the session is in progress: a plain stub
            var req = BwrapPlan.request(next.request(), next.limits(), slot.port() != null, plan.relayPort(), home);
            try {
                // small, so the pipe takes it whole; stdin stays open for the code and the call's stdin
                p.getOutputStream().write(req.encode());
                p.getOutputStream().flush();
            }
            catch (IOException e) {
                p.destroyForcibly();
                throw e;
            }
            interpreter = req.tokens();
        }
        return new Sandbox(p, slot, workspace, plan.relayPort(), home, interpreter, epoch);
    }

    @Override
    public Kernel startKernel(ExecRequest request, String language, long lifetimeCpuMs) throws IOException {
        if (!slots.hasCgroups()) {
            throw new IOException("kernels need cgroups, which this server's sandboxes do not have");
        }
        Slot slot = acquireSlot();
        if (slot == null) {
            throw new IOException("all " + slots.size() + " sandbox slots are busy");
        }
        Sandbox sb;
        try {
            sb = start(slot, request.workspace(), null);
        }
        catch (IOException e) {
            slots.release(slot);
            throw e;
        }
        // a kernel's cells may change the workspace at any time: while it lives, its session's runs are
        // never quiet, so no warm interpreter is started or used for the session (see Activity)
        Activity runs = activity(request.workspace());
        runs.started();
        KernelBox box = new KernelBox(sb, runs);
        kernels.computeIfAbsent(request.workspace(), w -> ConcurrentHashMap.newKeySet()).add(box);
        ExecRequest k = new ExecRequest(KernelHost.argv(language), request.workspace(), "", null, request.env());
        Limits l = new Limits(baseLimits.timeoutMs(), lifetimeCpuMs, baseLimits.memoryMb(), baseLimits.pids(),
                baseLimits.outputBytes(), baseLimits.fileSizeMb(), baseLimits.openFiles(), baseLimits.tmpMb());
        java.util.concurrent.Future<byte[]> stderr = processes.io().submit(() -> launcherText(sb.process()));
        try {
            OutputStream os = sb.process().getOutputStream();
            os.write(BwrapPlan.request(k, l, slot.port() != null, sb.relayPort(), sb.home()).encode());
            os.flush();
            return Kernel.open(box, language, processes.io());
        }
        catch (IOException e) {
            box.destroy();
            try {
                log.error("kernel start failed: {} ({})", e.getMessage(),
                        ProcessRun.forLog(stderr.get(2, TimeUnit.SECONDS)));
            }
            catch (Exception none) {
                log.error("kernel start failed: {}", e.getMessage());
            }
            throw e;
        }
    }

    /** What a kernel's sandbox says on stderr before its program takes it over (the mark, or bwrap's and the launcher's words). */
    private static byte[] launcherText(Process p) throws IOException {
        try (InputStream err = p.getErrorStream()) {
            byte[] head = err.readNBytes(4096);
            err.transferTo(OutputStream.nullOutputStream());
            return head;
        }
    }

    /** A kernel's sandbox: one slot for the kernel's whole life, destroyed once. */
    private final class KernelBox implements Kernel.Box {

        private final Sandbox sb;
        private final Activity runs;
        private final java.util.concurrent.atomic.AtomicBoolean destroyed = new java.util.concurrent.atomic.AtomicBoolean();

        KernelBox(Sandbox sb, Activity runs) {
            this.sb = sb;
            this.runs = runs;
        }

        @Override
        public OutputStream requests() {
            return sb.process().getOutputStream();
        }

        @Override
        public InputStream replies() {
            return sb.process().getInputStream();
        }

        @Override
        public boolean alive() {
            return !destroyed.get() && sb.process().isAlive();
        }

        @Override
        public Map<Long, Long> processes() {
            return sb.slot().cgroups().namespacedPids();
        }

        @Override
        public void kill(java.util.Collection<Long> hostPids) {
            hostPids.forEach(p -> ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly));
        }

        @Override
        public void interrupt() {
            java.util.Set<Long> pids = sb.slot().cgroups().namespacedPids().keySet();
            if (pids.isEmpty()) {
                return;
            }
            java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("/bin/kill", "-INT"));
            pids.forEach(p -> cmd.add(Long.toString(p)));
            try {
                new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor(2, TimeUnit.SECONDS);
            }
            catch (IOException e) {
                log.warn("could not interrupt a kernel: {}", e.getMessage());
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void resetCounters() {
            sb.slot().cgroups().resetCounters();
        }

        @Override
        public Usage usage() {
            return sb.slot().cgroups().usage();
        }

        @Override
        public long oomKills() {
            return sb.slot().cgroups().oomKills();
        }

        @Override
        public long pidsLimitHits() {
            return sb.slot().cgroups().pidsLimitHits();
        }

        @Override
        public boolean processesAtLimit() {
            return sb.slot().cgroups().processesAtLimit();
        }

        @Override
        public Long memoryKb() {
            return sb.slot().cgroups().memoryKb();
        }

        @Override
        public CallEgress.Use egress(CallEgress egress) {
            return egress.use(sb.slot().port());
        }

        @Override
        public void destroy() {
            if (destroyed.compareAndSet(false, true)) {
                kernels.computeIfPresent(sb.workspace(), (w, set) -> {
                    set.remove(this);
                    return set.isEmpty() ? null : set;
                });
                SandboxExecutor.this.destroy(sb);
                runs.ended();
            }
        }
    }

    /** From now on sandboxes bind this system tree (sandboxes already started keep theirs). */
    void useSystem(SystemTree tree) {
        this.system = tree;
    }

    /** From now on the sandboxes of a session share its network namespace (made by {@code n}). */
    void shareNetworks(SessionNetworks n) {
        this.nets = n;
    }

    /** A session is over (not merely restored): its network namespace goes too. */
    public void endSession(Path workspace) {
        forget(workspace);
        activity.remove(workspace);
        SessionNetworks n = nets;
        if (n != null) {
            n.remove(workspace);
        }
    }

    /** Writes the files that stand in for the host's /etc inside every sandbox. */
    static void writeEtc(Path etcDir, int uidBase, int slots, int gid) throws IOException {
        Files.createDirectories(etcDir);
        StringBuilder passwd = new StringBuilder("root:x:0:0:root:/root:/usr/sbin/nologin\n");
        for (int i = 0; i < slots; i++) {
            passwd.append("sandbox:x:").append(uidBase + i).append(':').append(gid)
                .append(":sandbox:/workspace:/bin/bash\n");
        }
        passwd.append("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        Files.writeString(etcDir.resolve("passwd"), passwd);
        Files.writeString(etcDir.resolve("group"), "root:x:0:\nsandbox:x:" + gid + ":\nnogroup:x:65534:\n");
        Files.writeString(etcDir.resolve("hosts"), dev.warden.exec.SandboxHosts.CONTENT);
        Files.writeString(etcDir.resolve("nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files\n");
    }

    private Slot acquireSlot() {
        try {
            Slot slot = slots.tryAcquire(0);
            while (slot == null) {
                // Pre-created sandboxes of other sessions give way to a real call.
                if (!evictOneWarm()) {
                    return slots.tryAcquire(10_000);
                }
                slot = slots.tryAcquire(50);
            }
            return slot;
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private Sandbox takeWarm(ExecRequest request, Limits limits) {
        long quiet = activity(request.workspace()).quiet();
        // an interpreter started before the session's last run is as good as dead (see Activity)
        return warm.take(request.workspace(),
                sb -> sb.process().isAlive() && (sb.interpreter() == null || sb.epoch() == quiet),
                sb -> sb.fit(request, limits), warmPerSession, sb -> background.execute(() -> destroy(sb)));
    }

    boolean evictOneWarm() {
        Sandbox victim = warm.evictOne();
        if (victim == null) {
            return false;
        }
        destroy(victim);
        return true;
    }

    private int generation(Path workspace) {
        return generations.getOrDefault(workspace, 0);
    }

    /** When a session starts (or its workspace was restored), make its next sandbox in the background. */
    public void refill(Path workspace) {
        refill(workspace, generation(workspace), null);
    }

    /**
     * Makes the session's next sandbox, unless the workspace changed (see {@link #generations}) meanwhile;
     * with {@code next}, its interpreter started in that call's shape.
     */
    private void refill(Path workspace, int generation, Next next) {
        if (warmPerSession == 0 || warm.isClosed()) {
            return;
        }
        background.execute(() -> {
            if (!warm.reserve(workspace, warmPerSession, () -> wanted(workspace, generation))) {
                return;
            }
            Slot slot = null;
            try {
                // Leave at least one slot for calls: a pre-created sandbox is a convenience.
                slot = slots.available() > 1 ? slots.tryAcquire(0) : null;
                if (slot == null) {
                    warm.cancelReservation();
                    return;
                }
                Sandbox sb = start(slot, workspace, next);
                if (!warm.offer(workspace, sb, () -> wanted(workspace, generation))) {
                    destroy(sb);
                }
            }
            catch (IOException | InterruptedException e) {
                warm.cancelReservation();
                if (slot != null) {
                    slots.release(slot);
                }
                log.warn("could not pre-create a sandbox: {}", e.getMessage());
            }
        });
    }

    /** Whether a sandbox for this workspace is still worth keeping: the session's, and the same tree. */
    private boolean wanted(Path workspace, int generation) {
        return Files.isDirectory(workspace) && generation(workspace) == generation;
    }

    /** A session ends: its pre-created sandboxes go with it. */
    public void forget(Path workspace) {
        // bumped before the removal: a sandbox offered meanwhile either is removed here or sees the new generation
        generations.merge(workspace, 1, Integer::sum);
        warm.removeAll(workspace::equals).forEach(this::destroy);
        java.util.Set<KernelBox> live = kernels.get(workspace);
        if (live != null) {
            List.copyOf(live).forEach(KernelBox::destroy);
        }
    }

    private void destroy(Sandbox sb) {
        stop(sb);
        slots.release(sb.slot()); // kills whatever is left in the slot's cgroups first
    }

    /**
     * Ends a sandbox from the inside out: every process in the slot but the launcher, which is the
     * tree's child subreaper (--reap), reaps them all and then exits itself. Killing the launcher
     * first would hand the orphans to the host's PID 1, which reaps only every few seconds, and
     * each zombie would hold its slot uid's RLIMIT_NPROC meanwhile.
     */
    private static void stop(Sandbox sb) {
        Process launcher = sb.process();
        if (launcher.isAlive() && sb.slot().cgroups() != null) {
            sb.slot().cgroups().killAllExcept(launcher.pid());
            awaitExit(launcher, 2);
        }
        launcher.destroyForcibly();
        awaitExit(launcher, 5);
    }

    private static void awaitExit(Process p, int seconds) {
        try {
            p.waitFor(seconds, TimeUnit.SECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** From now on no sandbox is pre-created; those already made stay until close. */
    /** Sandboxes started ahead of a call and waiting for one (the metrics). */
    int warmCount() {
        return warm.size();
    }

    void stopPrewarming() {
        warm.close();
    }

    @Override
    public void close() {
        warm.drain().forEach(this::destroy);
        kernels.values().stream().flatMap(java.util.Set::stream).toList().forEach(KernelBox::destroy);
        SessionNetworks n = nets;
        if (n != null) {
            n.sweep();
        }
    }
}
