package dev.warden.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class WorkspaceTest {

    Workspaces workspaces;
    Workspace ws;

    @BeforeEach
    void setUp() throws Exception {
        workspaces = new Workspaces(Files.createTempDirectory("warden-ws-test-"), true, OwnGroup.gid(), p -> { }, p -> { });
        ws = workspaces.forSession("a");
        Files.createDirectories(ws.root().resolve("sub/dir"));
        Files.createSymbolicLink(ws.root().resolve("etc"), Path.of("/etc"));
        Files.createSymbolicLink(ws.root().resolve("inner"), ws.root().resolve("sub"));
    }

    @AfterEach
    void tearDown() {
        workspaces.close();
    }

    @Test
    void relativePathsInsideResolve() {
        assertEquals(Optional.of(""), ws.resolve(""));
        assertEquals(Optional.of(""), ws.resolve("."));
        assertEquals(Optional.of("sub/dir"), ws.resolve("sub/./dir/"));
        assertEquals(Optional.of("sub/new/file"), ws.resolve("sub/new/file"));
        assertEquals(Optional.of("sub/dir"), ws.resolve("inner/dir"));
    }

    @Test
    void escapesAreRefused() {
        for (String p : new String[] {"/etc", "..", "../x", "sub/../../x", "etc", "etc/passwd", "a\0b"}) {
            assertEquals(Optional.empty(), ws.resolve(p), p);
        }
    }

    @Test
    void deletionNeverFollowsLinksOutOfTheWorkspace() throws Exception {
        Path outside = Files.createTempDirectory("warden-outside-");
        Files.writeString(outside.resolve("keep.txt"), "keep");
        Files.setAttribute(outside, "unix:mode", 0755);
        Files.createSymbolicLink(ws.root().resolve("sub/dir/to-outside"), outside);
        Files.createSymbolicLink(ws.root().resolve("file-link"), outside.resolve("keep.txt"));
        Files.createDirectories(ws.root().resolve("locked/inner"));
        Files.setAttribute(ws.root().resolve("locked"), "unix:mode", 0);
        workspaces.end("a");
        assertFalse(Files.exists(ws.root()));
        assertEquals("keep", Files.readString(outside.resolve("keep.txt")));
        assertEquals(0755, (int) Files.getAttribute(outside, "unix:mode") & 07777, "no chmod through a link");
        WorkspaceDirs.delete(outside);
    }

    @Test
    void sessionsHaveSeparateDirectoriesRemovedAtTheEnd() throws Exception {
        Workspace other = workspaces.forSession("b");
        assertNotEquals(ws.root(), other.root());
        assertEquals(ws.root(), workspaces.forSession("a").root());
        assertEquals(02770, (int) Files.getAttribute(ws.root(), "unix:mode") & 07777);
        assertEquals(workspaces.gid(), (int) Files.getAttribute(ws.root(), "unix:gid"));
        workspaces.end("a");
        assertFalse(Files.exists(ws.root()));
        assertTrue(Files.exists(Path.of("/etc/passwd")), "deleting a workspace never follows its symlinks");
        assertTrue(Files.exists(other.root()));
    }

    @Test
    void aCheckpointCopiesLinksAsLinksAndARestorePutsTheTreeBack() throws Exception {
        Files.writeString(ws.root().resolve("sub/dir/file.txt"), "before");
        Files.setAttribute(ws.root().resolve("sub/dir/file.txt"), "unix:uid", 61001);
        Path checkpoint = workspaces.checkpoint(ws, "ex_t", 1 << 20).orElseThrow();
        // the link to /etc is copied as a link: nothing of /etc is in the checkpoint
        assertTrue(Files.isSymbolicLink(checkpoint.resolve("etc")));
        assertEquals(Path.of("/etc"), Files.readSymbolicLink(checkpoint.resolve("etc")));
        Files.writeString(ws.root().resolve("sub/dir/file.txt"), "after");
        Files.writeString(ws.root().resolve("new.txt"), "junk");
        workspaces.restore(ws, checkpoint);
        assertEquals("before", Files.readString(ws.root().resolve("sub/dir/file.txt")));
        assertEquals(61001, Files.getAttribute(ws.root().resolve("sub/dir/file.txt"), "unix:uid"));
        assertFalse(Files.exists(ws.root().resolve("new.txt")));
        assertEquals(workspaces.gid(), Files.getAttribute(ws.root(), "unix:gid"));
        assertEquals(02770, (Integer) Files.getAttribute(ws.root(), "unix:mode") & 07777);
        assertFalse(Files.exists(checkpoint));
    }

    @Test
    void aWorkspaceOverTheCheckpointLimitIsNotCopied() throws Exception {
        Files.write(ws.root().resolve("big.bin"), new byte[4096]);
        assertTrue(workspaces.checkpoint(ws, "ex_big", 1000).isEmpty());
        try (var s = Files.list(ws.root().getParent())) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".ckpt-")), "the partial copy is gone");
        }
    }
}
