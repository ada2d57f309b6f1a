package dev.warden.pipeline;

import dev.warden.call.Status;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.contract.CallResult;
import dev.warden.contract.ExecutionCall;
import dev.warden.exec.LiveOutput;
import dev.warden.exec.StdinPipe;
import dev.warden.exec.StreamBuffer;
import dev.warden.session.Workspaces;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The background runs: admitted under their caps (per session and in all), each carried by a
 * thread of its own from start to end, read by offsets while it runs and after, written to, and
 * stopped. A run ends with its program, at its wall limit, when stopped (by its client, an operator,
 * the kill switch) or when its session ends; its final result stays readable until the session ends
 * ({@value #KEEP_ENDED} ended runs per session at most, the oldest forgotten first).
 */
final class BackgroundRuns {

    private static final Logger log = LoggerFactory.getLogger(BackgroundRuns.class);
    static final int KEEP_ENDED = 32;
    /** How long stop_execution and the end of a session wait for a stopped run to be over. */
    private static final long STOP_WAIT_MS = 15_000;
    /** The most a run's end waits for its call's own audit line (written as the call answers). */
    private static final long ANSWER_WAIT_MS = 10_000;

    /** One background run. */
    final class Run {
        final CallContext c;
        final String summary;
        final Instant startedAt;
        final long t0 = System.nanoTime();
        final Object lock = new Object();
        final StreamBuffer out;
        final StreamBuffer err;
        final StdinPipe input;
        final LiveOutput live;
        private CallResult started;
        private CallResult ended;
        private long endedNanos;
        /** Counted down once the call's own audit line (status running) is written: the end's line comes after it. */
        private final java.util.concurrent.CountDownLatch answered = new java.util.concurrent.CountDownLatch(1);

        Run(CallContext c, String summary, Instant startedAt) {
            this.c = c;
            this.summary = summary;
            this.startedAt = startedAt;
            this.out = new StreamBuffer(limits.backgroundBufferBytes(), lock);
            this.err = new StreamBuffer(limits.backgroundBufferBytes(), lock);
            this.input = new StdinPipe(limits.stdinBytes());
            this.live = new LiveOutput(out, err);
        }

        /** The final result, or null while it runs. */
        CallResult ended() {
            synchronized (lock) {
                return ended;
            }
        }

        long durationMs() {
            synchronized (lock) {
                return ((ended != null ? endedNanos : System.nanoTime()) - t0) / 1_000_000;
            }
        }

        private void end(CallResult r) {
            synchronized (lock) {
                ended = r;
                endedNanos = System.nanoTime();
                out.compact();
                err.compact();
                lock.notifyAll();
            }
        }

        /** Waits until there is output past the offsets, the run ends, or {@code waitMs} pass. */
        void await(long stdoutOffset, long stderrOffset, long waitMs) throws InterruptedException {
            long deadline = System.nanoTime() + waitMs * 1_000_000;
            synchronized (lock) {
                while (ended == null && out.end() <= stdoutOffset && err.end() <= stderrOffset) {
                    long left = (deadline - System.nanoTime()) / 1_000_000;
                    if (left <= 0) {
                        return;
                    }
                    lock.wait(left);
                }
            }
        }
    }

    private final LimitsConfig limits;
    private final Clock clock;
    private final Map<String, Run> byId = new ConcurrentHashMap<>();

    BackgroundRuns(LimitsConfig limits, Workspaces workspaces, Clock clock) {
        this.limits = limits;
        this.clock = clock;
        workspaces.onSessionEnd(this::endSession);
    }

    /**
     * A place for a new run of this call, or why not (the caps): the reason for a rate_limited answer.
     * The run counts from now on; {@link #start} or {@link #abandon} follows.
     */
    synchronized Optional<String> admit(CallContext c) {
        if (limits.maxBackground() == 0 || limits.maxBackgroundPerSession() == 0) {
            return Optional.of("this server runs nothing in the background (limits.max_background is 0); "
                    + "run it without background");
        }
        long all = byId.values().stream().filter(r -> r.ended() == null).count();
        long mine = byId.values().stream()
            .filter(r -> r.ended() == null && r.c.caller.sessionId().equals(c.caller.sessionId())).count();
        if (mine >= limits.maxBackgroundPerSession()) {
            return Optional.of("this session already has " + mine + " background runs going, the most it may have ("
                    + "limits.max_background_per_session); stop one with stop_execution or wait for one to end");
        }
        if (all >= limits.maxBackground()) {
            return Optional.of("Warden already has " + all + " background runs going, the most it runs at once "
                    + "(limits.max_background)");
        }
        Run r = new Run(c, CallAudit.clip(c.subject().text(), 200), clock.instant());
        byId.put(c.id, r);
        forgetOldEnded(c.caller.sessionId());
        return Optional.empty();
    }

    Run get(String id) {
        return byId.get(id);
    }

    /** The admitted run did not start after all (a later step refused it). */
    void abandon(String id) {
        byId.remove(id);
    }

    /**
     * Runs {@code body} on a thread of its own; its result is the run's final one, and {@code done}
     * (the audit line) is told of it before any reader sees it.
     */
    void start(Run r, CallResult started, Supplier<CallResult> body, java.util.function.Consumer<CallResult> done) {
        synchronized (r.lock) {
            r.started = started;
        }
        Thread t = new Thread(() -> {
            CallResult result;
            try {
                result = body.get();
            }
            catch (RuntimeException e) {
                log.error("background run {} failed inside Warden", r.c.id, e);
                result = started.asRead(Status.FAILED, "", "", false, false, 0, r.durationMs(),
                        "Warden could not complete this run because of an internal error.", null);
            }
            finally {
                r.input.close();
            }
            try {
                r.answered.await(ANSWER_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                done.accept(result);
            }
            finally {
                r.end(result);
            }
        }, "warden-bg-" + r.c.id);
        t.setDaemon(true);
        t.start();
    }

    /** The call that started this run has its audit line: the run's end may be audited now. */
    void answered(String id) {
        Run r = byId.get(id);
        if (r != null) {
            r.answered.countDown();
        }
    }

    /** The answer the run gave at its start (its tier, limits, findings), the base of every read while it runs. */
    CallResult started(Run r) {
        synchronized (r.lock) {
            return r.started;
        }
    }

    /** The run, if it exists and belongs to this identity: another client's run is as good as unknown. */
    Optional<Run> of(Caller caller, ExecutionCall call) {
        Run r = byId.get(call.executionId());
        return r != null && r.c.caller.identity().equals(caller.identity()) ? Optional.of(r) : Optional.empty();
    }

    /** Stops the run and waits (a while) until it is over. */
    void stop(Run r, String why) throws InterruptedException {
        r.c.caller.cancel().cancel(why);
        r.await(Long.MAX_VALUE, Long.MAX_VALUE, STOP_WAIT_MS);
    }

    /** The session's runs, oldest first, for list_executions. */
    List<Run> ofSession(String session) {
        List<Run> mine = new ArrayList<>(byId.values().stream().filter(r -> r.c.caller.sessionId().equals(session))
            .toList());
        mine.sort(Comparator.comparing((Run r) -> r.startedAt).thenComparing(r -> r.c.id));
        return mine;
    }

    /** Every run still going (for a status line, and at shutdown). */
    List<Run> running() {
        return byId.values().stream().filter(r -> r.ended() == null).toList();
    }

    /** Waits (at most {@code waitMs} in all) for every run going to end; returns how many have not. */
    int awaitAll(long waitMs) {
        long deadline = System.nanoTime() + waitMs * 1_000_000;
        for (Run r : running()) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            try {
                r.await(Long.MAX_VALUE, Long.MAX_VALUE, Math.max(0, left));
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return running().size();
    }

    /** The session is over: its runs are stopped (and waited for, before its workspace goes) and forgotten. */
    private void endSession(String session) {
        List<Run> mine = ofSession(session);
        for (Run r : mine) {
            r.c.caller.cancel().cancel("its session ended");
        }
        for (Run r : mine) {
            try {
                r.await(Long.MAX_VALUE, Long.MAX_VALUE, STOP_WAIT_MS);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            if (r.ended() == null) {
                log.warn("background run {} did not end within {} ms of its session's end", r.c.id, STOP_WAIT_MS);
            }
        }
        mine.forEach(r -> byId.remove(r.c.id, r));
    }

    /** Keeps at most {@link #KEEP_ENDED} ended runs of a session: their output is memory. */
    private void forgetOldEnded(String session) {
        List<Run> ended = ofSession(session).stream().filter(r -> r.ended() != null).toList();
        for (int i = 0; i < ended.size() - KEEP_ENDED; i++) {
            byId.remove(ended.get(i).c.id, ended.get(i));
        }
    }

    /** The fields list_executions shows of one run. */
    static Map<String, Object> summary(Run r) {
        CallResult end = r.ended();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("execution_id", r.c.id);
        m.put("tool", r.c.tool);
        m.put("summary", r.summary);
        m.put("status", end == null ? Status.RUNNING.wire() : end.status().wire());
        m.put("started_at", r.startedAt.toString());
        m.put("duration_ms", r.durationMs());
        return m;
    }
}
