package dev.warden.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.exec.Cancel;
import dev.warden.mcp.compat.CancellationTagger;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code notifications/cancelled}, which the SDK only logs, stops the run it names. The transport
 * guards tag every {@code tools/call} with a key made of its transport session and JSON-RPC id (see
 * {@link CancellationTagger}, the SDK workaround), the tool handler registers the call's
 * {@link Cancel} under that key while it runs, and a cancellation from the same session for the same
 * id cancels it. A client can only ever name its own session's calls: the session part of the key
 * comes from the transport, never from the message.
 */
final class ClientCancels implements CancellationTagger.Cancellations {

    /** Where the guard puts the key in a tools/call's {@code params._meta}. */
    static final String META_KEY = CancellationTagger.META_KEY;

    private static final int EARLY_MAX = 256;

    /**
     * How a tagged message is written back: everything beyond ASCII as \\u escapes, so the text the SDK
     * reads is what the client sent (an unpaired surrogate stays one, and is refused as invalid).
     */
    static byte[] write(com.fasterxml.jackson.databind.ObjectMapper json, JsonNode message)
            throws com.fasterxml.jackson.core.JsonProcessingException {
        return CancellationTagger.write(json, message);
    }


    private final Map<String, Cancel> running = new ConcurrentHashMap<>();
    /** A cancellation is kept this long for a call not yet registered (the SDK dispatches on another thread). */
    private static final long EARLY_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);

    private record Early(String reason, long at) {
    }

    /** Cancellations that arrived before their call was registered, or after it ended (then they expire). */
    private final Map<String, Early> early = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Early> eldest) {
            return size() > EARLY_MAX;
        }
    };

    /**
     * Looks at one well-formed message from a transport session: a tools/call is tagged (the node is
     * changed; true is returned so the caller re-serialises it), a cancellation stops its call.
     */
    boolean inspect(JsonNode message, String session) {
        return CancellationTagger.inspect(message, session, this);
    }

    /**
     * While a call runs: a cancellation for it (even one that came first) cancels {@code cancel}.
     *
     * @return unregisters it
     */
    Cancel.Registration register(Map<String, Object> meta, Cancel cancel) {
        Object key = meta == null ? null : meta.get(META_KEY);
        if (!(key instanceof String k)) {
            return () -> {
            };
        }
        running.put(k, cancel);
        Early e;
        synchronized (early) {
            e = early.remove(k);
        }
        if (e != null && System.nanoTime() - e.at() < EARLY_NANOS) {
            cancel.cancel(why(e.reason()));
        }
        return () -> running.remove(k, cancel);
    }

    @Override
    public void cancelled(String key, String reason) {
        Cancel c = running.get(key);
        if (c == null) {
            synchronized (early) {
                early.put(key, new Early(reason, System.nanoTime()));
            }
            c = running.get(key); // registered meanwhile
            if (c == null) {
                return;
            }
        }
        c.cancel(why(reason));
    }

    private static String why(String clientReason) {
        String r = clientReason == null ? "" : clientReason.replaceAll("\\p{Cntrl}", " ").strip();
        if (r.length() > 200) {
            r = r.substring(0, 200) + "…";
        }
        return "the client cancelled the request" + (r.isEmpty() ? "" : " (" + r + ")");
    }
}
