package dev.warden.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableStoreTest {

    @TempDir
    Path dir;

    @Test
    void eachWorkspaceHasAUidOfItsOwnAndTheOwnersQuotaHolds() throws Exception {
        DurableStore store = new DurableStore(dir.resolve("workspaces"), 200_000, 3);
        DurableStore.Meta a = store.create("token:a", "first", 60_000, 2, OwnGroupOrRoot.gid());
        DurableStore.Meta b = store.create("token:a", null, 60_000, 2, OwnGroupOrRoot.gid());
        assertNull(store.create("token:a", null, 60_000, 2, OwnGroupOrRoot.gid()), "over the owner's quota");
        DurableStore.Meta c = store.create("local", null, 60_000, 2, OwnGroupOrRoot.gid());
        assertEquals(Set.of(200_000, 200_001, 200_002), new HashSet<>(java.util.List.of(a.uid(), b.uid(), c.uid())));
        assertTrue(DurableStore.wellFormed(a.id()));
        assertNotEquals(a.id(), b.id());
        assertEquals("first", store.find(a.id()).orElseThrow().name());
        assertTrue(Files.isDirectory(dir.resolve("workspaces").resolve(a.id()).resolve("w")));
        // every uid of the range is taken: the next is refused, not shared
        org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> store.create("token:b", null, 60_000, 2, OwnGroupOrRoot.gid()));
        store.delete(a.id());
        assertFalse(store.find(a.id()).isPresent());
        assertFalse(Files.exists(dir.resolve("workspaces").resolve(a.id())));
        assertEquals(200_000, store.create("token:b", null, 60_000, 2, OwnGroupOrRoot.gid()).uid(), "a freed uid is reused");
    }

    @Test
    void onlyMintedIdsEverReachAPath() {
        DurableStore store = new DurableStore(dir, 200_000, 3);
        for (String bad : new String[] {"../etc", "ws-../../x", "/etc/passwd", "ws-ABCDEF012345678901234567", "ws-0", "",
            "ws-000000000000000000000000/..", "ws-000000000000000000000000\n"}) {
            assertFalse(DurableStore.wellFormed(bad), bad);
            assertFalse(store.find(bad).isPresent(), bad);
        }
        assertTrue(DurableStore.wellFormed("ws-0123456789abcdef01234567"));
    }

    /** The test may run as root (CI) or not: a group this process may give files to. */
    static final class OwnGroupOrRoot {
        static int gid() {
            return (int) new com.sun.security.auth.module.UnixSystem().getGid();
        }
    }
}
