package dev.warden.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.ConfigLoader;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ToolArgumentsTest {

    final ToolArguments args = new ToolArguments(new ConfigLoader().load(null).limits());

    private String invalid(Map<String, Object> a, boolean code) {
        return assertThrows(InvalidArguments.class, () -> {
            if (code) {
                args.executeCode(a);
            }
            else {
                args.runCommand(a);
            }
        }).getMessage();
    }

    @Test
    void wellFormedArgumentsPass() throws Exception {
        var c = args.runCommand(Map.of("command", "ls", "timeout_ms", 500, "env", Map.of("A", "b")));
        assertEquals("ls", c.command());
        assertEquals(500L, c.timeoutMs());
        var e = args.executeCode(Map.of("language", "python", "code", "print(1)", "timeout_ms", 1000.0));
        assertEquals(1000L, e.timeoutMs());
    }

    @Test
    void wrongTypesAreNamed() {
        assertTrue(invalid(Map.of("command", 5), false).contains("command must be a string, not a number"));
        assertTrue(invalid(Map.of("command", "ls", "timeout_ms", "5"), false).contains("whole number"));
        assertTrue(invalid(Map.of("command", "ls", "timeout_ms", 1.5), false).contains("whole number"));
        assertTrue(invalid(Map.of("command", "ls", "env", List.of()), false).contains("object"));
        assertTrue(invalid(Map.of("command", "ls", "env", Map.of("A", 1)), false).contains("must be a string"));
        assertTrue(invalid(Map.of("language", true, "code", "x"), true).contains("language must be a string"));
    }

    @Test
    void missingEmptyUnknownAndHugeAreRefused() {
        assertTrue(invalid(Map.of(), false).contains("command is required"));
        assertTrue(invalid(Map.of("command", "   "), false).contains("empty"));
        assertTrue(invalid(Map.of("command", "ls", "sandbox", false), false).contains("unknown argument"));
        assertTrue(invalid(Map.of("language", "python", "code", ""), true).contains("empty"));
        assertTrue(invalid(Map.of("language", "python", "code", "x".repeat(200_000)), true).contains("limit"));
        Map<String, Object> files = new HashMap<>();
        for (int i = 0; i < 300; i++) {
            files.put("f" + i, "x");
        }
        assertTrue(invalid(Map.of("language", "python", "code", "1", "files", files), true).contains("entries"));
    }

    @Test
    void unpairedSurrogatesAndNulAreRefused() {
        assertTrue(invalid(Map.of("command", "echo \uD800"), false).contains("Unicode"));
        assertTrue(invalid(Map.of("command", "echo a\0b"), false).contains("NUL"));
        assertTrue(invalid(Map.of("language", "python", "code", "print('\uDC00')"), true).contains("Unicode"));
    }
}
