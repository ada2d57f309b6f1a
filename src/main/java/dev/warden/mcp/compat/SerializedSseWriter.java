package dev.warden.mcp.compat;

import java.io.PrintWriter;
import java.io.Writer;

/**
 * The writer the SDK's HTTP+SSE transport gets for its event stream: each thread's writes are held
 * apart until that thread flushes, and then written whole, so two events sent at once never mix.
 *
 * <p><b>What the SDK does (2.1.0).</b> {@code HttpServletSseServerTransportProvider.sendEvent} writes
 * an event as two {@code PrintWriter.write} calls ({@code "event: ..."}, then {@code "data: ..."})
 * and a flush, called from {@code HttpServletMcpSessionTransport.sendMessage} on whichever thread
 * sends, with no lock. (Its Streamable HTTP transport takes a {@code ReentrantLock} around the same
 * call; the SSE one does not.)
 *
 * <p><b>Why that breaks Warden.</b> Two answers finishing together on one SSE session (two tool
 * calls, or an answer beside a keep-alive ping) interleave into {@code event: event: data: data:},
 * which the client cannot parse: both answers are lost and both calls wait until their timeout.
 *
 * <p><b>Upstream.</b> No upstream issue found as of 2026-12 for the servlet SSE transport. The same
 * defect in the Spring WebMVC SSE transport is
 * <a href="https://github.com/modelcontextprotocol/java-sdk/issues/382">modelcontextprotocol/java-sdk#382</a>
 * (open). The SSE transports are deprecated upstream (commit "Deprecate SSE transports", 2026-05).
 *
 * <p><b>When to remove it.</b> When {@code sendEvent} writes an event whole or under a lock
 * ({@code SdkSseInterleavingTest} then fails), or when Warden drops HTTP+SSE.
 */
public final class SerializedSseWriter extends Writer {

    /** Sees everything written, before it is held back (to read the session id out of the stream). */
    @FunctionalInterface
    public interface Tap {

        void saw(char[] cbuf, int off, int len);
    }

    private final PrintWriter real;
    private final Tap tap;
    private final ThreadLocal<StringBuilder> pending = ThreadLocal.withInitial(StringBuilder::new);

    private SerializedSseWriter(PrintWriter real, Tap tap) {
        this.real = real;
        this.tap = tap;
    }

    /**
     * The SDK's writer over {@code real}. Its {@code checkError} also reports {@code real}'s errors,
     * since that is how the SDK notices a client that has gone.
     */
    public static PrintWriter wrap(PrintWriter real, Tap tap) {
        return new PrintWriter(new SerializedSseWriter(real, tap == null ? (c, o, l) -> { } : tap)) {
            @Override
            public boolean checkError() {
                return super.checkError() || real.checkError(); // the SDK's way to see a gone client
            }
        };
    }

    @Override
    public void write(char[] cbuf, int off, int len) {
        tap.saw(cbuf, off, len);
        pending.get().append(cbuf, off, len);
    }

    @Override
    public void flush() {
        StringBuilder mine = pending.get();
        String event = mine.toString();
        mine.setLength(0);
        synchronized (real) {
            real.write(event);
            real.flush();
        }
    }

    @Override
    public void close() {
        real.close();
    }
}
