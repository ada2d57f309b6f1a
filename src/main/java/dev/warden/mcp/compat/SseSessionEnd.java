package dev.warden.mcp.compat;

import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.http.HttpServletRequest;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The id of an HTTP+SSE session and the moment it ends, which the SDK does not tell.
 *
 * <p><b>What the SDK does (2.1.0).</b> {@code HttpServletSseServerTransportProvider.doGet} makes up
 * the session id, keeps the session in a private map, and tells it only to the client, in the first
 * event of the stream ({@code endpoint}: {@code /message?sessionId=...}). There is no listener for a
 * session's end: when the stream ends, the session is only dropped from that map on a failed write.
 *
 * <p><b>Why that breaks Warden.</b> Each SSE session has a workspace (and a session cap slot) keyed by
 * that id; without its end they would outlive the client.
 *
 * <p><b>The workaround.</b> The stream's first event is read as the SDK writes it (a
 * {@link SerializedSseWriter.Tap}), and an {@link AsyncListener} on the stream's request reports
 * the end, once.
 *
 * <p><b>Upstream.</b> No upstream issue found as of 2026-12 asking the servlet SSE transport for a
 * session id or end callback (the SSE transports are deprecated upstream).
 *
 * <p><b>When to remove it.</b> With HTTP+SSE, or when the SDK offers a session lifecycle callback.
 */
public final class SseSessionEnd implements SerializedSseWriter.Tap {

    private static final Pattern ID = Pattern.compile("sessionId=([A-Za-z0-9-]+)");
    private static final int HEAD_MAX = 4096;

    private final StringBuilder head = new StringBuilder();
    private final Consumer<String> found;
    private volatile String sessionId;
    private final AtomicBoolean done = new AtomicBoolean();

    public SseSessionEnd() {
        this(id -> {
        });
    }

    /** @param found told the id as soon as it is written, before the client can read it and use it */
    public SseSessionEnd(Consumer<String> found) {
        this.found = found;
    }

    @Override
    public void saw(char[] cbuf, int off, int len) {
        if (sessionId != null || head.length() > HEAD_MAX) {
            return;
        }
        head.append(cbuf, off, len);
        Matcher m = ID.matcher(head);
        if (m.find()) {
            sessionId = m.group(1);
            found.accept(sessionId);
        }
    }

    /** The SDK's id of the session, once its endpoint event was written; null until then. */
    public String sessionId() {
        return sessionId;
    }

    /** Tells {@code ended} the session id once, when the stream of {@code req} (already async) ends. */
    public void onEnd(HttpServletRequest req, Consumer<String> ended) {
        req.getAsyncContext().addListener(new AsyncListener() {
            @Override
            public void onComplete(AsyncEvent e) {
                ended(ended);
            }

            @Override
            public void onTimeout(AsyncEvent e) {
                ended(ended);
            }

            @Override
            public void onError(AsyncEvent e) {
                ended(ended);
            }

            @Override
            public void onStartAsync(AsyncEvent e) {
            }
        });
    }

    private void ended(Consumer<String> ended) {
        if (sessionId != null && done.compareAndSet(false, true)) {
            ended.accept(sessionId);
        }
    }
}
