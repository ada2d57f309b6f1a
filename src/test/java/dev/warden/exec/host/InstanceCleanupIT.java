package dev.warden.exec.host;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A process that outlived its server (forked just as the server was killed, before it could tie its
 * life to its parent's) sits in one of that server's slot groups. The next server to start kills it
 * (the dead server's index, swept under its lease, and its own index, whatever the slot), and a
 * server that stops kills whatever is still in its own groups.
 */
class InstanceCleanupIT {

    private static final Path ROOT = Path.of("/sys/fs/cgroup");
    private static final List<String> HIERARCHIES = List.of("memory", "pids", "cpuacct", "unified");

    private static WardenConfig config(String cgroupName) throws IOException {
        Path cfg = Files.createTempFile("warden-cleanup-", ".yaml");
        try {
            Files.writeString(cfg, "sandbox:\n  cgroup_name: " + cgroupName + "\n");
            return new ConfigLoader().load(cfg);
        }
        finally {
            Files.deleteIfExists(cfg);
        }
    }

    /** A host process placed in group {@code sub} of every hierarchy, as a run's would be. */
    private static Process orphanIn(String sub) throws IOException {
        Process p = new ProcessBuilder("sleep", "1000").start();
        for (String h : HIERARCHIES) {
            Path dir = ROOT.resolve(h).resolve(sub);
            if (!Files.isDirectory(ROOT.resolve(h))) {
                continue;
            }
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("cgroup.procs"), Long.toString(p.pid()));
        }
        return p;
    }

    private static boolean gone(Process p) throws InterruptedException {
        return p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Test
    void aDeadServersLeftoversAreKilledAtTheNextStart() throws Exception {
        String name = "warden-cleanup-" + ProcessHandle.current().pid();
        // index 60: no server of this name holds it (a live server's index is never swept)
        Process orphan = orphanIn(name + "/i60/slot-3");
        try (SandboxHarness h = new SandboxHarness(config(name))) {
            assertTrue(gone(orphan), "the orphan in a dead instance's slot is still alive");
            assertFalse(Files.exists(ROOT.resolve("memory").resolve(name).resolve("i60")), "its groups are still there");
        }
        finally {
            orphan.destroyForcibly();
        }
    }

    @Test
    void aStoppingServerKillsWhatIsLeftInItsGroups() throws Exception {
        String name = "warden-cleanup-stop-" + ProcessHandle.current().pid();
        Process orphan;
        try (SandboxHarness h = new SandboxHarness(config(name))) {
            Path mine;
            try (var dirs = Files.list(ROOT.resolve("memory").resolve(name))) {
                mine = dirs.filter(d -> d.getFileName().toString().matches("i\\d+")).findFirst().orElseThrow();
            }
            // a group beyond the configured slots, as a server with more slots would have left
            orphan = orphanIn(name + "/" + mine.getFileName() + "/slot-99");
        }
        try {
            assertTrue(gone(orphan), "a process in the stopped server's groups is still alive");
            assertFalse(Files.exists(ROOT.resolve("memory").resolve(name)), "the server's groups are still there");
        }
        finally {
            orphan.destroyForcibly();
        }
    }
}
