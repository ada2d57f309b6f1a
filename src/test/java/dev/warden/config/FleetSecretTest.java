package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fleet on PostgreSQL forwards calls between replicas: it does not start without a real shared secret. */
class FleetSecretTest {

    @TempDir
    Path dir;

    private WardenConfig load(String yaml, Map<String, String> env) throws Exception {
        Path f = dir.resolve("warden.yaml");
        Files.writeString(f, yaml);
        return new ConfigLoader().load(f, env);
    }

    @Test
    void aFleetOnPostgresWithoutASecretIsRefused() {
        ConfigException e = assertThrows(ConfigException.class, () -> load(
                "fleet:\n  postgres:\n    url: jdbc:postgresql://db:5432/warden\n", Map.of()));
        assertTrue(e.getMessage().contains("fleet.secret needs at least 16 characters"), e.getMessage());
        assertThrows(ConfigException.class, () -> load(
                "fleet:\n  secret: short\n  postgres:\n    url: jdbc:postgresql://db:5432/warden\n", Map.of()));
    }

    @Test
    void theSecretMayComeFromTheEnvironmentAndRedisAloneNeedsNone() throws Exception {
        assertEquals("env-secret-0123456789", load("fleet:\n  postgres:\n    url: jdbc:postgresql://db:5432/warden\n",
                Map.of("WARDEN_FLEET_SECRET", "env-secret-0123456789")).fleet().secret());
        assertEquals("", load("fleet:\n  redis: redis://127.0.0.1:6379\n", Map.of()).fleet().secret());
    }
}
