package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One config file for every replica of a StatefulSet: each pod names itself, says where it is reached and gets the
 * fleet secret through WARDEN_REPLICA_ID, WARDEN_ADVERTISE_URL and WARDEN_FLEET_SECRET, which win over the file.
 */
class FleetEnvironmentTest {

    @TempDir
    Path dir;

    @Test
    void theFleetVariablesWinOverTheFile() throws Exception {
        Path f = dir.resolve("warden.yaml");
        Files.writeString(f, "fleet:\n  replica_id: from-file\n  advertise_url: http://file:1\n  secret: file-secret-0123456789\n"
                + "  postgres:\n    url: jdbc:postgresql://db:5432/warden\n");
        WardenConfig.Fleet fleet = new ConfigLoader().load(f, Map.of("WARDEN_REPLICA_ID", "warden-2",
                "WARDEN_ADVERTISE_URL", " http://warden-2.warden-replicas.warden.svc:8765 ",
                "WARDEN_FLEET_SECRET", "env-secret-0123456789")).fleet();
        assertEquals("warden-2", fleet.replicaId());
        assertEquals("http://warden-2.warden-replicas.warden.svc:8765", fleet.advertiseUrl());
        assertEquals("env-secret-0123456789", fleet.secret());
        assertEquals("jdbc:postgresql://db:5432/warden", fleet.postgres().url());
    }

    @Test
    void blankOrAbsentVariablesLeaveTheFileAndTheSingleServerAlone() throws Exception {
        Path f = dir.resolve("warden.yaml");
        Files.writeString(f, "fleet:\n  replica_id: from-file\n");
        WardenConfig.Fleet fleet = new ConfigLoader().load(f, Map.of("WARDEN_REPLICA_ID", "  ")).fleet();
        assertEquals("from-file", fleet.replicaId());
        WardenConfig.Fleet single = new ConfigLoader().load(null, Map.of("WARDEN_REPLICA_ID", "r1")).fleet();
        assertEquals("r1", single.replicaId());
        assertFalse(single.enabled(), "a replica id alone does not make a fleet");
    }
}
