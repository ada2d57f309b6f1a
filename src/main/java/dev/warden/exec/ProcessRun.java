package dev.warden.exec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The mechanics of one started process: feed its stdin, drain both outputs with a cap (the rest is
 * read and dropped so the child never blocks on a full pipe), and wait under a wall-clock limit.
 */
final class ProcessRun {

    record Raw(int exitCode, Output stdout, Output stderr, boolean timedOut, long durationMs) {
    }

    private final ExecutorService io;

    ProcessRun(ExecutorService io) {
        this.io = io;
    }

    /**
     * @param preamble bytes written before {@code stdin} (the request of a sandbox stub), may be empty
     * @param onTimeout kills the whole tree; called once if the wall limit passes
     */
    Raw run(Process p, byte[] preamble, byte[] stdin, long timeoutMs, int outputCap, Runnable onTimeout)
            throws InterruptedException {
        long start = System.nanoTime();
        Future<Output> out = io.submit(() -> drain(p.getInputStream(), outputCap));
        Future<Output> err = io.submit(() -> drain(p.getErrorStream(), outputCap));
        io.submit(() -> feed(p.getOutputStream(), preamble, stdin));
        boolean timedOut = false;
        if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
            timedOut = true;
            onTimeout.run();
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        long durationMs = (System.nanoTime() - start) / 1_000_000;
        // The pipes close when the last holder dies; the tree is dead or dying, so this is bounded.
        Output o = collect(out, onTimeout);
        Output e = collect(err, onTimeout);
        int code = p.isAlive() ? -1 : p.exitValue();
        return new Raw(code, o, e, timedOut, durationMs);
    }

    private static Output collect(Future<Output> f, Runnable killTree) throws InterruptedException {
        try {
            return f.get(2, TimeUnit.SECONDS);
        }
        catch (TimeoutException e) {
            // Something outside the tree we waited for still holds the pipe: kill everything, then wait.
            killTree.run();
            try {
                return f.get(5, TimeUnit.SECONDS);
            }
            catch (Exception again) {
                f.cancel(true);
                return Output.EMPTY;
            }
        }
        catch (Exception e) {
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
