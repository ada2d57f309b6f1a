package dev.warden.exec;

import java.nio.charset.StandardCharsets;

/**
 * The latest bytes a running program wrote to stdout, for the heartbeats of a call that is still
 * running: executors feed it as they drain the output; the pipeline reads its last lines. Bounded
 * ({@value #KEEP} bytes) whatever the program writes; the result's output is collected apart.
 */
public final class LiveOutput {

    static final int KEEP = 1024;

    private final byte[] ring = new byte[KEEP];
    private long written;

    /** Bytes the program wrote, in order. */
    public synchronized void write(byte[] b, int off, int len) {
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
