package dev.warden.exec;

import java.util.Arrays;

/**
 * One output stream of a background run, as a client reads it: by offsets into everything the
 * program wrote. It keeps the last {@code capacity} bytes, whatever the program writes (memory stays
 * bounded); a read from an offset the buffer no longer holds starts at the oldest byte kept and says
 * how many bytes in between were lost. Readers wait on the lock given at construction, which every
 * write and {@link #finish} notify.
 */
public final class StreamBuffer {

    /** A read: the bytes, the offset after them (where the next read starts), and the bytes lost before them. */
    public record Chunk(byte[] bytes, long next, long dropped) {
    }

    private final Object lock;
    private byte[] ring;
    private long written;

    /** @param lock what readers wait on (shared by a run's streams, so one wait covers both) */
    public StreamBuffer(int capacity, Object lock) {
        this.ring = new byte[Math.max(1, capacity)];
        this.lock = lock;
    }

    public void write(byte[] b, int off, int len) {
        synchronized (lock) {
            int from = off;
            if (len > ring.length) { // only the last ring.length bytes can stay
                from = off + len - ring.length;
                written += len - ring.length;
            }
            for (int i = from; i < off + len; i++) {
                ring[(int) (written++ % ring.length)] = b[i];
            }
            lock.notifyAll();
        }
    }

    /** Everything the program has written to this stream so far. */
    public long end() {
        synchronized (lock) {
            return written;
        }
    }

    /**
     * The bytes from {@code offset} on, at most {@code max}. While the run goes on ({@code more}), a
     * read never ends inside a UTF-8 character: its last incomplete bytes wait for the next read, so
     * each chunk decodes cleanly on its own.
     */
    public Chunk read(long offset, int max, boolean more) {
        synchronized (lock) {
            long oldest = Math.max(0, written - ring.length);
            long from = Math.min(Math.max(offset, oldest), written);
            long dropped = Math.max(0, oldest - Math.max(0, offset));
            int n = (int) Math.min(max, written - from);
            byte[] out = new byte[n];
            for (int i = 0; i < n; i++) {
                out[i] = ring[(int) ((from + i) % ring.length)];
            }
            if (more || from + n < written) {
                n = wholeCharacters(out);
                out = n == out.length ? out : Arrays.copyOf(out, n);
            }
            return new Chunk(out, from + n, dropped);
        }
    }

    /**
     * The stream is over: the buffer shrinks to what it holds, so a finished run that wrote little
     * keeps little. Reads go on as before.
     */
    public void compact() {
        synchronized (lock) {
            int n = (int) Math.min(written, ring.length);
            if (n == ring.length) {
                return;
            }
            byte[] small = new byte[Math.max(1, n)];
            for (long pos = written - n; pos < written; pos++) {
                small[(int) (pos % small.length)] = ring[(int) (pos % ring.length)];
            }
            ring = small;
        }
    }

    /** The length of {@code b} without a UTF-8 character cut at its end (all of it if none is). */
    public static int wholeCharacters(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int x = b[n - back] & 0xff;
            if ((x & 0xc0) == 0x80) {
                continue; // a continuation byte: look further back for its lead
            }
            int need = x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : x >= 0xc0 ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
