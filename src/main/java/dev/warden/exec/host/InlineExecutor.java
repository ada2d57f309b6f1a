package dev.warden.exec.host;

import dev.warden.exec.AfterAnswer;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Launcher;
import dev.warden.exec.Limits;
import dev.warden.exec.ProcessRun;
import dev.warden.exec.StubRequest;
import dev.warden.call.Tenant;
import dev.warden.call.Tenants;
import dev.warden.exec.Usage;
import dev.warden.exec.WarmPool;
import java.io.IOException;
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

    private final Launcher launcher;
    private final SlotPool slots;
    private final ProcessRun processes;
    private final ExecutorService background;
    /**
     * One launcher started ahead, waiting for its request as the uid of the workspace that ran last
     * (a session's next call is most often its own).
     */
    private final WarmPool<Who, Stub> warm = new WarmPool<>(1);
    private final Tenants tenants;

    /** The uid and gid a launcher drops to when it starts: fixed then, never named by a request. */
    private record Who(int uid, int gid) {
    }

    /** A launcher ({@code warden-spawn --request}) that will serve exactly one run as {@code who}. */
    private record Stub(Process process, Slot slot, Who who) {
    }

    /** Ends one pre-created sandbox to free its slot (false if there is none): set once by the runtime. */
    private volatile java.util.function.BooleanSupplier giveWay = () -> false;

    void giveWayTo(java.util.function.BooleanSupplier evictOne) {
        this.giveWay = evictOne;
    }

    InlineExecutor(Launcher launcher, SlotPool slots, ProcessRun processes, ExecutorService background,
            Tenants tenants) {
        this.tenants = tenants;
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
        Tenant tenant = tenants.of(request.workspace());
        Who who = tenant == null ? null : new Who(tenant.uid(), tenant.gid());
        Stub stub = who == null ? null : takeWarm(who);
        if (stub == null) {
            Slot slot;
            try {
                slot = slots.tryAcquire(0);
                while (slot == null) {
                    // pre-created sandboxes give way to a real call, as they do for a sandboxed one
                    if (!giveWay.getAsBoolean()) {
                        slot = slots.tryAcquire(2000);
                        break;
                    }
                    slot = slots.tryAcquire(50);
                }
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new ExecOutcome.Refused("interrupted while waiting for a free slot", true);
            }
            if (slot == null) {
                return new ExecOutcome.Refused("all " + slots.size() + " execution slots are busy", true);
            }
            try {
                stub = start(slot, who == null ? new Who(slot.group(), slot.gid()) : who);
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
                if (who != null) {
                    refill(who);
                }
            });
        }
    }

    private ExecOutcome runIn(Stub stub, ExecRequest request, Limits limits) {
        StubRequest req = InlinePlan.request(request, limits, tenants.of(request.workspace()));
        Process p = stub.process();
        try {
            ProcessRun.Raw raw = processes.run(p, req.encode(), request.stdin(),
                    limits.timeoutMs(), limits.outputBytes(), p::destroyForcibly, request.cancel(), request.live(), request.input());
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
     * A launcher waiting for its request as {@code who} (see {@link InlinePlan}): the workspace's
     * tenant, or without one (the self-test) the slot's own group id as a uid no sandbox runs as.
     */
    private Stub start(Slot slot, Who who) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(new InlinePlan(launcher.path(), who.uid(), who.gid()).argv());
        pb.environment().clear();
        return new Stub(pb.start(), slot, who);
    }

    private Stub takeWarm(Who who) {
        return warm.take(who, s -> s.process().isAlive(), s -> background.execute(() -> end(s)));
    }

    /** Starts the next launcher for {@code who}, if a slot is spare: a call never waits for one. */
    private void refill(Who who) {
        // the one launcher kept ahead is the latest workspace's: another's gives way
        warm.removeAll(w -> !w.equals(who)).forEach(this::end);
        if (!warm.reserve(who, 1, () -> true)) {
            return;
        }
        Slot slot = null;
        try {
            slot = slots.available() > 1 ? slots.tryAcquire(0) : null;
            if (slot == null) {
                warm.cancelReservation();
                return;
            }
            Stub s = start(slot, who);
            if (!warm.offer(who, s, () -> true)) {
                end(s);
            }
        }
        catch (IOException | InterruptedException e) {
            warm.cancelReservation();
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
        warm.drain().forEach(this::end);
    }
}
