package dev.warden.exec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
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
 *
 * <p>Whether the program was started at all is read from the launcher's own mark ({@code
 * warden-spawn --mark-exec}), the first bytes of stderr, written before any program code can run:
 * never from what the stream says after it, which the program controls.
 */
public final class ProcessRun {

    /** Pipe capacity on Linux: a write of at most this much never blocks, so it can be done inline. */
    private static final int INLINE_STDIN = 65536;

    /** Keep in step with EXEC_MARK in warden-spawn.c. */
    static final byte[] EXEC_MARK = "\0warden:exec\0".getBytes(StandardCharsets.US_ASCII);

    /** How much of a launcher's own message the server's log takes. */
    static final int LOG_TEXT_MAX = 200;

    /**
     * {@code stopped}: why it was stopped from outside (an operator), or null. {@code started}: the
     * launcher marked the program as started; {@code stderr} is then the program's own, without the
     * mark. Without it, nothing of the program ran and {@code stderr} is the launcher's or bwrap's.
     */
    public record Raw(int exitCode, Output stdout, Output stderr, boolean timedOut, long durationMs, String stopped,
            boolean started) {
    }

    private final ExecutorService io;
    private final ScheduledExecutorService timer;

    public ProcessRun(ExecutorService io, ScheduledExecutorService timer) {
        this.io = io;
        this.timer = timer;
    }

    /** The pool that drains and feeds streams (a kernel's replies are read on it too). */
    public ExecutorService io() {
        return io;
    }

    /**
     * @param preamble bytes written before {@code stdin} (the request of a sandbox stub), may be empty
     * @param killTree kills the whole tree; called if the wall limit passes
     */
    public Raw run(Process p, byte[] preamble, byte[] stdin, long timeoutMs, int outputCap, Runnable killTree,
            Cancel cancel) throws InterruptedException {
        return run(p, preamble, stdin, timeoutMs, outputCap, killTree, cancel, null);
    }

    /** As above, with the program's stdout also fed to {@code live} as it comes (null: nowhere). */
    public Raw run(Process p, byte[] preamble, byte[] stdin, long timeoutMs, int outputCap, Runnable killTree,
            Cancel cancel, LiveOutput live) throws InterruptedException {
        return run(p, preamble, stdin, timeoutMs, outputCap, killTree, cancel, live, null);
    }

    /**
     * As above, with both streams fed to {@code live}, and the input a client keeps sending ({@code
     * input}, null: none) pumped into the program's stdin after {@code stdin}, until the client
     * closes it or the run ends.
     */
    public Raw run(Process p, byte[] preamble, byte[] stdin, long timeoutMs, int outputCap, Runnable killTree,
            Cancel cancel, LiveOutput live, StdinPipe input) throws InterruptedException {
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
            // room for the mark, so the program still gets its full share of the cap
            Future<Output> err = io.submit(() -> drain(p.getErrorStream(), outputCap + EXEC_MARK.length,
                    live == null ? null : live::writeErr));
            Future<?> feeding = null;
            if (input != null) {
                feeding = io.submit(() -> feed(p.getOutputStream(), preamble, stdin, input));
            }
            else if (preamble.length + stdin.length <= INLINE_STDIN) {
                feed(p.getOutputStream(), preamble, stdin, null);
            }
            else {
                io.submit(() -> feed(p.getOutputStream(), preamble, stdin, null));
            }
            Output out = drain(p.getInputStream(), outputCap, live == null ? null : live::write);
            if (!p.waitFor(timeoutMs + 5000, TimeUnit.MILLISECONDS)) {
                // stdout closed but the process lives on past its limit: the timer has fired or will
                killTree.run();
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            long durationMs = (System.nanoTime() - start) / 1_000_000;
            if (feeding != null) {
                input.close(); // the program is gone: the feeding thread ends with what is left
                feeding.cancel(true);
            }
            Output e = collect(err, killTree);
            int code = p.isAlive() ? -1 : p.exitValue();
            boolean started = startsWithMark(e);
            return new Raw(code, out, started ? unmark(e) : cut(e, outputCap), timedOut.get(), durationMs,
                    cancel.reason(), started);
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

    public static boolean startsWithMark(Output err) {
        byte[] b = err.bytes();
        return b.length >= EXEC_MARK.length && Arrays.equals(b, 0, EXEC_MARK.length, EXEC_MARK, 0, EXEC_MARK.length);
    }

    public static Output unmark(Output err) {
        return new Output(Arrays.copyOfRange(err.bytes(), EXEC_MARK.length, err.bytes().length), err.truncated());
    }

    private static Output cut(Output err, int cap) {
        return err.bytes().length <= cap ? err : new Output(Arrays.copyOf(err.bytes(), cap), true);
    }

    /**
     * A launcher's message as one log line: control characters (newlines too) escaped, so no text
     * can start a line of its own in the server's log, and at most {@link #LOG_TEXT_MAX} characters.
     */
    public static String forLog(byte[] text) {
        String s = new String(text, StandardCharsets.UTF_8).strip();
        StringBuilder out = new StringBuilder(Math.min(s.length(), LOG_TEXT_MAX) + 16);
        int i = 0;
        for (; i < s.length() && out.length() < LOG_TEXT_MAX; i++) {
            char c = s.charAt(i);
            if (c == '\n') {
                out.append("\\n");
            }
            else if (c == '\\') {
                out.append("\\\\");
            }
            else if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                    || c == '\u2028' || c == '\u2029') {
                out.append(String.format("\\u%04x", (int) c));
            }
            else {
                out.append(c);
            }
        }
        if (i < s.length() || out.length() > LOG_TEXT_MAX) {
            out.setLength(Math.min(out.length(), LOG_TEXT_MAX));
            out.append('…');
        }
        return out.toString();
    }

    static void feed(OutputStream os, byte[] preamble, byte[] stdin, StdinPipe input) {
        try (os) {
            if (preamble.length > 0) {
                os.write(preamble);
            }
            if (stdin.length > 0) {
                os.write(stdin);
            }
            if (input != null) {
                os.flush();
                input.pumpInto(os);
            }
        }
        catch (IOException ignored) {
            // The program exited or closed stdin without reading it all: that is its right.
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the run is over
        }
    }

    /** Where the bytes of a stream go as they are read, besides the capped copy. */
    interface Tap {
        void write(byte[] b, int off, int len);
    }

    static Output drain(InputStream in, int cap, Tap live) {
        ByteArrayOutputStream kept = new ByteArrayOutputStream(Math.min(cap, 8192));
        byte[] buf = new byte[65536];
        boolean truncated = false;
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (live != null) {
                    live.write(buf, 0, n);
                }
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
