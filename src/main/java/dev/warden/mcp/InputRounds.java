package dev.warden.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.Prompter;
import dev.warden.exec.Cancel;
import io.modelcontextprotocol.modern.server.McpAsyncNotifier;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * The calls of the 2026-07-28 era that wait for a person, between their rounds.
 *
 * <p>That revision has no server-to-client requests: a call that needs the user's answer ends its
 * round with an {@code input_required} result (the question, and an opaque {@code requestState}),
 * and the client calls again with the answer. Warden's pipeline, shared with the 2025-11-25 era, asks
 * through a {@link Prompter} and blocks until it hears back; so a call here keeps running on its own
 * thread across rounds, and its {@link Conversation} is the prompter: a question it is asked ends the
 * current round, the next round's answer is handed to the waiting pipeline, and the round after that
 * ends with the call's result (or the next question). Nothing of the call is rebuilt from what the
 * client sends back: the held call, its arguments and the approval request stay in this process.
 *
 * <p>The request state names the conversation ({@code ticket}, 128 random bits) and the digest of the
 * call's arguments; the SDK's HMAC codec seals it, bound to the client identity, the method and the
 * tool, so a state that was altered, is another identity's or another tool's, or has expired is refused
 * by the SDK before Warden sees it. A retry whose arguments differ from the held call's is refused
 * here: an approval covers the call it was asked for, never a substitute.
 */
final class InputRounds {

    /** The key of Warden's one input request, the approval form, in {@code inputRequests}/{@code inputResponses}. */
    static final String APPROVAL = "warden_approval";

    /** How long a finished call's result waits for a retry that was already on its way. */
    static final long GRACE_NANOS = TimeUnit.SECONDS.toNanos(60);

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Map<String, Conversation> live = new ConcurrentHashMap<>();
    private final ObjectMapper canonical;
    private final LongSupplier nanos;

    InputRounds(ObjectMapper json, LongSupplier nanos) {
        this.canonical = json.copy().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);
        this.nanos = nanos;
    }

    /** A new call of {@code owner}: its conversation, known by ticket once it asks a question. */
    Conversation open(String owner, String tool, Map<String, Object> arguments, String approver) {
        purge();
        byte[] t = new byte[16];
        RANDOM.nextBytes(t);
        return new Conversation("t-" + HexFormat.of().formatHex(t), owner, tool, digest(arguments), approver);
    }

    /** The live conversation a (verified) request state names, if it is this owner's and still there. */
    Optional<Conversation> find(String ticket, String owner) {
        purge();
        Conversation c = ticket == null ? null : live.get(ticket);
        return c != null && c.owner.equals(owner) ? Optional.of(c) : Optional.empty();
    }

    int live() {
        return live.size();
    }

    /** The arguments' fingerprint: SHA-256 of their JSON with object keys sorted. */
    String digest(Map<String, Object> arguments) {
        try {
            byte[] text = canonical.writeValueAsBytes(arguments == null ? Map.of() : arguments);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text));
        }
        catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot fingerprint the arguments", e);
        }
    }

    private void purge() {
        long now = nanos.getAsLong();
        live.values().removeIf(c -> c.endedAt != 0 && now - c.endedAt > GRACE_NANOS);
    }

    /** One call across its rounds; the prompter its pipeline asks. */
    final class Conversation implements Prompter {

        final String ticket;
        final String owner;
        final String tool;
        final String digest;
        private final String approver;
        /** The question of the current round: completed (with the message) when the pipeline asks. */
        private volatile CompletableFuture<String> asked = new CompletableFuture<>();
        /** Where the pipeline waits for the answer to its current question. */
        private volatile CompletableFuture<String> answer = new CompletableFuture<>();
        private volatile CompletableFuture<McpSchema.CallToolResult> result;
        private volatile long endedAt;
        /** Where progress goes: the stream of the round under way. */
        final AtomicReference<McpAsyncNotifier> notifier = new AtomicReference<>();
        /** Stops the call's run when the client abandons a round. */
        final Cancel cancel = new Cancel();

        private Conversation(String ticket, String owner, String tool, String digest, String approver) {
            this.ticket = ticket;
            this.owner = owner;
            this.tool = tool;
            this.digest = digest;
            this.approver = approver;
        }

        /** The call's answer, once it is running: from then on it may end a round. */
        void running(CompletableFuture<McpSchema.CallToolResult> call) {
            this.result = call;
            call.whenComplete((r, e) -> endedAt = Math.max(1, nanos.getAsLong()));
        }

        CompletableFuture<McpSchema.CallToolResult> result() {
            return result;
        }

        /** What ends the current round first: the call's result, or the question the pipeline asks. */
        CompletableFuture<Object> round() {
            return CompletableFuture.anyOf(result, asked);
        }

        /** The question of this round, now known by its ticket until the call has ended and the grace passed. */
        String question() {
            live.put(ticket, this);
            return asked.getNow(null);
        }

        /** The client's answer to this round's question; the next round starts. */
        void answered(String decision) {
            CompletableFuture<String> waiting = answer;
            answer = new CompletableFuture<>();
            asked = new CompletableFuture<>();
            waiting.complete(decision);
        }

        @Override
        public String ask(ApprovalRequest request, Duration timeout) {
            CompletableFuture<String> a = answer;
            asked.complete(request.describe());
            try {
                return a.get(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
            }
            catch (TimeoutException e) {
                return null; // nobody came back with an answer: the approval's own expiry denies it
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "error";
            }
            catch (ExecutionException e) {
                return "error";
            }
        }

        @Override
        public String approver() {
            return approver;
        }
    }

    /** The plain text of a request state: {@code ticket} and the argument digest, as JSON. */
    static String state(ObjectMapper json, Conversation c) {
        try {
            return json.writeValueAsString(Map.of("ticket", c.ticket, "arguments", c.digest));
        }
        catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A request state's parts, or null if it is not one of Warden's (it was sealed by this server, so never). */
    static String[] parse(ObjectMapper json, String state) {
        try {
            var node = json.readTree(state.getBytes(StandardCharsets.UTF_8));
            String t = node.path("ticket").asText(null);
            String d = node.path("arguments").asText(null);
            return t == null || d == null ? null : new String[] { t, d };
        }
        catch (java.io.IOException e) {
            return null;
        }
    }
}
