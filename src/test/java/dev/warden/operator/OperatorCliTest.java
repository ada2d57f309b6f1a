package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    private static Map<String, Object> kernel(String id, String name, boolean busy, boolean running, Object memoryKb) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("kernel_id", id);
        k.put("name", name);
        k.put("language", "python");
        k.put("client", "claude-code/1.2");
        k.put("session", "3f2a9c1b");
        k.put("execution_count", 12);
        k.put("running", running);
        k.put("busy", busy);
        k.put("idle_s", 75);
        k.put("memory_kb", memoryKb);
        return k;
    }

    @Test
    void kernelsAreATableWithTheirMemory() {
        String out = OperatorCli.kernels(List.of(kernel("k-1a2b3c4d", "main", false, true, 52_480),
                kernel("k-5", "data-1", true, true, 1024), kernel("k-6", "old", false, false, null)));
        String[] lines = out.split("\n");
        assertEquals(4, lines.length, out);
        assertEquals("ID          SESSION   LANGUAGE   NAME             CELLS      MEMORY IDLE         BUSY CLIENT", lines[0]);
        assertEquals("k-1a2b3c4d  3f2a9c1b  python     main                12     51.3 MB 1 min 15 s   no   claude-code/1.2",
                lines[1]);
        assertEquals("k-5         3f2a9c1b  python     data-1              12      1.0 MB -            yes  claude-code/1.2",
                lines[2], "no idle time while a cell runs");
        assertTrue(lines[3].contains(" not running "), lines[3]);
    }

    @Test
    void aClientsNameCannotBreakTheTable() {
        Map<String, Object> k = kernel("k-1", "main", false, true, 1024);
        k.put("client", "evil/1\n\u001b[2Jk-2  fake");
        String out = OperatorCli.kernels(List.of(k));
        assertEquals(2, out.split("\n").length, out);
        assertFalse(out.contains("\u001b"), out);
    }

    @Test
    void theUsageNamesTheKernelCommands() {
        assertTrue(OperatorCli.USAGE.contains("java -jar warden.jar kernels list\n"), OperatorCli.USAGE);
        assertTrue(OperatorCli.USAGE.contains("java -jar warden.jar kernels end ID\n"), OperatorCli.USAGE);
        assertTrue(OperatorCli.COMMANDS.contains("kernels"));
    }
}
