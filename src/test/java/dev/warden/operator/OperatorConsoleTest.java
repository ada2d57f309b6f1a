package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.ApprovalService;
import dev.warden.audit.AuditLog;
import dev.warden.limit.Executions;
import dev.warden.sanitize.Sanitizer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OperatorConsoleTest {

    private static final Instant NOW = Instant.parse("2099-12-02T22:45:49.123456789Z"); // in the future: the expiry timer is real

    private final ApprovalService approvals = new ApprovalService(Duration.ofMinutes(10), (r, ruling) -> {
    });

    @TempDir
    Path dir;

    @AfterEach
    void close() {
        approvals.close();
    }

    private OperatorConsole console(Instant now) throws Exception {
        return new OperatorConsole(approvals, new Executions(2, 2, 1000), new AuditLog(dir.resolve("audit.jsonl"), false,
                new ObjectMapper()), new Sanitizer(List.of(), Map.of()), Clock.fixed(now, ZoneOffset.UTC));
    }

    private void hold(String id, String session) {
        approvals.open(new ApprovalRequest(id, session, "claude-code/1.2", "run_command", "echo <b>" + id, null, "",
                "L2", List.of(), List.of("r"), "held", NOW.minusSeconds(60), NOW.plusSeconds(252).plusNanos(400_000_000)));
    }

    @Test
    @SuppressWarnings("unchecked")
    void pendingCallsSayWhoAskedAndHowLongIsLeft() throws Exception {
        hold("ex_000000000000000000a1", "3f2a9c1b-1111-4222-8333-444455556666");
        hold("ex_000000000000000000a2", "77d0e4aa-1111-4222-8333-444455556666");
        Map<String, Object> s = console(NOW).state();
        List<Map<String, Object>> pending = (List<Map<String, Object>>) s.get("pending");
        assertEquals(2, pending.size());
        Map<String, Object> a = pending.stream().filter(p -> p.get("execution_id").equals("ex_000000000000000000a1"))
            .findFirst().orElseThrow();
        assertEquals("2099-12-02T22:50:01.523456789Z", a.get("expires"), "kept as it was");
        assertEquals("2099-12-02T22:50:01.523Z", a.get("expires_at"));
        assertEquals(252_400L, a.get("expires_in_ms"));
        assertEquals("3f2a9c1b", a.get("session"));
        assertEquals("claude-code/1.2 · session 3f2a9c1b", a.get("client_label"));
        assertEquals("claude-code/1.2", a.get("client"), "kept as it was");
        assertTrue(pending.stream().anyMatch(p -> "claude-code/1.2 · session 77d0e4aa".equals(p.get("client_label"))));
    }

    @Test
    void theVersionChangesWithTheStateNotWithTheClock() throws Exception {
        hold("ex_000000000000000000a1", "s1");
        String v = console(NOW).version();
        assertEquals(v, console(NOW.plusSeconds(30)).version());
        hold("ex_000000000000000000a2", "s1");
        assertFalse(v.equals(console(NOW).version()));
    }

    @Test
    void shortSessions() {
        assertEquals("3f2a9c1b", OperatorConsole.shortSession("3f2a9c1b-1111-4222-8333-444455556666"));
        assertEquals("3f2a9c1b", OperatorConsole.shortSession("sse-3f2a9c1b-1111-4222-8333-444455556666"));
        assertEquals("abc", OperatorConsole.shortSession("abc"));
        assertEquals("\\u202E1234567", OperatorConsole.shortSession("\u202E12345678"));
        assertNull(OperatorConsole.shortSession(null));
        assertNull(OperatorConsole.shortSession(" "));
    }
}
