package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {

    private static Path yaml(String text) throws Exception {
        Path p = Files.createTempFile("warden-config-test-", ".yaml");
        Files.writeString(p, text);
        p.toFile().deleteOnExit();
        return p;
    }

    @Test
    void builtInDefaultsLoad() {
        WardenConfig c = new ConfigLoader().load(null);
        assertEquals(30000, c.limits().timeoutMs());
        assertTrue(c.languages().containsKey("python"));
        assertEquals("", c.policy().file());
    }

    @Test
    void operatorFileOverridesOnlyWhatItNames() throws Exception {
        WardenConfig c = new ConfigLoader().load(yaml("limits:\n  memory_mb: 256\n"));
        assertEquals(256, c.limits().memoryMb());
        assertEquals(64, c.limits().pids());
    }

    @Test
    void unknownKeyIsRefused() throws Exception {
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("limits:\n  memroy_mb: 1\n")));
        assertTrue(e.getMessage().contains("memroy_mb"), e.getMessage());
    }

    @Test
    void outOfRangeValuesAreRefused() throws Exception {
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("sandbox:\n  uid_base: 0\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("limits:\n  timeout_ms: 999999\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("http:\n  tokens: [short]\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("languages:\n  x:\n    command: [python3, '{code}']\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("- not a mapping\n")));
    }
}
