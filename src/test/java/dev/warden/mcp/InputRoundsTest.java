package dev.warden.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.ApprovalRequest;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The rounds of a held call in the 2026-07-28 era: question, answer, result; who may answer; how long it is kept. */
class InputRoundsTest {

    private final ObjectMapper json = new ObjectMapper();
    private final AtomicLong now = new AtomicLong(1_000);
    private final InputRounds rounds = new InputRounds(json, now::get);

    private static ApprovalRequest request(String command) {
        return new ApprovalRequest("ex_r", "s", "t/1", "run_command", command, null, "", "L2", List.of(), List.of(),
                null, java.time.Instant.now(), java.time.Instant.now().plusSeconds(60));
    }

    @Test
    void aQuestionEndsTheRoundAndTheAnswerReachesTheWaitingPipeline() throws Exception {
        InputRounds.Conversation c = rounds.open("local", "run_command", Map.of("command", "x"), "user of t/1");
        CompletableFuture<McpSchema.CallToolResult> result = new CompletableFuture<>();
        c.running(result);
        CompletableFuture<String> asked = CompletableFuture.supplyAsync(() -> c.ask(request("echo run-x"), Duration.ofSeconds(10)));
        c.round().get(5, TimeUnit.SECONDS);
        assertFalse(result.isDone());
        assertTrue(c.question().contains("echo run-x"), "the question shows the command");
        assertSame(c, rounds.find(c.ticket, "local").orElseThrow());
        assertTrue(rounds.find(c.ticket, "token:other").isEmpty(), "another identity's ticket is unknown");
        assertTrue(rounds.find("t-nope", "local").isEmpty());
        c.answered("approve_once");
        assertEquals("approve_once", asked.get(5, TimeUnit.SECONDS));
        CompletableFuture<Object> next = c.round();
        assertFalse(next.isDone(), "the next round waits for the result");
        McpSchema.CallToolResult done = McpSchema.CallToolResult.builder().content(List.of()).isError(false).build();
        result.complete(done);
        assertSame(done, next.get(5, TimeUnit.SECONDS));
    }

    @Test
    void noAnswerInTimeIsNoDecision() {
        InputRounds.Conversation c = rounds.open("local", "run_command", Map.of(), "user");
        assertNull(c.ask(request("q"), Duration.ofMillis(50)));
    }

    @Test
    void aFinishedCallIsForgottenAfterTheGrace() {
        InputRounds.Conversation c = rounds.open("local", "run_command", Map.of(), "user");
        CompletableFuture<McpSchema.CallToolResult> result = new CompletableFuture<>();
        c.running(result);
        c.question();
        assertEquals(1, rounds.live());
        result.complete(McpSchema.CallToolResult.builder().content(List.of()).build());
        now.addAndGet(InputRounds.GRACE_NANOS - 1);
        assertTrue(rounds.find(c.ticket, "local").isPresent(), "a retry on its way still finds the result");
        now.addAndGet(2);
        assertTrue(rounds.find(c.ticket, "local").isEmpty());
        assertEquals(0, rounds.live());
    }

    @Test
    void theDigestIgnoresKeyOrderButNotValues() {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("command", "echo a");
        a.put("timeout_ms", 5);
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("timeout_ms", 5);
        b.put("command", "echo a");
        assertEquals(rounds.digest(a), rounds.digest(b));
        assertNotEquals(rounds.digest(a), rounds.digest(Map.of("command", "echo b", "timeout_ms", 5)));
        assertEquals(rounds.digest(null), rounds.digest(Map.of()));
    }

    @Test
    void theStateNamesTicketAndDigestOnly() {
        InputRounds.Conversation c = rounds.open("local", "run_command", Map.of("command", "x"), "user");
        String[] parts = InputRounds.parse(json, InputRounds.state(json, c));
        assertEquals(c.ticket, parts[0]);
        assertEquals(c.digest, parts[1]);
        assertNull(InputRounds.parse(json, "not json"));
        assertNull(InputRounds.parse(json, "{\"ticket\":\"t\"}"));
    }
}
