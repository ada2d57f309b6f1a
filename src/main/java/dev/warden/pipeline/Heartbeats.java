package dev.warden.pipeline;

import dev.warden.exec.LiveOutput;
import dev.warden.sanitize.Sanitizer;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * While a call's program runs, a progress notification every {@link #PERIOD_MS} ms to a client that
 * gave a progress token: how long it has run and the last lines it printed (sanitized like its
 * output), so a client that resets its request timeout on progress keeps waiting for a long run.
 */
final class Heartbeats {

    static final long PERIOD_MS = 1500;
    private static final int MESSAGE_MAX = 400;

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "warden-heartbeats");
        t.setDaemon(true);
        return t;
    });
    private final Sanitizer sanitizer;

    Heartbeats(Sanitizer sanitizer) {
        this.sanitizer = sanitizer;
    }

    /** A running call's heartbeat; closed when the run is over. */
    interface Beat extends AutoCloseable {
        @Override
        void close();
    }

    Beat start(CallContext c, LiveOutput live) {
        if (c.caller.progress() == Caller.Progress.NONE) {
            return () -> { };
        }
        long t0 = System.nanoTime();
        ScheduledFuture<?> f = timer.scheduleAtFixedRate(() -> {
            long ms = (System.nanoTime() - t0) / 1_000_000;
            c.caller.progress().report(ms / 1000.0, message(ms, live));
        }, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
        return () -> f.cancel(false);
    }

    private String message(long ms, LiveOutput live) {
        String head = "running for " + (ms / 1000) + " s";
        byte[] tail = live.tail(2);
        if (tail.length == 0) {
            return head + ", no output yet";
        }
        String text = sanitizer.clean(tail).text().replace("\r", "").replace('\n', '|');
        String msg = head + "; last output: " + text;
        return msg.length() > MESSAGE_MAX ? msg.substring(0, MESSAGE_MAX) : msg;
    }
}
