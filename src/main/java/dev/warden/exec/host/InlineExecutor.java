package dev.warden.exec.host;

import dev.warden.exec.AfterAnswer;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Launcher;
import dev.warden.exec.Limits;
import dev.warden.exec.ProcessRun;
import dev.warden.exec.StubRequest;
import dev.warden.exec.Usage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * L1: a read-only program run directly, without namespaces, but never as root and never with more
 * than read access. The kernel holds it there: an unprivileged uid, RLIMIT_NPROC 1 (no child can
 * be forked, so nothing outlives the call), and a Landlock domain that allows reading only the
 * workspace and system files, writing nothing, and no TCP at all. A symlink in the workspace that
 * points at /etc/shadow still leads nowhere.
 */
public final class InlineExecutor implements Executor {

    private static final Logger log = LoggerFactory.getLogger(InlineExecutor.class);

    /** System trees a read-only tool needs to start: its binary, libraries, locale, time zone. */
    private static final List<String> SYSTEM_READ = List.of("/usr", "/etc/ld.so.cache", "/etc/alternatives",
            "/etc/localtime", "/usr/share/zoneinfo");

    private final Launcher launcher;
    private final SlotPool slots;
    private final ProcessRun processes;
    private final ExecutorService background;
    /** One launcher started ahead, waiting for its request as a slot's inline uid; null when none. */
    private Stub warm;
    private boolean closed;

    /** A launcher ({@code warden-spawn --request}) that will serve exactly one run as its slot's inline uid. */
    private record Stub(Process process, Slot slot) {
    }

    InlineExecutor(Launcher launcher, SlotPool slots, ProcessRun processes, ExecutorService background) {
        this.launcher = launcher;
        this.slots = slots;
        this.processes = processes;
        this.background = background;
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
        Stub stub = takeWarm();
        if (stub == null) {
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
                stub = start(slot);
            }
            catch (IOException e) {
                slots.release(slot);
                return new ExecOutcome.Refused("the inline executor could not start the program", false);
            }
        }
        try {
            return runIn(stub, request, limits);
        }
        finally {
            // the program has exited (runIn waits for it): freeing its slot and starting the next
            // launcher happen after the answer
            Stub done = stub;
            AfterAnswer.run(background, () -> {
                end(done);
                refill();
            });
        }
    }

    private ExecOutcome runIn(Stub stub, ExecRequest request, Limits limits) {
        Path cwd = request.workspace().resolve(request.cwd());
        // uid and gid were fixed when the launcher started; a request cannot name them
        StubRequest req = new StubRequest()
            .option("--rlimit", "nproc=1").option("--rlimit", "core=0").option("--rlimit", "fsize=0")
            .option("--rlimit", "cpu=" + limits.cpuSeconds())
            .option("--rlimit", "nofile=" + limits.openFiles())
            .option("--rlimit", "as=" + (long) limits.memoryMb() * 1024 * 1024);
        for (String p : SYSTEM_READ) {
            req.option("--landlock-ro", p);
        }
        req.option("--landlock-ro", request.workspace().toString()).option("--landlock-rw", "/dev/null")
            .option("--chdir", cwd.toString());
        for (Map.Entry<String, String> e : inlineEnv(request.workspace(), request.env()).entrySet()) {
            req.option("--env", e.getKey() + "=" + e.getValue());
        }
        Process p = stub.process();
        try {
            ProcessRun.Raw raw = processes.run(p, req.argv(request.argv()).encode(), request.stdin(),
                    limits.timeoutMs(), limits.outputBytes(), p::destroyForcibly, request.cancel());
            if (raw.stopped() != null) {
                return new ExecOutcome.Killed(raw.stopped(), raw.stdout(), raw.stderr(), raw.durationMs(), Usage.UNKNOWN);
            }
            if (raw.timedOut()) {
                return new ExecOutcome.TimedOut(raw.stdout(), raw.stderr(), raw.durationMs(), Usage.UNKNOWN);
            }
            if (!raw.started()) {
                // no start mark: the launcher failed before the program, and this is its own message
                log.error("inline setup failed (exit {}): {}", raw.exitCode(), ProcessRun.forLog(raw.stderr().bytes()));
                return new ExecOutcome.Refused("the inline confinement could not be set up", false);
            }
            return new ExecOutcome.Completed(raw.exitCode(), raw.stdout(), raw.stderr(), raw.durationMs(),
                    Usage.UNKNOWN);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ExecOutcome.Refused("interrupted", false);
        }
    }

    /**
     * Started as root with only the uid and gid fixed; it reads its request before it does anything else.
     * Fixed with them: a new session keyring (the server's is never the run's), the syscall filter
     * just before the program, and the start mark that tells a setup failure from the program's own.
     */
    private Stub start(Slot slot) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(launcher.path().toString(), "--session-keyring", "--uid",
                Integer.toString(slot.inlineUid()), "--gid", Integer.toString(slot.gid()), "--seccomp", "--mark-exec",
                "--request");
        pb.environment().clear();
        return new Stub(pb.start(), slot);
    }

    private synchronized Stub takeWarm() {
        Stub s = warm;
        warm = null;
        if (s != null && !s.process().isAlive()) {
            background.execute(() -> end(s));
            return null;
        }
        return s;
    }

    /** Starts the next launcher (on a background thread), if a slot is spare: a call never waits for one. */
    private void refill() {
        synchronized (this) {
            if (warm != null || closed) {
                return;
            }
        }
        Slot slot = null;
        try {
            slot = slots.available() > 1 ? slots.tryAcquire(0) : null;
            if (slot == null) {
                return;
            }
            Stub s = start(slot);
            synchronized (this) {
                if (warm == null && !closed) {
                    warm = s;
                    return;
                }
            }
            end(s);
        }
        catch (IOException | InterruptedException e) {
            if (slot != null) {
                slots.release(slot);
            }
        }
    }

    /** The launcher and its program are one process (RLIMIT_NPROC 1: nothing else can exist). */
    private void end(Stub s) {
        s.process().destroyForcibly();
        try {
            s.process().waitFor(5, TimeUnit.SECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        slots.release(s.slot());
    }

    /** No launcher starts ahead from now on, and the waiting one is ended. */
    void close() {
        Stub s;
        synchronized (this) {
            closed = true;
            s = warm;
            warm = null;
        }
        if (s != null) {
            end(s);
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
