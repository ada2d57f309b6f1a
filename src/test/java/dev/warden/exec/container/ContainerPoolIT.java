package dev.warden.exec.container;

import static dev.warden.exec.host.SandboxHarness.out;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Warm containers: each serves one call of its own session, is replaced in the background, and goes with the session. */
class ContainerPoolIT {

    private static final String WHO = "import re\nprint(re.search(r'[0-9a-f]{64}', open('/proc/self/cgroup').read()).group(0))";

    private static List<String> waitFor(ContainerHarness h, int count) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        List<String> left = h.containersLeft();
        while (left.size() != count && System.nanoTime() < end) {
            Thread.sleep(200);
            left = h.containersLeft();
        }
        return left;
    }

    @Test
    void aWarmContainerServesExactlyOneCallAndIsReplaced() throws Exception {
        try (ContainerHarness h = new ContainerHarness("{python: 1}")) {
            h.require("python");
            h.runtime.prewarm(h.workspace, "python", 1);
            assertEquals(1, h.containersLeft().size(), "one warm container waits for the session");
            String first = out(h.run("python", WHO)).strip();
            List<String> after = waitFor(h, 1);
            assertEquals(1, after.size(), "the used one is removed and one fresh one is made: " + after);
            String second = out(h.run("python", WHO)).strip();
            assertEquals(64, first.length(), first);
            assertNotEquals(first, second, "never the same container twice");
            h.runtime.forget(h.workspace);
            assertEquals(List.of(), h.awaitNoContainers(), "the session's end takes its warm containers");
        }
    }

    @Test
    void aWarmContainerSeesOnlyItsOwnSessionsWorkspace() throws Exception {
        try (ContainerHarness h = new ContainerHarness("{python: 0}")) {
            h.require("python");
            java.nio.file.Path other = h.root.resolve("other-session");
            dev.warden.session.WorkspaceDirs.create(other, h.config.sandbox().gid());
            java.nio.file.Files.writeString(other.resolve("secret.txt"), "OTHER-SESSION");
            h.runtime.prewarm(h.workspace, "python", 1);
            ExecOutcome o = h.run("python", "import os\nprint(sorted(os.listdir('/workspace')))\nprint(os.path.exists('/workspace/../other-session'))");
            assertEquals("[]\nFalse\n", out(o));
            h.runtime.forget(h.workspace);
        }
    }

    @Test
    void aCommandRoutedToL3RunsInTheBashImage() throws Exception {
        try (ContainerHarness h = new ContainerHarness("{bash: 0}")) {
            h.require("bash");
            ExecOutcome o = h.runtime.executor().run(new ExecRequest(List.of("/bin/sh", "-c", "echo in $(hostname); id -u"),
                    h.workspace, "", "".getBytes(StandardCharsets.UTF_8), Map.of()), h.limits("bash", 10_000));
            assertEquals("in sandbox\n" + h.config.container().uid() + "\n", out(o));
        }
    }

    @Test
    void nothingARunPrintsIsLoggedOnTheHost() throws Exception {
        try (ContainerHarness h = new ContainerHarness("{python: 0}")) {
            h.require("python");
            h.runtime.prewarm(h.workspace, "python", 1);
            List<String> names = h.containersLeft();
            assertEquals(1, names.size());
            Process p = new ProcessBuilder("docker", "inspect", "-f", "{{.HostConfig.LogConfig.Type}}", names.get(0)).start();
            assertEquals("none", new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip(),
                    "no log driver copies the output onto the host's disk");
            h.runtime.forget(h.workspace);
            assertTrue(h.awaitNoContainers().isEmpty());
        }
    }

    @Test
    void leftoversOfADeadWardenAreRemovedAtStart() throws Exception {
        // a pid that is no process: what a crashed Warden leaves looks like this
        String deadPid = "4194300";
        assertTrue(java.util.Optional.empty().equals(ProcessHandle.of(Long.parseLong(deadPid))));
        Process create = new ProcessBuilder("docker", "create", "--label", "dev.warden=1", "--label",
                "dev.warden.pid=" + deadPid, "--name", "warden-" + deadPid + "-1", "warden/bash", "true")
            .redirectErrorStream(true).start();
        String out = new String(create.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, create.waitFor(), out);
        java.nio.file.Path group = java.nio.file.Path.of("/sys/fs/cgroup/memory/warden-l3/warden-" + deadPid + "-1");
        java.nio.file.Files.createDirectories(group);
        try (ContainerHarness h = new ContainerHarness("{python: 0}")) {
            h.require("python");
            h.run("python", "print(1)"); // the engine is set up by now
            Process ps = new ProcessBuilder("docker", "ps", "-a", "-q", "--filter", "label=dev.warden.pid=" + deadPid).start();
            assertEquals("", new String(ps.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip(),
                    "the dead Warden's container is removed");
            assertTrue(!java.nio.file.Files.exists(group), "and its cgroup");
        }
        finally {
            new ProcessBuilder("docker", "rm", "-f", "warden-" + deadPid + "-1").start().waitFor();
            if (java.nio.file.Files.exists(group)) {
                java.nio.file.Files.delete(group);
            }
        }
    }
}
