package dev.warden.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The workspace quota with real loop mounts (needs root, mkfs.ext4 and loop devices, as Warden does). */
class VolumesIT {

    Path state;
    Path root;
    Workspaces workspaces;

    @BeforeEach
    void setUp() throws IOException {
        state = Files.createTempDirectory("warden-state-it-");
        root = Files.createTempDirectory("warden-ws-it-");
    }

    @AfterEach
    void tearDown() {
        if (workspaces != null) {
            workspaces.close();
        }
        WorkspaceDirs.delete(state);
    }

    private static boolean mounted(Path p) throws IOException {
        String at = " " + p.toRealPath() + " ";
        return Files.readAllLines(Path.of("/proc/mounts")).stream().anyMatch(l -> l.contains(at));
    }

    @Test
    void aWorkspaceIsAVolumeThatStopsWritesAtItsSize() throws IOException {
        Volumes volumes = Volumes.create(state, 16);
        assertNull(volumes.problem(), "volumes should work here: " + volumes.problem());
        workspaces = new Workspaces(root, true, 61000, CompletableFuture.completedFuture(volumes), p -> { }, p -> { });
        Workspace ws = workspaces.forSession("a");
        assertEquals(Optional.of(16), workspaces.diskMb());
        assertTrue(mounted(ws.root()), "the workspace is a mount (the volume's directory, bound)");
        IOException full = assertThrows(IOException.class, () -> {
            try (OutputStream out = Files.newOutputStream(ws.root().resolve("big"))) {
                byte[] mb = new byte[1 << 20];
                for (int i = 0; i < 64; i++) {
                    out.write(mb);
                }
            }
        });
        assertTrue(full.getMessage().contains("No space left"), full.getMessage());
        Path image = volumes.images().get(0);
        assertEquals(1, volumes.images().size());
        assertTrue(Files.size(image) >= 16L << 20); // its apparent size; on disk only what was written

        // a checkpoint and its restore happen inside the volume (renames on one filesystem)
        Files.delete(ws.root().resolve("big"));
        Files.writeString(ws.root().resolve("keep"), "before");
        Path ckpt = workspaces.checkpoint(ws, "x1", 1 << 20).orElseThrow();
        Files.writeString(ws.root().resolve("keep"), "after");
        workspaces.restore(ws, ckpt);
        assertEquals("before", Files.readString(ws.root().resolve("keep")));

        Path dir = ws.root();
        workspaces.end("a");
        assertFalse(Files.readString(Path.of("/proc/mounts")).contains(root.toRealPath().toString()),
                "nothing mounted under the root after the session's end");
        assertFalse(Files.exists(dir));
        try (var left = Files.list(root)) {
            assertEquals(List.of(), left.toList());
        }
        assertEquals(List.of(), volumes.images(), "image deleted");
    }

    @Test
    void volumesOfAWardenThatIsGoneAreRemovedAtTheNextStart() throws Exception {
        // a volume as a killed Warden leaves it: mounted, its image named after a pid that is gone
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path images = Files.createDirectories(state.resolve("volumes"));
        Path image = images.resolve("w" + gone.pid() + "-s-0123abcd.img");
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        Path vol = Files.createDirectory(root.resolve(".v-0123abcd"));
        Path at = Files.createDirectory(root.resolve("s-0123abcd"));
        assertEquals(0, new ProcessBuilder("mkfs.ext4", "-q", "-F", image.toString()).inheritIO().start().waitFor());
        assertEquals(0, new ProcessBuilder("mount", "-o", "loop", image.toString(), vol.toString()).inheritIO().start()
                .waitFor());
        assertEquals(0, new ProcessBuilder("mount", "--bind", vol.toString(), at.toString()).inheritIO().start()
                .waitFor());
        assertTrue(mounted(vol));
        assertTrue(mounted(at));
        Volumes.sweepDead();
        assertFalse(mounted(vol));
        assertFalse(mounted(at), "the bind of the workspace goes too");
        assertFalse(Files.exists(image));
    }

    @Test
    void noQuotaAskedMeansPlainDirectories() throws IOException {
        Volumes none = Volumes.create(state, 0);
        assertEquals("limits.disk_mb is 0", none.problem());
        workspaces = new Workspaces(root, true, 61000, CompletableFuture.completedFuture(none), p -> { }, p -> { });
        Workspace ws = workspaces.forSession("a");
        assertFalse(mounted(ws.root()));
        assertEquals(Optional.empty(), workspaces.diskMb());
    }
}
