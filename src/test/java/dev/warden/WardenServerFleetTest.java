package dev.warden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.audit.AuditLog;
import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With no fleet section (the default config), nothing of the fleet starts and the audit is as it always was. */
class WardenServerFleetTest {

    @TempDir
    Path dir;

    @Test
    void theDefaultConfigStartsNoFleetAndTagsNoAuditLine() throws Exception {
        WardenConfig config = new ConfigLoader().load(null);
        assertFalse(config.fleet().enabled(), "the shipped default is a single server");
        ObjectMapper json = new ObjectMapper();
        try (AuditLog audit = new AuditLog(dir.resolve("audit.jsonl"), false, json)) {
            // no part is touched: the server parts are null, and a fleet that started would need them
            assertNull(new WardenServer().startFleet(config, null, audit, null, null, null, null, null));
            audit.append(Map.of("type", "call", "execution_id", "ex_1"));
            String line = Files.readString(dir.resolve("audit.jsonl"));
            assertFalse(line.contains("replica"), line);
        }
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("warden-fleet")),
                "no fleet thread");
    }

    @Test
    void aFleetOfRedisOnlyNamesTheReplicaOnEveryLineButStartsNoControlState() throws Exception {
        WardenConfig base = new ConfigLoader().load(null);
        WardenConfig config = new WardenConfig(base.server(), base.http(), base.operator(), base.audit(), base.limits(),
                base.rateLimits(), base.sandbox(), base.policy(), base.languages(), base.container(), base.approvals(),
                new WardenConfig.Fleet("r7", "", "", "redis://127.0.0.1:1", null, 100, 500));
        ObjectMapper json = new ObjectMapper();
        try (AuditLog audit = new AuditLog(dir.resolve("audit.jsonl"), false, json)) {
            assertNull(new WardenServer().startFleet(config, null, audit, null, null, null, null, null));
            audit.append(Map.of("ts", "2026-12-03T00:00:00Z", "type", "call"));
            assertEquals("{\"ts\":\"2026-12-03T00:00:00Z\",\"replica\":\"r7\",\"type\":\"call\"}",
                    Files.readString(dir.resolve("audit.jsonl")).strip());
        }
    }
}
