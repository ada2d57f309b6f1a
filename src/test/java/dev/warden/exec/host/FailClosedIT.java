package dev.warden.exec.host;

import dev.warden.exec.ExecOutcome;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Without its engine the sandbox refuses; it never runs the program some other way. */
class FailClosedIT {

    @Test
    void missingBubblewrapRefusesEveryRun() throws IOException {
        Path cfg = Files.createTempFile("warden-nobwrap-", ".yaml");
        Files.writeString(cfg, "sandbox:\n  bwrap: /nonexistent/bwrap\n");
        WardenConfig config = new ConfigLoader().load(cfg);
        String marker = "/tmp/warden-failclosed-" + System.nanoTime();
        try (SandboxHarness h = new SandboxHarness(config)) {
            ExecOutcome o = h.sandbox(5_000, "/usr/bin/touch", marker);
            ExecOutcome.Refused r = assertInstanceOf(ExecOutcome.Refused.class, o);
            assertTrue(r.reason().contains("bubblewrap"), r.reason());
            assertInstanceOf(ExecOutcome.Refused.class, h.inline(5_000, "/usr/bin/touch", marker));
            assertTrue(!Files.exists(Path.of(marker)), "ran unconfined");
        }
        finally {
            Files.deleteIfExists(cfg);
        }
    }
}
