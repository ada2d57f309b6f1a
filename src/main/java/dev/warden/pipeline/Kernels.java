package dev.warden.pipeline;

import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.contract.Image;
import dev.warden.exec.CallEgress;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Kernel;
import dev.warden.exec.KernelHost;
import dev.warden.exec.Limits;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sessions' kernels (execute_code with {@code kernel}): one live interpreter per session, workspace
 * and name, started on its first cell in a sandbox of its own ({@link KernelHost}), and ended with its
 * session, after {@code limits.kernel_idle_timeout_s} without a cell, by an operator, or when a cell
 * ends it (a limit, an interpreter that exits). Its cells run one at a time, in the order they come.
 * A kernel is found only by the session that started it: nothing of it is reachable from another.
 */
final class Kernels implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Kernels.class);

    /** What a call asks: the kernel's name, its language, and whether to start it afresh first. */
    record Ask(String name, String language, boolean restart) {
    }

    private record Key(String session, Path workspace, String name) {
    }

    /** One name's kernel in one session: its language, and its interpreter while that lives. */
    private static final class Entry {
        final Key key;
        final String language;
        final String client;
        final Instant created = Instant.now();
        final ReentrantLock lock = new ReentrantLock(true);
        volatile Kernel kernel;
        volatile int count;
        volatile long lastUsedNanos = System.nanoTime();
        volatile boolean busy;

        Entry(Key key, String language, String client) {
            this.key = key;
            this.language = language;
            this.client = client;
        }
    }

    /**
     * A cell's outcome, with what the result shows of its kernel, the figures it left, and the files the
     * kernel says it changed ({@code changed}, null: the kernel did not look, the host walks instead).
     */
    record Ran(ExecOutcome outcome, Map<String, Object> info, List<Image> figures, String note,
            ChangedFiles.Scan changed) {

        Ran(ExecOutcome outcome, Map<String, Object> info, List<Image> figures, String note) {
            this(outcome, info, figures, note, null);
        }
    }

    /** How the note of a cell that ended its kernel starts. */
    static final String ENDED = "The kernel ended";

    private final Map<Key, Entry> entries = new ConcurrentHashMap<>();
    /**
     * Kernels that ended between cells (idle, an operator), and why: the next cell of that name starts a
     * new one, and its result says that the state is gone. Dropped with the session.
     */
    private final Map<Key, String> ended = new ConcurrentHashMap<>();
    private static final int ENDED_MAX = 10_000;
    private final LimitsConfig limits;
    private final java.util.concurrent.ScheduledExecutorService sweeper;

    Kernels(LimitsConfig limits) {
        this.limits = limits;
        this.sweeper = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                dev.warden.exec.DaemonThreads.named("warden-kernels"));
        // often enough that a kernel outlives its idle timeout by at most half of it (and never by more than 30 s)
        long everyMs = Math.max(500, Math.min(30_000, limits.kernelIdleTimeoutS() * 500));
        sweeper.scheduleWithFixedDelay(this::endIdle, everyMs, everyMs, TimeUnit.MILLISECONDS);
    }

    /**
     * Why a call may not have this kernel now (a cap; a name taken by another language), or empty.
     * A kernel already running under the name counts as there.
     */
    Optional<String> refusal(String session, Path workspace, Ask ask) {
        Entry e = entries.get(new Key(session, workspace, ask.name()));
        if (e != null) {
            if (!e.language.equals(ask.language()) && !ask.restart()) {
                return Optional.of("kernel \"" + ask.name() + "\" is a " + e.language + " kernel; name another kernel "
                        + "for " + ask.language() + ", or add restart_kernel: true to replace it");
            }
            return Optional.empty();
        }
        return overCap(session);
    }

    /** Why the session may not start one more kernel now (a cap), or empty. */
    private Optional<String> overCap(String session) {
        if (limits.maxKernels() <= 0) {
            return Optional.of("kernels are off on this server (limits.max_kernels is 0)");
        }
        long mine = entries.keySet().stream().filter(k -> k.session().equals(session)).count();
        if (mine >= limits.maxKernelsPerSession()) {
            return Optional.of("this session already has " + mine + " kernels, the most it may hold "
                    + "(limits.max_kernels_per_session); reuse one of them, or restart_kernel one");
        }
        if (entries.size() >= limits.maxKernels()) {
            return Optional.of("the server already holds " + entries.size() + " kernels, the most it may "
                    + "(limits.max_kernels); retry later");
        }
        return Optional.empty();
    }

    /**
     * Runs one cell in the session's kernel of that name, starting it first when it is not running (or
     * {@code restart} asks for a fresh one). Waits for the kernel's previous cell at most the cell's
     * own timeout. Never throws for the kernel's sake: a kernel that cannot start is a refused run.
     */
    Ran run(String session, String client, ExecRequest req, Ask ask, Limits cellLimits, KernelHost host,
            int maxImages, int maxImageBytes, long walkMs, java.time.Instant since) {
        Key key = new Key(session, req.workspace(), ask.name());
        Entry e;
        synchronized (entries) { // the caps hold under concurrent first cells: count and add as one step
            e = entries.get(key);
            if (e == null || ask.restart() && !e.language.equals(ask.language())) {
                if (e == null) {
                    Optional<String> over = overCap(session);
                    if (over.isPresent()) {
                        return new Ran(new ExecOutcome.Refused(over.get(), true), null, List.of(), null);
                    }
                }
                Entry fresh = new Entry(key, ask.language(), client);
                replace(e, fresh);
                entries.put(key, fresh);
                e = fresh;
            }
        }
        try {
            if (!e.lock.tryLock(cellLimits.timeoutMs(), TimeUnit.MILLISECONDS)) {
                return refused(e, "the kernel was still busy with an earlier cell for the whole of this cell's "
                        + "timeout");
            }
        }
        catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return refused(e, "interrupted");
        }
        if (entries.get(key) != e) { // ended (idle, an operator, the session) while this cell waited: start over
            e.lock.unlock();
            return run(session, client, req, ask, cellLimits, host, maxImages, maxImageBytes, walkMs, since);
        }
        try {
            e.busy = true;
            boolean restarted = false;
            String gone = e.kernel == null ? ended.remove(key) : null;
            if (gone != null && !ask.restart()) {
                restarted = true;
            }
            if (ask.restart() && e.kernel != null) {
                e.kernel.close();
                e.kernel = null;
                restarted = true;
            }
            if (e.kernel != null && !e.kernel.alive()) {
                e.kernel.close(); // it died between cells (its workspace was restored, its sandbox killed)
                e.kernel = null;
                gone = "its sandbox ended between cells";
                restarted = !ask.restart();
            }
            if (e.kernel == null) {
                e.count = 0;
                try {
                    e.kernel = host.startKernel(req, ask.language(), limits.kernelCpuS() * 1000);
                }
                catch (IOException | RuntimeException failed) {
                    log.warn("kernel {} of session {} could not start: {}", ask.name(), session, failed.getMessage());
                    synchronized (entries) {
                        entries.remove(key, e);
                    }
                    return new Ran(new ExecOutcome.Refused("the kernel could not be started ("
                            + failed.getMessage() + ")", failed.getMessage() != null
                                    && failed.getMessage().contains("busy")), info(e, restarted), List.of(), null);
                }
            }
            e.count++;
            Kernel.CellResult cell = e.kernel.run(new Kernel.Cell(req.code(), req.stdin(), cellLimits, req.cancel(),
                    req.egress() == null ? CallEgress.NONE : req.egress(), maxImages, maxImageBytes, walkMs, since));
            String note = gone == null || ask.restart() ? null : "The kernel had ended (" + gone + "), so this cell "
                    + "ran in a new one: the variables and imports of earlier cells are gone.";
            if (cell.ended()) {
                e.kernel = null;
                restarted = true;
                note = ENDED + " (" + cell.endReason() + "): its variables and imports are gone, and the next "
                        + "cell starts a new kernel.";
            }
            Map<String, Object> info = info(e, restarted);
            if (cell.ended()) {
                e.count = 0;
            }
            List<Image> figures = new ArrayList<>();
            for (byte[] png : cell.images()) {
                figures.add(new Image(null, "image/png", Base64.getEncoder().encodeToString(png)));
            }
            return new Ran(cell.outcome(), info, figures, note,
                    cell.changed() == null ? null : ChangedFiles.reported(cell.changed(), cell.changedTruncated()));
        }
        finally {
            e.busy = false;
            e.lastUsedNanos = System.nanoTime();
            e.lock.unlock();
        }
    }

    private static Entry replace(Entry old, Entry fresh) {
        if (old != null && old.kernel != null) {
            old.kernel.close(); // restart_kernel into another language: the old interpreter goes
        }
        return fresh;
    }

    private static Ran refused(Entry e, String why) {
        return new Ran(new ExecOutcome.Refused(why, true), info(e, false), List.of(), null);
    }

    private static Map<String, Object> info(Entry e, boolean restarted) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", e.key.name());
        m.put("language", e.language);
        m.put("execution_count", e.count);
        m.put("restarted", restarted);
        return m;
    }

    /** A session ended: its kernels go. */
    void endSession(String session) {
        ended.keySet().removeIf(k -> k.session().equals(session));
        entries.keySet().removeIf(k -> {
            if (!k.session().equals(session)) {
                return false;
            }
            end(entries.get(k));
            return true;
        });
    }

    /** Kernels no cell used for kernel_idle_timeout_s end (not one running a cell). */
    private void endIdle() {
        long idleNanos = TimeUnit.SECONDS.toNanos(limits.kernelIdleTimeoutS());
        long now = System.nanoTime();
        for (Entry e : entries.values()) {
            if (!e.busy && now - e.lastUsedNanos > idleNanos && e.lock.tryLock()) {
                try {
                    entries.remove(e.key, e);
                    remember(e.key, "it had been idle for more than " + limits.kernelIdleTimeoutS() + " s");
                    end(e);
                    log.info("kernel {} of session {} ended after {} s idle", e.key.name(), e.key.session(),
                            limits.kernelIdleTimeoutS());
                }
                finally {
                    e.lock.unlock();
                }
            }
        }
    }

    private void remember(Key key, String why) {
        if (ended.size() >= ENDED_MAX) {
            ended.clear(); // a bound, not a feature: at worst a later cell does not say why its kernel is new
        }
        ended.put(key, why);
    }

    private static void end(Entry e) {
        if (e == null) {
            return;
        }
        Kernel k = e.kernel;
        e.kernel = null;
        if (k != null) {
            k.close();
        }
    }

    /** For the operator: every kernel with its session, client, language, cells run and memory now. */
    List<Map<String, Object>> list() {
        List<Map<String, Object>> all = new ArrayList<>();
        for (Entry e : entries.values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id(e.key));
            m.put("session", e.key.session());
            m.put("client", e.client);
            m.put("name", e.key.name());
            m.put("language", e.language);
            m.put("execution_count", e.count);
            m.put("running", e.kernel != null);
            m.put("busy", e.busy);
            m.put("created_at", e.created.toString());
            m.put("idle_s", TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - e.lastUsedNanos));
            Kernel k = e.kernel;
            m.put("memory_kb", k == null ? null : k.memoryKb());
            all.add(m);
        }
        return all;
    }

    /** An operator ends a kernel (its id from {@link #list}); false: no such kernel. */
    boolean endById(String id) {
        for (Entry e : entries.values()) {
            if (id(e.key).equals(id)) {
                entries.remove(e.key, e);
                remember(e.key, "an operator ended it");
                end(e); // a cell running in it ends as the kernel's end
                return true;
            }
        }
        return false;
    }

    private static String id(Key k) {
        return "k-" + Integer.toHexString(java.util.Objects.hash(k.session(), k.workspace(), k.name()));
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
        entries.values().forEach(Kernels::end);
        entries.clear();
    }
}
