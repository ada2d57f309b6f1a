package dev.warden.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SessionOwnersTest {

    @Test
    void aSessionAnswersOnlyToTheIdentityThatOpenedIt() {
        SessionOwners owners = new SessionOwners(2, 10, true, System::nanoTime);
        assertTrue(owners.open("A").isEmpty());
        owners.opened("A", "s1");
        assertTrue(owners.use("A", "s1"));
        assertFalse(owners.use("B", "s1"), "another token's request sees no such session");
        assertFalse(owners.use("A", "nope"));
        assertTrue(owners.end("s1"));
        assertFalse(owners.use("A", "s1"), "an ended session is unknown");
    }

    @Test
    void liveSessionsAreCappedPerIdentityAndInAll() {
        SessionOwners owners = new SessionOwners(2, 3, true, System::nanoTime);
        owners.open("A");
        owners.opened("A", "a1");
        owners.open("A");
        owners.opened("A", "a2");
        assertTrue(owners.open("A").orElseThrow().why().contains("max_sessions_per_client"));
        assertTrue(owners.open("B").isEmpty());
        owners.opened("B", "b1");
        assertTrue(owners.open("C").orElseThrow().why().contains("server.max_sessions"));
        owners.end("a1");
        assertTrue(owners.open("A").isEmpty());
        owners.abandoned("A");
        assertEquals(2, owners.live());
    }

    @Test
    void withoutTokensOnlyTheTotalCaps() {
        SessionOwners owners = new SessionOwners(1, 3, false, System::nanoTime);
        for (int i = 0; i < 3; i++) {
            assertTrue(owners.open("local").isEmpty());
            owners.opened("local", "s" + i);
        }
        assertTrue(owners.open("local").isPresent());
    }

    @Test
    void idleSessionsExpireAndTheirRoomIsFreed() {
        AtomicLong now = new AtomicLong();
        SessionOwners owners = new SessionOwners(1, 5, true, now::get);
        owners.open("A");
        owners.opened("A", "old");
        now.set(1_000);
        owners.open("B");
        owners.opened("B", "fresh");
        now.set(1_500);
        assertEquals(List.of("old"), owners.expire(1_000));
        assertFalse(owners.use("A", "old"));
        assertTrue(owners.open("A").isEmpty());
    }
}
