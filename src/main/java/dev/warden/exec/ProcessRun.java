package dev.warden.exec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The mechanics of one started process: feed its stdin, drain both outputs with a cap (the rest is
 * read and dropped so the child never blocks on a full pipe), and stop it at the wall-clock limit.
 * The calling thread drains stdout itself and one pool thread drains stderr: on two cores every
 * thread hand-off is latency. The limit is a timer that kills the whole tree, which also closes
 * the pipes, so the drains always end.
 */
final class ProcessRun {

    /** Pipe capacity on Linux: a write of at most this much never blocks, so it can be done inline. */
    private static final int INLINE_STDIN = 65536;

    /** {@code stopped}: why it was stopped from outside (an operator), or null. */
    record Raw(int exitCode, Output stdout, Output stderr, boolean timedOut, long durationMs, String stopped) {
    }

    private final ExecutorService io;
    private final ScheduledExecutorService timer;

    ProcessRun(ExecutorService io, ScheduledExecutorService timer) {
        this.io = io;
        this.timer = timer;
    }

    /**
     * @param preamble bytes written before {@code stdin} (the request of a sandbox stub), may be empty
     * @param killTree kills the whole tree; called if the wall limit passes
     */
    Raw run(Process p, byte[] preamble, byte[] stdin, long timeoutMs, int outputCap, Runnable killTree,
            Cancel cancel) throws InterruptedException {
        long start = System.nanoTime();
        AtomicBoolean timedOut = new AtomicBoolean();
        ScheduledFuture<?> limit = timer.schedule(() -> {
            timedOut.set(true);
            killTree.run();
            p.destroyForcibly();
        }, timeoutMs, TimeUnit.MILLISECONDS);
        Cancel.Registration stop = cancel.onCancel(() -> {
            killTree.run();
            p.destroyForcibly();
        });
        try {
            Future<Output> err = io.submit(() -> drain(p.getErrorStream(), outputCap));
            if (preamble.length + stdin.length <= INLINE_STDIN) {
                feed(p.getOutputStream(), preamble, stdin);
            }
            else {
                io.submit(() -> feed(p.getOutputStream(), preamble, stdin));
            }
            Output out = drain(p.getInputStream(), outputCap);
            if (!p.waitFor(timeoutMs + 5000, TimeUnit.MILLISECONDS)) {
                // stdout closed but the process lives on past its limit: the timer has fired or will
                killTree.run();
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            long durationMs = (System.nanoTime() - start) / 1_000_000;
            Output e = collect(err, killTree);
            int code = p.isAlive() ? -1 : p.exitValue();
            return new Raw(code, out, e, timedOut.get(), durationMs, cancel.reason());
        }
        finally {
            limit.cancel(false);
            stop.close();
        }
    }

    private static Output collect(Future<Output> f, Runnable killTree) throws InterruptedException {
        try {
            return f.get(2, TimeUnit.SECONDS);
        }
        catch (java.util.concurrent.TimeoutException e) {
            // something outside the tree we waited for still holds the pipe: kill everything, then wait
            killTree.run();
            try {
                return f.get(5, TimeUnit.SECONDS);
            }
            catch (Exception again) {
                f.cancel(true);
                return Output.EMPTY;
            }
        }
        catch (java.util.concurrent.ExecutionException e) {
            return Output.EMPTY;
        }
    }

    static void feed(OutputStream os, byte[] preamble, byte[] stdin) {
        try (os) {
            if (preamble.length > 0) {
                os.write(preamble);
            }
            if (stdin.length > 0) {
                os.write(stdin);
            }
        }
        catch (IOException ignored) {
            // The program exited or closed stdin without reading it all: that is its right.
        }
    }

    static Output drain(InputStream in, int cap) {
        ByteArrayOutputStream kept = new ByteArrayOutputStream(Math.min(cap, 8192));
        byte[] buf = new byte[65536];
        boolean truncated = false;
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                int room = cap - kept.size();
                if (n > room) {
                    truncated = true;
                }
                if (room > 0) {
                    kept.write(buf, 0, Math.min(n, room));
                }
            }
        }
        catch (IOException ignored) {
            // stream closed under us after a kill: keep what we have
        }
        return new Output(kept.toByteArray(), truncated);
    }
}
