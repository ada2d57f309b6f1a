package dev.warden.exec.host;

import dev.warden.exec.DaemonThreads;
import dev.warden.exec.EgressPorts;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Launcher;
import dev.warden.call.Tenant;
import dev.warden.call.Tenants;
import dev.warden.exec.Limits;
import dev.warden.exec.ProcessRun;
import dev.warden.exec.RefusingExecutor;
import dev.warden.config.WardenConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import dev.warden.session.WorkspaceDirs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the executors at start-up and proves they work before any call is taken. When the sandbox
 * cannot be built (no bwrap, no cgroups, not root), Warden still starts, says why, and every call
 * that needs that tier is refused with the reason: it is never run unconfined instead.
 */
public final class SandboxRuntime implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SandboxRuntime.class);

    private final Executor inline;
    private final Executor sandbox;
    private final SandboxExecutor sandboxImpl;
    private final List<ExecutorService> pools;
    private final InstanceLease lease;
    private final int uidBase;
    private final int uidCount;
    private final String cgroupName;
    private final Path cgroupRoot;
    private final SlotPool slots;
    private final Launcher launcher;

    private SandboxRuntime(Executor inline, Executor sandbox, SandboxExecutor sandboxImpl, List<ExecutorService> pools,
            InstanceLease lease, int uidBase, int uidCount, String cgroupName, Path cgroupRoot, SlotPool slots,
            Launcher launcher) {
        this.launcher = launcher;
        this.cgroupRoot = cgroupRoot;
        this.slots = slots;
        this.inline = inline;
        this.sandbox = sandbox;
        this.sandboxImpl = sandboxImpl;
        this.pools = pools;
        this.lease = lease;
        this.uidBase = uidBase;
        this.uidCount = uidCount;
        this.cgroupName = cgroupName;
    }

    /**
     * The slot groups of servers that were killed (kill -9 leaves them; a clean stop removes its
     * own): removed at the next start, each while holding its index's lease, so no server starting
     * at the same moment can be using it.
     */
    private static void sweepDeadInstances(Path cgroupRoot, String cgroupName, int own) {
        Path top = cgroupRoot.resolve("memory").resolve(cgroupName);
        if (!java.nio.file.Files.isDirectory(top)) {
            return;
        }
        try (var dirs = java.nio.file.Files.list(top)) {
            for (Path d : dirs.toList()) {
                String n = d.getFileName().toString();
                if (!n.matches("i\\d{1,2}") || Integer.parseInt(n.substring(1)) == own) {
                    continue;
                }
                int i = Integer.parseInt(n.substring(1));
                InstanceLease.whileFree(i, () -> Cgroups.clearTree(cgroupRoot, cgroupName + "/" + n));
            }
        }
        catch (java.io.IOException | RuntimeException e) {
            // nothing to sweep where the hierarchy cannot be read
        }
    }

    private static SandboxRuntime refusing(String reason, List<ExecutorService> pools, InstanceLease lease) {
        Executor refusing = new RefusingExecutor("the sandbox is unavailable on this host: " + reason);
        return new SandboxRuntime(refusing, refusing, null, pools, lease, 0, 0, null, null, null, null);
    }

    /**
     * No sandbox on this host, and the server knows it already (docker-only mode, which says so
     * itself): every executor refuses with {@code reason}, nothing else is set up or logged.
     */
    public static SandboxRuntime absent(String reason) {
        return refusing(reason, List.of(), null);
    }

    /** @param egress the sandboxes' way out (each slot opens its port once): EgressPorts.NONE for none */
    public static SandboxRuntime create(WardenConfig config, Path stateDir, EgressPorts egress) {
        return create(config, stateDir, egress, new Tenants());
    }

    /** @param tenants who each workspace's runs are (see {@link Tenant}) */
    public static SandboxRuntime create(WardenConfig config, Path stateDir, EgressPorts egress, Tenants tenants) {
        ExecutorService io = Executors.newCachedThreadPool(DaemonThreads.named("warden-io"));
        ExecutorService background = Executors.newFixedThreadPool(2, DaemonThreads.named("warden-prewarm"));
        ScheduledExecutorService timer =
                Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("warden-limits"));
        List<ExecutorService> pools = List.of(io, background, timer);
        var sc = config.sandbox();
        Limits base = Limits.of(config.limits());
        String problem = prerequisites(sc);
        if (problem != null) {
            log.error("sandbox unavailable: {}. Calls that need L1 or L2 will be refused.", problem);
            return refusing(problem, pools, null);
        }
        InstanceLease lease = null;
        SlotPool slots = null;
        try {
            lease = InstanceLease.acquire();
            int uidBase = sc.uidBase() + lease.index() * 2 * sc.slots(); // sandbox uids, then inline uids
            Launcher launcher = Launcher.unpack(stateDir);
            sweepDeadInstances(Path.of(sc.cgroupRoot()), sc.cgroupName(), lease.index());
            // what the last holder of this index left (it was killed), in slots of any number
            Cgroups.clearTree(Path.of(sc.cgroupRoot()), sc.cgroupName() + "/i" + lease.index());
            slots = new SlotPool(sc.slots(), uidBase, sc.gid(), Path.of(sc.cgroupRoot()),
                    sc.cgroupName() + "/i" + lease.index(), base.memoryMb(), base.pids(), true, egress);
            Path etc = stateDir.resolve("etc");
            SandboxExecutor.writeEtc(etc, uidBase, 2 * sc.slots(), sc.gid());
            ProcessRun processes = new ProcessRun(io, timer);
            InlineExecutor inline = new InlineExecutor(launcher, slots, processes, background, tenants);
            SandboxExecutor sandbox = new SandboxExecutor(launcher, slots, Path.of(sc.bwrap()), etc, base, processes,
                    background, sc.warmPerSession(), sc.warmMax(), tenants, sc.warmInterpreters());
            inline.giveWayTo(sandbox::evictOneWarm);
            SystemTree system = systemTree(sc);
            sandbox.useSystem(system);
            SessionNetworks nets = new SessionNetworks("warden-i" + lease.index() + "-", sc.slots(), uidBase);
            nets.sweep(); // a killed server's, with this lease
            SessionNetworks.sweepDead(lease.index()); // and those of killed servers with other leases
            if (sc.shareSessionNetwork()) {
                sandbox.shareNetworks(nets);
            }
            String selfTest = selfTest(sandbox, inline, stateDir, sc.gid(), base);
            if (selfTest != null) {
                log.error("sandbox self-test failed: {}. Calls that need L1 or L2 will be refused.", selfTest);
                sandbox.close();
                slots.close();
                return refusing(selfTest, pools, lease);
            }
            log.info("sandbox ready: bubblewrap, {} slots (uids {}-{}), cgroup v1 memory/pids/cpuacct; L2 runs see {}",
                    sc.slots(), uidBase, uidBase + 2 * sc.slots() - 1, system);
            return new SandboxRuntime(inline, sandbox, sandbox, pools, lease, uidBase, 2 * sc.slots(),
                    sc.cgroupName(), Path.of(sc.cgroupRoot()), slots, launcher);
        }
        catch (IOException e) {
            if (slots != null) {
                slots.close();
            }
            log.error("sandbox unavailable: {}", e.getMessage());
            return refusing("the sandbox could not be set up", pools, lease);
        }
    }

    /**
     * What L2 runs see as /usr: Warden's environment when it is configured and there, else the
     * host's. A missing environment is not a weaker sandbox (the host's /usr is what every run saw
     * before there was one), only a different set of programs: so Warden says so and goes on.
     */
    static SystemTree systemTree(WardenConfig.Sandbox sc) {
        if (WardenConfig.Sandbox.ENV_HOST.equals(sc.environment())) {
            return SystemTree.HOST;
        }
        Path dir = Path.of(sc.environmentDir());
        try {
            SystemTree tree = SystemTree.of(dir);
            if (tree != null) {
                return tree;
            }
            log.warn("sandbox.environment is warden, but there is no environment at {} (`tools/build-images.sh env`"
                    + " builds and exports it): L2 runs see the host's /usr instead", dir);
        }
        catch (IOException e) {
            log.warn("sandbox.environment is warden, but the environment at {} cannot be read ({}): L2 runs see"
                    + " the host's /usr instead", dir, e.toString());
        }
        return SystemTree.HOST;
    }

    /**
     * What must hold before a sandbox can be promised: null when it holds, else why not (no Linux,
     * not root, no bubblewrap at {@code sandbox.bwrap}, no writable cgroups). Cheap (a few file
     * checks), so the server decides at once whether it runs in docker-only mode.
     */
    public static String prerequisites(WardenConfig.Sandbox sc) {
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) {
            return "the sandbox needs Linux";
        }
        String needsRoot = WorkspaceDirs.needsRoot();
        if (needsRoot != null) {
            return needsRoot;
        }
        if (!Files.isExecutable(Path.of(sc.bwrap()))) {
            return "bubblewrap is not installed at " + sc.bwrap() + " (apt-get install bubblewrap)";
        }
        if (!Cgroups.available(Path.of(sc.cgroupRoot()))) {
            return "cgroup v1 memory and pids controllers are not writable under " + sc.cgroupRoot()
                    + " (Warden must run as root to enforce memory and process limits)";
        }
        return null;
    }

    /** Runs a trivial program through both executors; any surprise means no sandbox at all. */
    private static String selfTest(SandboxExecutor sandbox, InlineExecutor inline, Path stateDir, int gid,
            Limits base) throws IOException {
        Path ws = stateDir.resolve("selftest");
        WorkspaceDirs.create(ws, gid);
        try {
            Limits l = base.withTimeoutMs(10_000);
            ExecOutcome o = sandbox.run(new ExecRequest(List.of("/bin/sh", "-c", "id -u; test ! -e /etc/shadow && echo confined"),
                    ws, "", null, Map.of()), l, false);
            if (!(o instanceof ExecOutcome.Completed c) || c.exitCode() != 0
                    || !new String(c.stdout().bytes()).contains("confined")) {
                return "a test program did not run as expected in the sandbox (" + describe(o) + ")";
            }
            o = inline.run(new ExecRequest(List.of("true"), ws, "", null, Map.of()), l);
            if (!(o instanceof ExecOutcome.Completed c2) || c2.exitCode() != 0) {
                return "a test program did not run as expected inline (" + describe(o) + ")";
            }
            return null;
        }
        finally {
            sandbox.endSession(ws);
            WorkspaceDirs.delete(ws);
        }
    }

    private static String describe(ExecOutcome o) {
        if (o instanceof ExecOutcome.Completed c) {
            return "exit " + c.exitCode() + ": " + new String(c.stderr().bytes()).strip();
        }
        if (o instanceof ExecOutcome.Refused r) {
            return r.reason();
        }
        return o.getClass().getSimpleName();
    }

    /** This server's slots (sandbox.slots); 0 when the sandbox is refusing. For the metrics, like the two below. */
    public int slots() {
        return slots == null ? 0 : slots.size();
    }

    /** Slots free now. */
    public int slotsFree() {
        return slots == null ? 0 : slots.available();
    }

    /** Sandboxes started ahead of a call, waiting for one. */
    public int warmSandboxes() {
        return sandboxImpl == null ? 0 : sandboxImpl.warmCount();
    }

    /** The uids this server's runs use: [first, first + count). */
    public int firstUid() {
        return uidBase;
    }

    public int uidCount() {
        return uidCount;
    }

    /** The cgroup subtree of this server's slots, as it appears in /proc/PID/cgroup; null without one. */
    public String cgroupSubtree() {
        return lease == null ? null : "/" + cgroupName + "/i" + lease.index() + "/";
    }

    /**
     * Pins ({@code pin}) or makes read-only ({@code ro}) paths below a workspace directory, as the
     * launcher's {@code --protect} does: resolved without following a symlink, mounted through the
     * open file, a missing path skipped. @param spec pairs of kind and relative path
     * @throws IOException if there is no launcher or a path could not be protected
     */
    public void protect(Path workspace, List<String> spec) throws IOException {
        if (launcher == null) {
            throw new IOException("no sandbox on this host");
        }
        List<String> cmd = new java.util.ArrayList<>(List.of(launcher.path().toString(), "--protect", workspace.toString()));
        cmd.addAll(spec);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().clear();
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
        try {
            if (p.waitFor() != 0) {
                throw new IOException(out.isEmpty() ? "the launcher failed" : out);
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    public Executor inline() {
        return inline;
    }

    public Executor sandbox() {
        return sandbox;
    }

    /** Pre-creates the next sandbox of a session whose workspace this is. */
    public void prewarm(Path workspace) {
        if (sandboxImpl != null) {
            sandboxImpl.refill(workspace);
        }
    }

    public void forget(Path workspace) {
        if (sandboxImpl != null) {
            sandboxImpl.forget(workspace);
        }
    }

    /** A session is over: its sandboxes and its network namespace go. */
    public void endSession(Path workspace) {
        if (sandboxImpl != null) {
            sandboxImpl.endSession(workspace);
        }
    }

    @Override
    public void close() {
        // no new pre-created sandbox may start while the existing ones are destroyed
        if (sandboxImpl != null) {
            sandboxImpl.stopPrewarming();
        }
        if (inline instanceof InlineExecutor i) {
            i.close();
        }
        for (ExecutorService pool : pools) {
            pool.shutdown();
        }
        for (ExecutorService pool : pools) {
            try {
                pool.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (sandboxImpl != null) {
            sandboxImpl.close(); // the sessions' network namespaces too
        }
        if (slots != null) {
            slots.close(); // the ports, once no sandbox is left to use them
        }
        pools.forEach(ExecutorService::shutdownNow);
        if (lease != null && cgroupName != null && cgroupRoot != null) {
            // the slots' groups go with the server, and anything still in them (before its lease, so no
            // next holder races it)
            Cgroups.clearTree(cgroupRoot, cgroupName + "/i" + lease.index());
        }
        if (lease != null) {
            try {
                lease.close();
            }
            catch (IOException ignored) {
                // the kernel releases it at exit anyway
            }
        }
    }

}
