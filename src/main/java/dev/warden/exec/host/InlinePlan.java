package dev.warden.exec.host;

import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import dev.warden.exec.StubRequest;
import dev.warden.call.Tenant;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The confinement of one L1 run as data, built by pure code so a golden test pins every flag: the
 * launcher's command line (fixed when it starts ahead: uid, gid, keyring, filter, start mark) and
 * the request it then reads (rlimits, Landlock rules, directory, environment, argv).
 *
 * @param launcher warden-spawn on the host
 * @param uid the workspace tenant's uid (or, without one, the slot's group id as a uid of its own)
 * @param gid the workspace group
 */
record InlinePlan(Path launcher, int uid, int gid) {

    /** System trees a read-only tool needs to start: its binary, libraries, locale, time zone. */
    static final List<String> SYSTEM_READ = List.of("/usr", "/etc/ld.so.cache", "/etc/alternatives",
            "/etc/localtime", "/usr/share/zoneinfo");

    /**
     * Started as root with only the uid and gid fixed; it reads its request before it does anything else.
     * Fixed with them: a new session keyring (the server's is never the run's), the syscall filter
     * just before the program, and the start mark that tells a setup failure from the program's own.
     */
    List<String> argv() {
        return List.of(launcher.toString(), "--session-keyring", "--uid", Integer.toString(uid), "--gid",
                Integer.toString(gid), "--seccomp", "--mark-exec", "--request");
    }

    /**
     * No child (RLIMIT_NPROC 1), no file written (RLIMIT_FSIZE 0), and Landlock: read only the
     * system trees and the workspace, write only /dev/null. uid and gid were fixed when the launcher
     * started; a request cannot name them.
     */
    static StubRequest request(ExecRequest request, Limits limits) {
        return request(request, limits, null);
    }

    /** As above; with a tenant, its home is readable too and is HOME (git reads its ~/.gitconfig there). */
    static StubRequest request(ExecRequest request, Limits limits, Tenant tenant) {
        Path home = tenant == null ? null : tenant.home();
        Path cwd = request.workspace().resolve(request.cwd());
        StubRequest req = new StubRequest()
            .option("--rlimit", "nproc=1").option("--rlimit", "core=0").option("--rlimit", "fsize=0")
            .option("--rlimit", "cpu=" + limits.cpuSeconds())
            .option("--rlimit", "nofile=" + limits.openFiles())
            .option("--rlimit", "as=" + (long) limits.memoryMb() * 1024 * 1024);
        for (String p : SYSTEM_READ) {
            req.option("--landlock-ro", p);
        }
        req.option("--landlock-ro", request.workspace().toString());
        if (home != null) {
            req.option("--landlock-ro", home.toString());
        }
        req.option("--landlock-rw", "/dev/null").option("--chdir", cwd.toString());
        for (Map.Entry<String, String> e : env(home == null ? request.workspace() : home, request.env()).entrySet()) {
            req.option("--env", e.getKey() + "=" + e.getValue());
        }
        return req.argv(request.argv());
    }

    /** The environment of an inline run: the call's own (already filtered), then fixed keys that win. */
    static Map<String, String> env(Path home, Map<String, String> extra) {
        Map<String, String> env = new LinkedHashMap<>(extra);
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", home.toString());
        env.put("LANG", "C.UTF-8");
        return env;
    }
}
