package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.approval.AgentText;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OperatorCliTest {

    private static Map<String, Object> pending() {
        AgentText t = AgentText.of("echo hi");
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("execution_id", "ex_0123456789abcdef0123");
        p.put("kind", "run_command");
        p.put("subject", t.exact());
        p.put("subject_display", t.display());
        p.put("subject_notes", t.notes());
        p.put("cwd", "/workspace");
        p.put("tier", "L2");
        p.put("reason", "held");
        p.put("findings", List.of());
        p.put("client", "claude-code/1.2");
        p.put("expires", "2026-12-02T22:50:01.123456789Z");
        return p;
    }

    @Test
    void expiryIsTimeLeftAndTheClientNamesItsSession() {
        Map<String, Object> p = pending();
        p.put("expires_at", "2026-12-02T22:50:01.123Z");
        p.put("expires_in_ms", 252_000L);
        p.put("session", "3f2a9c1b");
        p.put("client_label", "claude-code/1.2 · session 3f2a9c1b");
        String out = OperatorCli.pending(p);
        assertTrue(out.contains("  tier L2  expires in 4 min 12 s (at 2026-12-02 22:50:01 UTC)\n"), out);
        assertTrue(out.contains("    client: claude-code/1.2 · session 3f2a9c1b\n"), out);
        assertFalse(out.contains(".123456789Z"), out);
    }

    @Test
    void anOlderServersAnswerStillReads() {
        String out = OperatorCli.pending(pending());
        assertTrue(out.contains("  expires 2026-12-02T22:50:01.123456789Z\n"), out);
        assertTrue(out.contains("    client: claude-code/1.2\n"), out);
    }
}
