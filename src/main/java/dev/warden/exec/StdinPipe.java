package dev.warden.exec;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;

/**
 * The stdin of a background run that a client keeps writing to ({@code send_input}): what was sent
 * and not yet taken by the program waits here, at most {@code capacity} bytes (a client cannot make
 * Warden hold more for a program that does not read). The executor's feeding thread pumps it into
 * the program's stdin until the client closes it or the run ends.
 */
public final class StdinPipe {

    /** What happened to a write. */
    public enum Sent { SENT, FULL, CLOSED }

    private final int capacity;
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
    private int pending;
    private boolean closed;

    public StdinPipe(int capacity) {
        this.capacity = capacity;
    }

    public synchronized Sent write(byte[] data) {
        if (closed) {
            return Sent.CLOSED;
        }
        if (pending + (long) data.length > capacity) {
            return Sent.FULL;
        }
        if (data.length > 0) {
            chunks.add(data.clone());
            pending += data.length;
            notifyAll();
        }
        return Sent.SENT;
    }

    /** No more input: the program reads end of file once it has taken what is pending. */
    public synchronized void close() {
        closed = true;
        notifyAll();
    }

    public synchronized boolean closed() {
        return closed;
    }

    /** Bytes sent that the program has not taken yet. */
    public synchronized int pending() {
        return pending;
    }

    private synchronized byte[] take() throws InterruptedException {
        while (chunks.isEmpty() && !closed) {
            wait();
        }
        byte[] next = chunks.poll();
        if (next != null) {
            pending -= next.length;
        }
        return next;
    }

    /**
     * Writes everything sent into {@code os} as it comes, until the pipe is closed and empty (the
     * caller then closes {@code os}). Ends early with the IOException of a program that closed its stdin.
     */
    public void pumpInto(OutputStream os) throws IOException, InterruptedException {
        byte[] next;
        while ((next = take()) != null) {
            os.write(next);
            os.flush();
        }
    }
}
