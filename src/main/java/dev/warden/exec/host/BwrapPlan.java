package dev.warden.exec.host;

import dev.warden.exec.EgressPort;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import dev.warden.exec.StubRequest;
import dev.warden.call.Tenant;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The isolation of one L2 sandbox as data: everything its launch depends on, and the command line
 * built from it by pure code (no I/O, nothing read from the machine), so a golden test pins every
 * flag. Read in order, it is the containment as a list of steps, each fatal if it fails: join the
 * slot's cgroups, a fresh session keyring, the subreaper, rlimits, the uid drop; then bubblewrap's
 * namespaces and mounts; then, inside, the stub's syscall filter and the start mark.
 *
 * @param launcher warden-spawn on the host
 * @param cgroups the slot's cgroups to join (empty without cgroups)
 * @param uid the slot's sandbox uid
 * @param gid the workspace group
 * @param pids RLIMIT_NPROC of the slot uid
 * @param tmpBytes the size of the private /tmp
 * @param bwrap bubblewrap on the host
 * @param etcDir the files that stand in for /etc (passwd, group, hosts, nsswitch.conf)
 * @param workspace the session workspace, the only writable host directory
 * @param egress the slot's egress port directory, bound read-only at {@link EgressPort#MOUNT} with the
 *     stub's relay listening at 127.0.0.1:{@code relayPort}; null: no network at all
 * @param netns the session's network namespace, which the sandbox joins (loopback shared with the
 *     session's other runs); null: a namespace of its own
 * @param relayPort where the relay listens ({@link EgressPort#RELAY_PORT} in a namespace of its own, the
 *     slot's port in a session's)
 * @param system the system tree bound read-only as /usr and its /etc entries: the host's, or Warden's
 *     environment (sandbox.environment)
 * @param group the slot's own supplementary group (-1: none): the runs of a session share its uid, and
 *     this is what tells one of its sandboxes from another at the packet filter of the relay ports
 * @param nproc RLIMIT_NPROC of the uid, which every sandbox of the session counts against
 * @param accounts the directory of the passwd and group files bound at /etc (the tenant's)
 * @param home the tenant's home, bound at {@link dev.warden.call.Tenant#HOME} (null: HOME is the workspace)
 */
record BwrapPlan(Path launcher, List<Path> cgroups, int uid, int gid, int pids, long tmpBytes, Path bwrap,
        Path etcDir, Path workspace, Path egress, Path netns, int relayPort, SystemTree system, int group, int nproc,
        Path accounts, Path home) {

    /** The slot's own plan, as before sessions had a tenant: the slot's uid, the server's accounts. */
    BwrapPlan(Path launcher, List<Path> cgroups, int uid, int gid, int pids, long tmpBytes, Path bwrap,
            Path etcDir, Path workspace, Path egress, Path netns, int relayPort, SystemTree system) {
        this(launcher, cgroups, uid, gid, pids, tmpBytes, bwrap, etcDir, workspace, egress, netns, relayPort, system, -1,
                egress == null ? pids : pids + 1, etcDir, null);
    }

    /** nsenter (util-linux): the launcher joins the session's network namespace before anything else. */
    static final String NSENTER = "/usr/bin/nsenter";

    /** A sandbox with a network namespace of its own. */
    BwrapPlan(Path launcher, List<Path> cgroups, int uid, int gid, int pids, long tmpBytes, Path bwrap,
            Path etcDir, Path workspace, Path egress) {
        this(launcher, cgroups, uid, gid, pids, tmpBytes, bwrap, etcDir, workspace, egress, null,
                EgressPort.RELAY_PORT);
    }

    /** On the host's system tree. */
    BwrapPlan(Path launcher, List<Path> cgroups, int uid, int gid, int pids, long tmpBytes, Path bwrap,
            Path etcDir, Path workspace, Path egress, Path netns, int relayPort) {
        this(launcher, cgroups, uid, gid, pids, tmpBytes, bwrap, etcDir, workspace, egress, netns, relayPort,
                SystemTree.HOST);
    }

    static final String WORKSPACE = "/workspace";
    static final String STUB = "/.warden/spawn";
    /** The CA bundle runs trust, as seen inside the sandbox (the host's /etc/ssl, bound read-only). */

    BwrapPlan {
        cgroups = List.copyOf(cgroups);
        system = system == null ? SystemTree.HOST : system;
    }

    /**
     * The plan of a slot's sandbox for a workspace, under the server's base limits; {@code netns} as above.
     * With a tenant the sandbox runs as the workspace's uid, which every sandbox of the session shares, so
     * RLIMIT_NPROC allows every slot's worth (each slot's own pids cgroup is what holds one run to its
     * limit); without one (the self-test) as the slot's own uid.
     */
    static BwrapPlan of(Path launcher, Slot slot, Limits base, Path bwrap, Path etcDir, Path workspace, Path netns,
            SystemTree system, Tenant tenant, int slots) {
        List<Path> cgroups = slot.cgroups() == null ? List.of() : slot.cgroups().joinPaths();
        Path egress = slot.port() == null ? null : slot.port().dir();
        int relayPort = netns == null ? EgressPort.RELAY_PORT : SessionNetworks.relayPort(slot);
        long tmpBytes = (long) base.tmpMb() * 1024 * 1024;
        if (tenant == null) {
            return new BwrapPlan(launcher, cgroups, slot.uid(), slot.gid(), base.pids(), tmpBytes, bwrap, etcDir,
                    workspace, egress, netns, relayPort, system, slot.group(),
                    egress == null ? base.pids() : base.pids() + 1, etcDir, null);
        }
        return new BwrapPlan(launcher, cgroups, tenant.uid(), tenant.gid(), base.pids(), tmpBytes, bwrap, etcDir,
                workspace, egress, netns, relayPort, system, slot.group(), (base.pids() + 1) * slots,
                tenant.etc() == null ? etcDir : tenant.etc(), tenant.home());
    }

    /** The launcher's command line: it runs bwrap, which runs the stub that waits for its request. */
    List<String> argv() {
        List<String> cmd = new ArrayList<>();
        if (netns != null) {
            cmd.addAll(List.of(NSENTER, "--net=" + netns));
        }
        cmd.add(launcher.toString());
        for (Path p : cgroups) {
            cmd.add("--cgroup");
            cmd.add(p.toString());
        }
        // a fresh session keyring, joined as root before the uid drop: the server's own stays out of reach
        cmd.addAll(List.of("--session-keyring", "--reap", "--rlimit", "nproc=" + nproc, "--rlimit", "core=0"));
        if (group >= 0) {
            cmd.addAll(List.of("--group", Integer.toString(group)));
        }
        cmd.addAll(List.of("--uid", Integer.toString(uid), "--gid", Integer.toString(gid), "--",
                bwrap.toString(),
                // every namespace; no nested user namespaces; gone with its parent; no tty to hijack.
                // --as-pid-1: the program is the namespace's init, so when it exits the kernel kills
                // everything it left; without it bwrap leaves a zombie on the host for every run.
                "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
                "--as-pid-1"));
        if (netns != null) {
            cmd.add("--share-net"); // the session's namespace, joined above: loopback only, like one of its own
        }
        cmd.addAll(List.of("--cap-drop", "ALL", "--clearenv", "--hostname", "sandbox"));
        // the system tree, read-only: /usr and its /etc entries, the host's or Warden's environment
        cmd.addAll(system.binds());
        cmd.addAll(List.of(
                "--ro-bind", accounts.resolve("passwd").toString(), "/etc/passwd",
                "--ro-bind", accounts.resolve("group").toString(), "/etc/group",
                "--ro-bind", etcDir.resolve("hosts").toString(), "/etc/hosts",
                "--ro-bind", etcDir.resolve("nsswitch.conf").toString(), "/etc/nsswitch.conf",
                "--ro-bind", launcher.toString(), STUB));
        if (egress != null) {
            // the proxy's socket: the only way out of the new network namespace, read-only
            cmd.addAll(List.of("--ro-bind", egress.toString(), EgressPort.MOUNT));
        }
        cmd.addAll(List.of(
                "--proc", "/proc", "--dev", "/dev",
                "--size", Long.toString(tmpBytes), "--tmpfs", "/tmp",
                "--bind", workspace.toString(), WORKSPACE));
        if (home != null) {
            cmd.addAll(List.of("--bind", home.toString(), Tenant.HOME));
        }
        cmd.addAll(List.of(
                // last: the root tmpfs (/, /etc as a directory, mount points) read-only too; only
                // /tmp and /workspace, mounts of their own, stay writable
                "--remount-ro", "/",
                "--chdir", WORKSPACE,
                // the syscall filter is the stub's, after bwrap has made the namespaces and mounts it forbids;
                // the mark on stderr tells Warden the program was started (no mark: the sandbox was not made)
                "--", STUB, "--request", "--seccomp", "--mark-exec"));
        if (egress != null) {
            // listening on the sandbox's loopback before the stub waits for its request (before any program)
            cmd.addAll(List.of("--relay", relayPort + ":" + EgressPort.MOUNT + "/" + EgressPort.SOCKET));
        }
        return List.copyOf(cmd);
    }

    /**
     * The one request of the waiting stub: rlimits, umask, directory, environment, files, argv.
     *
     * @param egress whether the sandbox has an egress port (the run then gets the proxy's variables)
     */
    static StubRequest request(ExecRequest request, Limits limits, boolean egress) {
        return request(request, limits, egress, EgressPort.RELAY_PORT, WORKSPACE);
    }

    /** As above, the relay at {@code relayPort} of the sandbox's loopback. */
    static StubRequest request(ExecRequest request, Limits limits, boolean egress, int relayPort) {
        return request(request, limits, egress, relayPort, WORKSPACE);
    }

    /** As above, with {@code home} as HOME. */
    static StubRequest request(ExecRequest request, Limits limits, boolean egress, int relayPort, String home) {
        StubRequest stub = new StubRequest()
            .option("--rlimit", "cpu=" + limits.cpuSeconds())
            .option("--rlimit", "fsize=" + (long) limits.fileSizeMb() * 1024 * 1024)
            .option("--rlimit", "nofile=" + limits.openFiles())
            .option("--umask", "0002")
            .option("--chdir", request.cwd().isEmpty() ? WORKSPACE : WORKSPACE + "/" + request.cwd());
        for (Map.Entry<String, String> e : env(request.env(), egress, relayPort, home).entrySet()) {
            stub.option("--env", e.getKey() + "=" + e.getValue());
        }
        for (Map.Entry<String, String> f : request.files().entrySet()) {
            stub.option("--file", f.getKey()).option("--data", f.getValue());
        }
        return stub.argv(request.argv());
    }

    /**
     * Nothing of the server's environment: the call's filtered extras, with egress the proxy's
     * variables, then a fixed minimal set.
     */
    static Map<String, String> env(Map<String, String> extra, boolean egress, int relayPort) {
        return env(extra, egress, relayPort, WORKSPACE);
    }

    static Map<String, String> env(Map<String, String> extra, boolean egress, int relayPort, String home) {
        Map<String, String> env = new LinkedHashMap<>(extra);
        if (egress) {
            EgressPort.addEnv(env, relayPort);
        }
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", home);
        env.put("TMPDIR", "/tmp");
        env.put("LANG", "C.UTF-8");
        env.put("USER", "sandbox");
        return env;
    }
}
