package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OperatorConsoleTest {

    private static final Instant NOW = Instant.parse("2099-12-02T22:45:49.123456789Z"); // in the future: the expiry timer is real

    private final ApprovalService approvals = new ApprovalService(Duration.ofMinutes(10), (r, ruling) -> {
    });

    /** The live kernels as the pipeline would list them; ending one takes it out. */
    private final List<Map<String, Object>> kernels = new ArrayList<>();
    private final List<String> ended = new ArrayList<>();

    @TempDir
    Path dir;

    private AuditLog audit;

    @AfterEach
    void close() throws Exception {
        approvals.close();
        if (audit != null) {
            audit.close();
        }
    }

    private OperatorConsole console(Instant now) throws Exception {
        if (audit == null) {
            audit = new AuditLog(dir.resolve("audit.jsonl"), false, new ObjectMapper());
        }
        return new OperatorConsole(approvals, new Executions(2, 2, 1000), new OperatorConsole.Kernels(
                () -> List.copyOf(kernels), id -> {
                    ended.add(id);
                    return kernels.removeIf(k -> k.get("id").equals(id));
                }), audit, new Sanitizer(List.of(), Map.of()), Clock.fixed(now, ZoneOffset.UTC));
    }

    private void kernel(String id, String session, String name, long memoryKb, long idleS) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("id", id);
        k.put("session", session);
        k.put("client", "claude-code/1.2");
        k.put("name", name);
        k.put("language", "python");
        k.put("execution_count", 3);
        k.put("running", true);
        k.put("busy", false);
        k.put("created_at", "2099-12-02T22:40:00Z");
        k.put("idle_s", idleS);
        k.put("memory_kb", memoryKb);
        kernels.add(k);
    }

    private List<Map<String, Object>> auditLines() throws Exception {
        audit.close();
        ObjectMapper json = new ObjectMapper();
        List<Map<String, Object>> lines = new ArrayList<>();
        for (String line : java.nio.file.Files.readAllLines(dir.resolve("audit.jsonl"))) {
            lines.add(json.readValue(line, new TypeReference<Map<String, Object>>() {
            }));
        }
        return lines;
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
    @SuppressWarnings("unchecked")
    void anExpiryOnAWholeSecondStillHasItsThreeDigitsOfMilliseconds() throws Exception {
        // Instant.toString drops a zero fraction ("…:30Z"): a reader parsing the documented form must not break
        // once in a thousand calls
        approvals.open(new ApprovalRequest("ex_000000000000000000b1", "s1", "c", "run_command", "echo b", null, "",
                "L2", List.of(), List.of("r"), "held", NOW.minusSeconds(60), Instant.parse("2099-12-02T22:50:30Z")));
        Map<String, Object> p = ((List<Map<String, Object>>) console(NOW).state().get("pending")).get(0);
        assertEquals("2099-12-02T22:50:30.000Z", p.get("expires_at"));
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
    @SuppressWarnings("unchecked")
    void kernelsAreListedWithTheirSessionClientAndMemory() throws Exception {
        kernel("k-1a2b3c4d", "3f2a9c1b-1111-4222-8333-444455556666", "main", 52_224, 42);
        Map<String, Object> s = console(NOW).state();
        List<Map<String, Object>> list = (List<Map<String, Object>>) s.get("kernels");
        assertEquals(1, list.size());
        Map<String, Object> k = list.get(0);
        assertEquals("k-1a2b3c4d", k.get("kernel_id"));
        assertEquals("main", k.get("name"));
        assertEquals("python", k.get("language"));
        assertEquals("3f2a9c1b", k.get("session"), "short, as for executions");
        assertEquals("claude-code/1.2 · session 3f2a9c1b", k.get("client_label"));
        assertEquals(3, k.get("execution_count"));
        assertEquals(false, k.get("busy"));
        assertEquals(52_224L, k.get("memory_kb"));
        assertEquals(42L, k.get("idle_s"));
    }

    @Test
    void aKernelsMemoryAndIdleTimeDoNotChangeTheVersionButANewKernelDoes() throws Exception {
        kernel("k-1a2b3c4d", "s1", "main", 52_224, 42);
        String v = console(NOW).version();
        kernels.clear();
        kernel("k-1a2b3c4d", "s1", "main", 99_000, 43);
        assertEquals(v, console(NOW).version());
        kernel("k-5", "s1", "other", 1, 0);
        assertFalse(v.equals(console(NOW).version()));
    }

    @Test
    void endingAKernelEndsItAndIsAudited() throws Exception {
        kernel("k-1a2b3c4d", "3f2a9c1b-1111-4222-8333-444455556666", "main", 52_224, 42);
        OperatorConsole.Answer a = console(NOW).endKernel("k-1a2b3c4d", "alice");
        assertTrue(a.ok(), a.message());
        assertEquals("kernel k-1a2b3c4d (main, python, session 3f2a9c1b) was ended", a.message());
        assertEquals(List.of("k-1a2b3c4d"), ended);
        assertTrue(kernels.isEmpty());
        Map<String, Object> line = auditLines().stream().filter(l -> "operator.end_kernel".equals(l.get("event")))
            .findFirst().orElseThrow();
        assertEquals("operator", line.get("type"));
        assertEquals("alice", line.get("by"));
        assertEquals("k-1a2b3c4d", line.get("target"));
        assertEquals("3f2a9c1b-1111-4222-8333-444455556666", line.get("session"), "whole, as in the calls' lines");
        assertEquals("main", line.get("kernel"));
        assertEquals("python", line.get("language"));
    }

    @Test
    void aMalformedOrUnknownKernelIdChangesNothing() throws Exception {
        kernel("k-1a2b3c4d", "s1", "main", 52_224, 42);
        OperatorConsole c = console(NOW);
        for (String bad : new String[] {null, "", "k-", "k-123456789", "k-1A2B", "ex_00000000000000000001", "k-1a/../x",
            " k-1a2b3c4d"}) {
            OperatorConsole.Answer a = c.endKernel(bad, "alice");
            assertEquals(400, a.code(), bad);
            assertEquals("not a kernel id: expected k- and 1 to 8 hex digits", a.message());
        }
        OperatorConsole.Answer unknown = c.endKernel("k-0badf00d", "alice");
        assertEquals(404, unknown.code());
        assertEquals("no live kernel k-0badf00d", unknown.message());
        assertEquals(List.of(), ended, "nothing was looked up to be ended");
        assertEquals(1, kernels.size());
        assertTrue(auditLines().stream().noneMatch(l -> "operator.end_kernel".equals(l.get("event"))));
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
