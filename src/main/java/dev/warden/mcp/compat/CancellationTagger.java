package dev.warden.mcp.compat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import jakarta.servlet.http.HttpServletRequest;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * Client cancellation, done in front of the SDK because the SDK does not do it.
 *
 * <p><b>What the SDK does (2.1.0).</b> {@code McpServerSession.handleIncomingNotification} has no
 * handler for {@code notifications/cancelled}: it logs "No handler registered for notification method:
 * notifications/cancelled" and drops it, so the tool call it names runs on to the end. Nor does the
 * SDK hand a tool handler the JSON-RPC id of its request ({@code McpAsyncServerExchange} and
 * {@code CallToolRequest} carry none), so a handler could not be found by that id anyway.
 *
 * <p><b>Why that breaks Warden.</b> A client that gives up on a long run (a person pressing stop, a
 * client timeout) would leave the sandbox running and its slot taken until the run's own timeout.
 *
 * <p><b>The workaround.</b> Every incoming {@code tools/call} is tagged, before the SDK reads it, with
 * a key made of its transport session and its JSON-RPC id, under {@link #META_KEY} in
 * {@code params._meta} (replacing whatever the client put under that name, so a client can never name
 * another session's call); the tool handler finds the key in the request's {@code _meta}. An incoming
 * {@code notifications/cancelled} is read here too and handed to a {@link Cancellations} with the key
 * it names; the SDK still gets it and still ignores it. What a cancellation then does (stopping the
 * run, remembering one that came before its call) is Warden's, in {@code dev.warden.mcp.ClientCancels}.
 *
 * <p><b>Upstream.</b> <a href="https://github.com/modelcontextprotocol/java-sdk/issues/130">
 * modelcontextprotocol/java-sdk#130</a> ("No handler registered for notification method:
 * notifications/cancelled", open) and the open pull request
 * <a href="https://github.com/modelcontextprotocol/java-sdk/pull/803">#803</a> ("Support cancellation").
 *
 * <p><b>When to remove it.</b> When the SDK disposes a request's handler on
 * {@code notifications/cancelled} ({@code SdkCancellationTest} then fails): drop this class and let
 * the tool handler stop its run when its {@code Mono} is cancelled.
 */
public final class CancellationTagger {

    /** Where the key goes in a tools/call's {@code params._meta}. */
    public static final String META_KEY = "dev.warden/request";

    private static final String TOOLS_CALL = "tools/call";
    private static final String CANCELLED = "notifications/cancelled";

    /** What is told of a client's cancellation. */
    @FunctionalInterface
    public interface Cancellations {

        /** The client of a transport session cancelled the request with this key. */
        void cancelled(String key, String reason);
    }

    private final ObjectMapper json;
    private final Cancellations cancellations;

    public CancellationTagger(ObjectMapper json, Cancellations cancellations) {
        this.json = json;
        this.cancellations = cancellations;
    }

    /**
     * The transport session of an HTTP request, as the key's session part: the SSE session of
     * /message, or the Streamable HTTP session header.
     */
    public static String httpSession(HttpServletRequest req) {
        return req.getRequestURI().endsWith("/message") ? "sse:" + req.getParameter("sessionId")
                : "http:" + req.getHeader("mcp-session-id");
    }

    /**
     * One POSTed body from the transport session {@code session} (asked only when needed), as the SDK
     * should read it: a tools/call comes back tagged, a
     * notifications/cancelled is passed on to the {@link Cancellations} and comes back as it was, and
     * anything else (or anything that is not JSON, which the SDK answers itself) comes back untouched.
     */
    public byte[] tagBody(byte[] body, Supplier<String> session) {
        String text = new String(body, StandardCharsets.UTF_8);
        if (!text.contains(TOOLS_CALL) && !text.contains(CANCELLED)) {
            return body;
        }
        try {
            JsonNode node = json.readTree(text);
            if (inspect(node, session.get(), cancellations)) {
                return write(json, node);
            }
        }
        catch (IOException notJson) {
            // the SDK answers it with its own parse error
        }
        return body;
    }

    /**
     * Looks at one well-formed message from a transport session: a tools/call is tagged (the node is
     * changed; true is returned so the caller re-serialises it with {@link #write}), a cancellation is
     * passed on.
     */
    public static boolean inspect(JsonNode message, String session, Cancellations cancellations) {
        if (message == null || !message.isObject()) {
            return false;
        }
        String method = message.path("method").asText("");
        if (method.equals(TOOLS_CALL) && message.has("id") && message.path("params").isObject()) {
            ObjectNode params = (ObjectNode) message.get("params");
            JsonNode meta = params.get("_meta");
            ObjectNode m = meta != null && meta.isObject() ? (ObjectNode) meta : params.putObject("_meta");
            m.put(META_KEY, key(session, message.get("id")));
            return true;
        }
        if (method.equals(CANCELLED) && !message.has("id")) {
            JsonNode id = message.path("params").get("requestId");
            if (id != null && (id.isTextual() || id.isIntegralNumber())) {
                cancellations.cancelled(key(session, id), message.path("params").path("reason").asText(""));
            }
        }
        return false;
    }

    /**
     * How a tagged message is written back: everything beyond ASCII as \\u escapes, so the text the SDK
     * reads is what the client sent (an unpaired surrogate stays one, and is refused as invalid).
     */
    public static byte[] write(ObjectMapper json, JsonNode message) throws JsonProcessingException {
        return json.writer().with(JsonWriteFeature.ESCAPE_NON_ASCII).writeValueAsBytes(message);
    }

    private static String key(String session, JsonNode id) {
        return session + "\u0000" + (id.isTextual() ? "s:" + id.asText() : "n:" + id.asText());
    }
}
