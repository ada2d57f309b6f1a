package dev.warden.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The workspace file URIs: what Warden writes reads back the same, and what could leave the workspace is refused. */
class WorkspaceUriTest {

    @Test
    void aPathRoundTripsWithEverySegmentEncoded() {
        assertEquals("warden://workspace/ab12/out.csv", WorkspaceUri.of("ab12", "out.csv"));
        assertEquals("warden://workspace/ab12/plots/a%20b%23%3F%25.png", WorkspaceUri.of("ab12", "plots/a b#?%.png"));
        assertEquals("warden://workspace/ab12/r%C3%A9sum%C3%A9/%E2%82%AC.txt", WorkspaceUri.of("ab12", "résumé/€.txt"));
        for (String p : new String[] {"out.csv", "plots/a b#?%.png", "résumé/€.txt", ".hidden/x", "a..b/c.", "~x/y-z_"}) {
            WorkspaceUri u = WorkspaceUri.parse(WorkspaceUri.of("ab12", p));
            assertEquals("ab12", u.workspaceId());
            assertEquals(p, u.path());
        }
        assertEquals("dir/a b", WorkspaceUri.parse("warden://workspace/ab12/dir/a b").path(), "lenient on what needs no decoding");
    }

    @Test
    void dotDotAbsolutePathsAndHiddenSeparatorsAreRefused() {
        for (String uri : new String[] {
                "warden://workspace/ab12/../etc/passwd",
                "warden://workspace/ab12/a/../../x",
                "warden://workspace/ab12/%2E%2E/x",
                "warden://workspace/ab12//etc/passwd",
                "warden://workspace/ab12/%2Fetc%2Fpasswd",
                "warden://workspace/ab12/a%2f..%2f..%2fb",
                "warden://workspace/ab12/./x",
                "warden://workspace/ab12/a/",
                "warden://workspace/ab12/",
                "warden://workspace/ab12",
                "warden://workspace/../x/y",
                "warden://workspace/a.b/x",
                "warden://workspace/ab12/x%00y",
                "warden://workspace/ab12/x%zz",
                "warden://workspace/ab12/x%4",
                "warden://workspace/ab12/%ff%fe",
                "warden://workspace/ab12/x?y=1",
                "warden://workspace/ab12/x#frag",
                "file:///etc/passwd",
                "warden://other/ab12/x",
        }) {
            assertThrows(WorkspaceUri.Malformed.class, () -> WorkspaceUri.parse(uri), uri);
        }
        WorkspaceUri.Malformed e = assertThrows(WorkspaceUri.Malformed.class,
                () -> WorkspaceUri.parse("warden://workspace/ab12/../x"));
        assertTrue(e.getMessage().contains(".."), e.getMessage());
        assertThrows(WorkspaceUri.Malformed.class, () -> WorkspaceUri.of("ab12", "/etc/passwd"));
        assertThrows(WorkspaceUri.Malformed.class, () -> WorkspaceUri.of("ab12", "a/../../b"));
    }
}
