package dev.warden.exec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * L1: a read-only program run directly, without namespaces, but never as root and never with more
 * than read access. The kernel holds it there: an unprivileged uid, RLIMIT_NPROC 1 (no child can
 * be forked, so nothing outlives the call), and a Landlock domain that allows reading only the
 * workspace and system files, writing nothing, and no TCP at all. A symlink in the workspace that
 * points at /etc/shadow still leads nowhere.
 */
public final class InlineExecutor implements Executor {

    /** System trees a read-only tool needs to start: its binary, libraries, locale, time zone. */
    private static final List<String> SYSTEM_READ = List.of("/usr", "/etc/ld.so.cache", "/etc/alternatives",
            "/etc/localtime", "/usr/share/zoneinfo");

    private final Launcher launcher;
    private final SlotPool slots;
    private final ProcessRun processes;

    InlineExecutor(Launcher launcher, SlotPool slots, ProcessRun processes) {
        this.launcher = launcher;
        this.slots = slots;
        this.processes = processes;
    }

    @Override
    public String name() {
        return "inline";
    }

    @Override
    public ExecOutcome run(ExecRequest request, Limits limits) {
        if (!request.files().isEmpty()) {
            return new ExecOutcome.Refused("inline runs are read-only and take no files", false);
        }
        Slot slot;
        try {
            slot = slots.tryAcquire(2000);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ExecOutcome.Refused("interrupted while waiting for a free slot", true);
        }
        if (slot == null) {
            return new ExecOutcome.Refused("all " + slots.size() + " execution slots are busy", true);
        }
        try {
            Path cwd = request.workspace().resolve(request.cwd());
            List<String> cmd = new ArrayList<>(List.of(launcher.path().toString(),
                    "--rlimit", "nproc=1", "--rlimit", "core=0", "--rlimit", "fsize=0",
                    "--rlimit", "cpu=" + limits.cpuSeconds(),
                    "--rlimit", "nofile=" + limits.openFiles(),
                    "--rlimit", "as=" + (long) limits.memoryMb() * 1024 * 1024,
                    "--uid", Integer.toString(slot.inlineUid()), "--gid", Integer.toString(slot.gid())));
            for (String p : SYSTEM_READ) {
                cmd.add("--landlock-ro");
                cmd.add(p);
            }
            cmd.addAll(List.of("--landlock-ro", request.workspace().toString(), "--landlock-rw", "/dev/null",
                    "--chdir", cwd.toString()));
            for (Map.Entry<String, String> e : inlineEnv(request.workspace(), request.env()).entrySet()) {
                cmd.add("--env");
                cmd.add(e.getKey() + "=" + e.getValue());
            }
            cmd.add("--");
            cmd.addAll(request.argv());
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().clear();
            Process p = pb.start();
            ProcessRun.Raw raw = processes.run(p, new byte[0], request.stdin(), limits.timeoutMs(),
                    limits.outputBytes(), p::destroyForcibly, request.cancel());
            if (raw.stopped() != null) {
                return new ExecOutcome.Killed(raw.stopped(), raw.stdout(), raw.stderr(), raw.durationMs(), Usage.UNKNOWN);
            }
            if (raw.timedOut()) {
                return new ExecOutcome.TimedOut(raw.stdout(), raw.stderr(), raw.durationMs(), Usage.UNKNOWN);
            }
            if (raw.exitCode() == 125 && new String(raw.stderr().bytes()).startsWith("warden-spawn:")) {
                return new ExecOutcome.Refused("the inline confinement could not be set up", false);
            }
            return new ExecOutcome.Completed(raw.exitCode(), raw.stdout(), raw.stderr(), raw.durationMs(),
                    Usage.UNKNOWN);
        }
        catch (IOException e) {
            return new ExecOutcome.Refused("the inline executor could not start the program", false);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ExecOutcome.Refused("interrupted", false);
        }
        finally {
            slots.release(slot);
        }
    }

    /** The environment of an inline run: the call's own (already filtered), then fixed keys that win. */
    private static Map<String, String> inlineEnv(Path workspace, Map<String, String> extra) {
        Map<String, String> env = new java.util.LinkedHashMap<>(extra);
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", workspace.toString());
        env.put("LANG", "C.UTF-8");
        return env;
    }
}
