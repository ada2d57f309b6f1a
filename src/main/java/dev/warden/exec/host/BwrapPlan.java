package dev.warden.exec.host;

import dev.warden.exec.EgressPort;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import dev.warden.exec.StubRequest;
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
 */
record BwrapPlan(Path launcher, List<Path> cgroups, int uid, int gid, int pids, long tmpBytes, Path bwrap,
        Path etcDir, Path workspace, Path egress, Path netns, int relayPort, SystemTree system) {

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

    /** The plan of a slot's sandbox for a workspace, under the server's base limits; {@code netns} as above. */
    static BwrapPlan of(Path launcher, Slot slot, Limits base, Path bwrap, Path etcDir, Path workspace, Path netns,
            SystemTree system) {
        return new BwrapPlan(launcher, slot.cgroups() == null ? List.of() : slot.cgroups().joinPaths(), slot.uid(),
                slot.gid(), base.pids(), (long) base.tmpMb() * 1024 * 1024, bwrap, etcDir, workspace,
                slot.port() == null ? null : slot.port().dir(), netns,
                netns == null ? EgressPort.RELAY_PORT : SessionNetworks.relayPort(slot), system);
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
        // the relay is one more process of the slot's uid
        int nproc = egress == null ? pids : pids + 1;
        cmd.addAll(List.of("--session-keyring", "--reap", "--rlimit", "nproc=" + nproc, "--rlimit", "core=0",
                "--uid", Integer.toString(uid), "--gid", Integer.toString(gid), "--",
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
                "--ro-bind", etcDir.resolve("passwd").toString(), "/etc/passwd",
                "--ro-bind", etcDir.resolve("group").toString(), "/etc/group",
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
                "--bind", workspace.toString(), WORKSPACE,
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
        return request(request, limits, egress, EgressPort.RELAY_PORT);
    }

    /** As above, the relay at {@code relayPort} of the sandbox's loopback. */
    static StubRequest request(ExecRequest request, Limits limits, boolean egress, int relayPort) {
        StubRequest stub = new StubRequest()
            .option("--rlimit", "cpu=" + limits.cpuSeconds())
            .option("--rlimit", "fsize=" + (long) limits.fileSizeMb() * 1024 * 1024)
            .option("--rlimit", "nofile=" + limits.openFiles())
            .option("--umask", "0002")
            .option("--chdir", request.cwd().isEmpty() ? WORKSPACE : WORKSPACE + "/" + request.cwd());
        for (Map.Entry<String, String> e : env(request.env(), egress, relayPort).entrySet()) {
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
        Map<String, String> env = new LinkedHashMap<>(extra);
        if (egress) {
            EgressPort.addEnv(env, relayPort);
        }
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", WORKSPACE);
        env.put("TMPDIR", "/tmp");
        env.put("LANG", "C.UTF-8");
        env.put("USER", "sandbox");
        return env;
    }
}
