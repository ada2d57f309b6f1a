package dev.warden.exec.host;

import dev.warden.call.Tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Golden tests of the L1 and L2 isolation plans: the exact command lines and requests for
 * representative runs. They are meant to fail when a flag disappears or changes: each flag is a
 * part of the boundary, and a change to one must be made here too, on purpose.
 */
class IsolationPlanTest {

    // timeout 10 s, cpu 1500 ms (2 s), 256 MB, 64 pids, output, 16 MB files, 256 fds, 64 MB /tmp
    private static final Limits LIMITS = new Limits(10_000, 1_500, 256, 64, 65536, 16, 256, 64);
    private static final Path SPAWN = Path.of("/var/lib/warden/bin/warden-spawn");
    private static final Path WS = Path.of("/var/lib/warden/sessions/abc");

    @Test
    void theSandboxLaunch() {
        BwrapPlan plan = new BwrapPlan(SPAWN,
                List.of(Path.of("/sys/fs/cgroup/memory/warden/i0/s3"), Path.of("/sys/fs/cgroup/pids/warden/i0/s3")),
                61003, 61000, 64, 64L * 1024 * 1024, Path.of("/usr/bin/bwrap"), Path.of("/var/lib/warden/etc"), WS, null);
        assertEquals(List.of(
                "/var/lib/warden/bin/warden-spawn",
                "--cgroup", "/sys/fs/cgroup/memory/warden/i0/s3",
                "--cgroup", "/sys/fs/cgroup/pids/warden/i0/s3",
                "--session-keyring", "--reap", "--rlimit", "nproc=64", "--rlimit", "core=0",
                "--uid", "61003", "--gid", "61000", "--",
                "/usr/bin/bwrap",
                "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
                "--as-pid-1",
                "--cap-drop", "ALL", "--clearenv", "--hostname", "sandbox",
                "--ro-bind", "/usr", "/usr",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
                "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
                "--ro-bind-try", "/etc/localtime", "/etc/localtime",
                "--ro-bind-try", "/etc/ssl", "/etc/ssl",
                "--ro-bind", "/var/lib/warden/etc/passwd", "/etc/passwd",
                "--ro-bind", "/var/lib/warden/etc/group", "/etc/group",
                "--ro-bind", "/var/lib/warden/etc/hosts", "/etc/hosts",
                "--ro-bind", "/var/lib/warden/etc/nsswitch.conf", "/etc/nsswitch.conf",
                "--ro-bind", "/var/lib/warden/bin/warden-spawn", "/.warden/spawn",
                "--proc", "/proc", "--dev", "/dev",
                "--size", "67108864", "--tmpfs", "/tmp",
                "--bind", "/var/lib/warden/sessions/abc", "/workspace",
                "--remount-ro", "/",
                "--chdir", "/workspace",
                "--", "/.warden/spawn", "--request", "--seccomp", "--mark-exec"), plan.argv());
    }

    /**
     * On Warden's environment: its /usr in place of the host's, the same links beside it, and only
     * the /etc entries the tree has, each bound read-only from the tree, or made as the link it is
     * there (bubblewrap would follow a link given as a source on the host, outside the tree).
     * Warden's own passwd, group, hosts and nsswitch.conf follow as on the host's tree.
     */
    @Test
    void theSandboxLaunchOnWardensEnvironment() {
        SystemTree env = new SystemTree(Path.of("/var/cache/warden/env/current"), List.of(
                new SystemTree.Etc("ld.so.cache", null), new SystemTree.Etc("alternatives", null),
                new SystemTree.Etc("localtime", "/usr/share/zoneinfo/Etc/UTC"), new SystemTree.Etc("ssl", null),
                new SystemTree.Etc("os-release", "../usr/lib/os-release"), new SystemTree.Etc("matplotlibrc", null),
                new SystemTree.Etc("python3.11", null)));
        BwrapPlan plan = new BwrapPlan(SPAWN, List.of(), 61003, 61000, 64, 64L * 1024 * 1024,
                Path.of("/usr/bin/bwrap"), Path.of("/var/lib/warden/etc"), WS, null, null, 3128, env);
        List<String> argv = plan.argv();
        int from = argv.indexOf("--hostname") + 2;
        int to = argv.indexOf("/var/lib/warden/etc/passwd") - 1;
        assertEquals(List.of(
                "--ro-bind", "/var/cache/warden/env/current/usr", "/usr",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
                "--ro-bind-try", "/var/cache/warden/env/current/etc/ld.so.cache", "/etc/ld.so.cache",
                "--ro-bind-try", "/var/cache/warden/env/current/etc/alternatives", "/etc/alternatives",
                "--symlink", "/usr/share/zoneinfo/Etc/UTC", "/etc/localtime",
                "--ro-bind-try", "/var/cache/warden/env/current/etc/ssl", "/etc/ssl",
                "--symlink", "../usr/lib/os-release", "/etc/os-release",
                "--ro-bind-try", "/var/cache/warden/env/current/etc/matplotlibrc", "/etc/matplotlibrc",
                "--ro-bind-try", "/var/cache/warden/env/current/etc/python3.11", "/etc/python3.11"),
                argv.subList(from, to));
        // everything else is as on the host's tree
        List<String> host = new BwrapPlan(SPAWN, List.of(), 61003, 61000, 64, 64L * 1024 * 1024,
                Path.of("/usr/bin/bwrap"), Path.of("/var/lib/warden/etc"), WS, null).argv();
        assertEquals(host.subList(0, from), argv.subList(0, from));
        assertEquals(host.subList(host.indexOf("/var/lib/warden/etc/passwd") - 1, host.size()), argv.subList(to, argv.size()));
    }

    /** The environment's directory as the server reads it at start: a tree with a shell and a linker cache, or none. */
    @Test
    void anEnvironmentIsReadOnceAndAnIncompleteOneIsNone(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assertEquals(null, SystemTree.of(dir));
        java.nio.file.Files.createDirectories(dir.resolve("usr/bin"));
        java.nio.file.Files.createDirectories(dir.resolve("etc/python3.11"));
        java.nio.file.Files.createDirectories(dir.resolve("etc/alternatives"));
        java.nio.file.Files.createDirectories(dir.resolve("etc/apt"));
        java.nio.file.Files.writeString(dir.resolve("etc/shadow"), "root:*:1::::::\n");
        java.nio.file.Files.writeString(dir.resolve("etc/ld.so.cache"), "");
        java.nio.file.Files.createSymbolicLink(dir.resolve("etc/localtime"), Path.of("/usr/share/zoneinfo/Etc/UTC"));
        java.nio.file.Files.writeString(dir.resolve("usr/bin/sh"), "");
        assertEquals(null, SystemTree.of(dir)); // not executable
        dir.resolve("usr/bin/sh").toFile().setExecutable(true);
        SystemTree t = SystemTree.of(dir);
        assertEquals(dir, t.root());
        // only the entries of the list (never shadow, apt, ...), links kept as links
        assertEquals(List.of(new SystemTree.Etc("ld.so.cache", null), new SystemTree.Etc("alternatives", null),
                new SystemTree.Etc("localtime", "/usr/share/zoneinfo/Etc/UTC"),
                new SystemTree.Etc("python3.11", null)), t.etc());
        assertEquals(false, t.host());
        assertEquals(true, SystemTree.HOST.host());
    }

    /** With egress: one more process, the port's directory read-only at /.warden/net, the stub's relay. */
    @Test
    void theSandboxLaunchWithEgress() {
        BwrapPlan plan = new BwrapPlan(SPAWN, List.of(), 61003, 61000, 64, 64L * 1024 * 1024, Path.of("/usr/bin/bwrap"),
                Path.of("/var/lib/warden/etc"), WS, Path.of("/run/warden/egress/l2-3"));
        List<String> argv = plan.argv();
        assertEquals(List.of("/var/lib/warden/bin/warden-spawn", "--session-keyring", "--reap", "--rlimit", "nproc=65"),
                argv.subList(0, 5));
        int stub = argv.indexOf("/.warden/spawn");
        assertEquals(List.of("--ro-bind", "/var/lib/warden/bin/warden-spawn", "/.warden/spawn",
                "--ro-bind", "/run/warden/egress/l2-3", "/.warden/net", "--proc", "/proc"), argv.subList(stub - 2, stub + 6));
        assertEquals(List.of("--", "/.warden/spawn", "--request", "--seccomp", "--mark-exec",
                "--relay", "3128:/.warden/net/proxy.sock"), argv.subList(argv.size() - 7, argv.size()));
        assertEquals(argv.size(), new BwrapPlan(SPAWN, List.of(), 61003, 61000, 64, 64L * 1024 * 1024,
                Path.of("/usr/bin/bwrap"), Path.of("/var/lib/warden/etc"), WS, null).argv().size() + 5);
    }

    /**
     * In a session's network namespace: the launcher joins it first (nsenter), bwrap keeps it
     * (--share-net, right after the namespaces it makes) and the relay listens on the slot's port,
     * which is also what the run's proxy variables name.
     */
    @Test
    void theSandboxLaunchInItsSessionsNetworkNamespace() {
        Path ns = Path.of("/run/netns/warden-i0-s-abc");
        BwrapPlan plan = new BwrapPlan(SPAWN, List.of(), 61003, 61000, 64, 64L * 1024 * 1024, Path.of("/usr/bin/bwrap"),
                Path.of("/var/lib/warden/etc"), WS, Path.of("/run/warden/egress/l2-3"), ns, 28003);
        List<String> argv = plan.argv();
        assertEquals(List.of("/usr/bin/nsenter", "--net=/run/netns/warden-i0-s-abc", "/var/lib/warden/bin/warden-spawn"),
                argv.subList(0, 3));
        int all = argv.indexOf("--unshare-all");
        assertEquals(List.of("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
                "--as-pid-1", "--share-net", "--cap-drop"), argv.subList(all, all + 8));
        assertEquals(List.of("--relay", "28003:/.warden/net/proxy.sock"), argv.subList(argv.size() - 2, argv.size()));
        ExecRequest r = new ExecRequest(List.of("env"), WS, "", null, Map.of());
        assertTrue(envOf(BwrapPlan.request(r, LIMITS, true, 28003).tokens()).contains("HTTPS_PROXY=http://127.0.0.1:28003"));
    }

    @Test
    void withEgressTheRunGetsTheProxysVariables() {
        ExecRequest r = new ExecRequest(List.of("env"), WS, "", null, Map.of("HTTPS_PROXY", "http://elsewhere:1",
                "NODE_OPTIONS", "--no-warnings"));
        List<String> env = envOf(BwrapPlan.request(r, LIMITS, true).tokens());
        List<String> expected = new java.util.ArrayList<>(List.of("HOME=/workspace", "LANG=C.UTF-8",
                "PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=/tmp", "USER=sandbox"));
        dev.warden.exec.EgressPort.env().forEach((k, v) -> expected.add(k + "="
                + (k.equals("NODE_OPTIONS") ? v + " --no-warnings" : v)));
        java.util.Collections.sort(expected);
        assertEquals(expected, env);
        assertEquals(true, env.contains("HTTPS_PROXY=http://127.0.0.1:3128"), env.toString());
        assertEquals(true, env.contains("NODE_OPTIONS=--require /.warden/net/node-proxy.cjs --no-warnings"), env.toString());
    }

    @Test
    void aSandboxWithoutCgroupsJoinsNone() {
        BwrapPlan plan = new BwrapPlan(SPAWN, List.of(), 61003, 61000, 64, 1024, Path.of("/usr/bin/bwrap"),
                Path.of("/etc-dir"), WS, null);
        assertEquals(List.of("/var/lib/warden/bin/warden-spawn", "--session-keyring", "--reap"),
                plan.argv().subList(0, 3));
    }

    @Test
    void theSandboxRequest() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("main.py", "print(1)");
        files.put("data/in.txt", "x");
        ExecRequest r = new ExecRequest(List.of("/usr/bin/python3", "main.py"), WS, "sub/dir", null,
                Map.of("FOO", "bar"), files);
        assertEquals(List.of(
                "--rlimit", "cpu=2", "--rlimit", "fsize=16777216", "--rlimit", "nofile=256",
                "--umask", "0002", "--chdir", "/workspace/sub/dir",
                "--env", "FOO=bar",
                "--env", "PATH=/usr/local/bin:/usr/bin:/bin", "--env", "HOME=/workspace", "--env", "TMPDIR=/tmp",
                "--env", "LANG=C.UTF-8", "--env", "USER=sandbox",
                "--file", "main.py", "--data", "print(1)", "--file", "data/in.txt", "--data", "x",
                "--", "/usr/bin/python3", "main.py"), BwrapPlan.request(r, LIMITS, false).tokens());
    }

    @Test
    void theCallCannotOverrideTheFixedEnvironment() {
        ExecRequest r = new ExecRequest(List.of("env"), WS, "", null, Map.of("HOME", "/root", "PATH", "/evil",
                "USER", "root", "LANG", "x", "TMPDIR", "/var/tmp"));
        assertEquals(List.of("HOME=/workspace", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=/tmp",
                "USER=sandbox"), envOf(BwrapPlan.request(r, LIMITS, false).tokens()));
        assertEquals(List.of("HOME=/var/lib/warden/sessions/abc", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin",
                "TMPDIR=/var/tmp", "USER=root"), envOf(InlinePlan.request(r, LIMITS).tokens()));
    }

    /** The --env values of a request, sorted (the call's map has no order of its own). */
    private static List<String> envOf(List<String> tokens) {
        java.util.List<String> env = new java.util.ArrayList<>();
        for (int i = 0; i + 1 < tokens.size() && !tokens.get(i).equals("--"); i++) {
            if (tokens.get(i).equals("--env")) {
                env.add(tokens.get(++i));
            }
        }
        java.util.Collections.sort(env);
        return env;
    }

    @Test
    void theInlineLaunch() {
        assertEquals(List.of("/var/lib/warden/bin/warden-spawn", "--session-keyring", "--uid", "61010", "--gid", "61000",
                "--seccomp", "--mark-exec", "--request"), new InlinePlan(SPAWN, 61010, 61000).argv());
    }

    @Test
    void theInlineRequest() {
        ExecRequest r = new ExecRequest(List.of("ls", "-la"), WS, "src", null, Map.of("TERM", "dumb"));
        assertEquals(List.of(
                "--rlimit", "nproc=1", "--rlimit", "core=0", "--rlimit", "fsize=0",
                "--rlimit", "cpu=2", "--rlimit", "nofile=256", "--rlimit", "as=268435456",
                "--landlock-ro", "/usr", "--landlock-ro", "/etc/ld.so.cache", "--landlock-ro", "/etc/alternatives",
                "--landlock-ro", "/etc/localtime", "--landlock-ro", "/usr/share/zoneinfo",
                "--landlock-ro", "/var/lib/warden/sessions/abc", "--landlock-rw", "/dev/null",
                "--chdir", "/var/lib/warden/sessions/abc/src",
                "--env", "TERM=dumb",
                "--env", "PATH=/usr/local/bin:/usr/bin:/bin", "--env", "HOME=/var/lib/warden/sessions/abc",
                "--env", "LANG=C.UTF-8",
                "--", "ls", "-la"), InlinePlan.request(r, LIMITS).tokens());
    }

    /**
     * A sandbox of a workspace with a tenant: the session's uid and gid (not the slot's), the slot's own
     * supplementary group, RLIMIT_NPROC for every slot's worth (the session's sandboxes share the uid;
     * each slot's pids cgroup holds one run), the tenant's passwd and group, its home at /home/sandbox.
     */
    @Test
    void theSandboxLaunchOfATenant() {
        Slot slot = new Slot(3, 61003, 61019, 61000, null, null);
        Tenant tenant = new Tenant(100042, 61000, Path.of("/tmp/ws/h-abc"), Path.of("/tmp/ws/e-abc"));
        Limits base = new Limits(10_000, 1_500, 256, 64, 65536, 16, 256, 64);
        BwrapPlan plan = BwrapPlan.of(SPAWN, slot, base, Path.of("/usr/bin/bwrap"), Path.of("/var/lib/warden/etc"), WS,
                null, SystemTree.HOST, tenant, 16);
        List<String> argv = plan.argv();
        int keyring = argv.indexOf("--session-keyring");
        assertEquals(List.of("--session-keyring", "--reap", "--rlimit", "nproc=" + 65 * 16, "--rlimit", "core=0",
                "--group", "61019", "--uid", "100042", "--gid", "61000", "--"), argv.subList(keyring, keyring + 13));
        int passwd = argv.indexOf("/etc/passwd");
        assertEquals(List.of("--ro-bind", "/tmp/ws/e-abc/passwd", "/etc/passwd", "--ro-bind", "/tmp/ws/e-abc/group",
                "/etc/group"), argv.subList(passwd - 2, passwd + 4));
        int ws = argv.indexOf("/workspace");
        assertEquals(List.of("--bind", "/var/lib/warden/sessions/abc", "/workspace", "--bind", "/tmp/ws/h-abc",
                "/home/sandbox", "--remount-ro", "/"), argv.subList(ws - 2, ws + 6));
        ExecRequest r = new ExecRequest(List.of("env"), WS, "", null, Map.of());
        assertTrue(envOf(BwrapPlan.request(r, LIMITS, false, 3128, "/home/sandbox").tokens()).contains("HOME=/home/sandbox"));
        // the self-test's workspace has no tenant: the slot's own uid, the server's accounts, HOME the workspace
        List<String> own = BwrapPlan.of(SPAWN, slot, base, Path.of("/usr/bin/bwrap"), Path.of("/var/lib/warden/etc"), WS,
                null, SystemTree.HOST, null, 16).argv();
        assertEquals(List.of("--group", "61019", "--uid", "61003"), own.subList(own.indexOf("--group"),
                own.indexOf("--group") + 4));
        assertTrue(own.contains("/var/lib/warden/etc/passwd"));
        assertTrue(!own.contains("/home/sandbox"));
    }

    /** L1 with a tenant: its uid fixed at start, its home readable under Landlock and HOME. */
    @Test
    void theInlineRunOfATenant() {
        Tenant tenant = new Tenant(100042, 61000, Path.of("/tmp/ws/h-abc"), Path.of("/tmp/ws/e-abc"));
        ExecRequest r = new ExecRequest(List.of("git", "status"), WS, "", null, Map.of());
        List<String> tokens = InlinePlan.request(r, LIMITS, tenant).tokens();
        int home = tokens.indexOf("/tmp/ws/h-abc");
        assertEquals("--landlock-ro", tokens.get(home - 1));
        assertTrue(envOf(tokens).contains("HOME=/tmp/ws/h-abc"));
    }
}
