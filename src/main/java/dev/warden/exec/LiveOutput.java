package dev.warden.exec;

import java.nio.charset.StandardCharsets;

/**
 * What a running program writes, as it writes it: executors feed it as they drain the output. It
 * keeps the latest bytes of stdout, for the heartbeats of a call that is still running (bounded,
 * {@value #KEEP} bytes, whatever the program writes); a background run also has a {@link
 * StreamBuffer} per stream, which its client reads by offsets. The result's output is collected apart.
 */
public final class LiveOutput {

    static final int KEEP = 1024;

    private final byte[] ring = new byte[KEEP];
    private long written;
    private final StreamBuffer out;
    private final StreamBuffer err;
    private final byte[] errHead = new byte[ProcessRun.EXEC_MARK.length];
    private int errHeadFill;
    private boolean errStarted;

    /** A synchronous run's: the tail of stdout only. */
    public LiveOutput() {
        this(null, null);
    }

    /** A background run's: both streams kept for its client as well. */
    public LiveOutput(StreamBuffer out, StreamBuffer err) {
        this.out = out;
        this.err = err;
    }

    /**
     * Bytes the program wrote to stderr, in order, with the launcher's start mark in front (as the
     * executors drain it): the mark is taken off, and without it nothing is kept (the bytes are then
     * the launcher's own words, never the program's).
     */
    public void writeErr(byte[] b, int off, int len) {
        if (err == null) {
            return;
        }
        int from = off;
        synchronized (this) {
            if (!errStarted) {
                while (from < off + len && errHeadFill < errHead.length) {
                    errHead[errHeadFill++] = b[from++];
                }
                if (errHeadFill < errHead.length) {
                    return;
                }
                if (!java.util.Arrays.equals(errHead, ProcessRun.EXEC_MARK)) {
                    return; // not started: this stays the launcher's
                }
                errStarted = true;
            }
        }
        if (from < off + len) {
            err.write(b, from, off + len - from);
        }
    }

    /** Bytes the program wrote to stdout, in order. */
    public void write(byte[] b, int off, int len) {
        if (out != null) {
            out.write(b, off, len);
        }
        keep(b, off, len);
    }

    private synchronized void keep(byte[] b, int off, int len) {
        int from = off;
        if (len > KEEP) { // only the last KEEP bytes can stay: the ones before count as written
            from = off + len - KEEP;
            written += len - KEEP;
        }
        for (int i = from; i < off + len; i++) {
            ring[(int) (written++ % KEEP)] = b[i];
        }
    }

    /** How many bytes the program has written so far. */
    public synchronized long written() {
        return written;
    }

    /** The last {@code lines} complete or partial lines, as raw bytes (the caller sanitizes them). */
    public synchronized byte[] tail(int lines) {
        int n = (int) Math.min(written, KEEP);
        byte[] last = new byte[n];
        for (int i = 0; i < n; i++) {
            last[i] = ring[(int) ((written - n + i) % KEEP)];
        }
        int end = n;
        while (end > 0 && (last[end - 1] == '\n' || last[end - 1] == '\r')) {
            end--;
        }
        int start = end;
        int seen = 0;
        while (start > 0 && seen < lines) {
            start--;
            if (last[start] == '\n' && ++seen == lines) {
                start++;
                break;
            }
        }
        byte[] out = new byte[end - start];
        System.arraycopy(last, start, out, 0, out.length);
        return out;
    }

    @Override
    public String toString() {
        return new String(tail(2), StandardCharsets.UTF_8);
    }
}
