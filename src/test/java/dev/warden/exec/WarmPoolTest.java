package dev.warden.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one warm pool of L1, L2 and L3: limits, reservations, order of eviction, the end of a session. */
class WarmPoolTest {

    @Test
    void reservationsCountAgainstBothLimits() {
        WarmPool<String, String> p = new WarmPool<>(3);
        assertTrue(p.reserve("a", 2, () -> true));
        assertTrue(p.reserve("a", 2, () -> true), "reserved, not yet held: the key's limit counts held ones");
        assertTrue(p.offer("a", "a1", () -> true));
        assertTrue(p.offer("a", "a2", () -> true));
        assertFalse(p.reserve("a", 2, () -> true), "the key has its two");
        assertTrue(p.reserve("b", 2, () -> true));
        assertFalse(p.reserve("c", 2, () -> true), "the pool has its three");
        p.cancelReservation();
        assertEquals(2, p.size());
        assertFalse(p.reserve("c", 2, () -> false), "not wanted");
        assertEquals(2, p.size());
    }

    @Test
    void anOfferNoLongerWantedIsRefusedAndItsRoomFreed() {
        WarmPool<String, String> p = new WarmPool<>(1);
        assertTrue(p.reserve("a", 1, () -> true));
        assertFalse(p.offer("a", "a1", () -> false));
        assertEquals(0, p.size());
        assertNull(p.take("a", x -> true, x -> { }));
    }

    @Test
    void takeSkipsTheDeadAndHandsThemBack() {
        WarmPool<String, String> p = new WarmPool<>(4);
        for (String s : List.of("dead1", "alive", "later")) {
            p.reserve("a", 4, () -> true);
            p.offer("a", s, () -> true);
        }
        List<String> discarded = new ArrayList<>();
        assertEquals("alive", p.take("a", s -> !s.startsWith("dead"), discarded::add));
        assertEquals(List.of("dead1"), discarded);
        assertEquals(1, p.size());
        assertNull(p.take("b", s -> true, discarded::add));
    }

    @Test
    void takeTakesTheBestFitAndGivesUpTheOldestWhenNoneFitsAndTheKeyIsFull() {
        WarmPool<String, String> p = new WarmPool<>(4);
        for (String s : List.of("py", "stub", "js")) {
            p.reserve("a", 3, () -> true);
            p.offer("a", s, () -> true);
        }
        List<String> discarded = new ArrayList<>();
        // a javascript call: its interpreter (2) over a plain stub (1), python's of no use (0)
        assertEquals("js", p.take("a", s -> true, s -> s.equals("js") ? 2 : s.equals("stub") ? 1 : 0, 3, discarded::add));
        assertEquals(List.of(), discarded);
        assertEquals(2, p.size());
        assertEquals("stub", p.take("a", s -> true, s -> s.equals("stub") ? 1 : 0, 3, discarded::add));
        // none fits, the key has room left: python's stays for the key's next python call
        assertNull(p.take("a", s -> true, s -> 0, 3, discarded::add));
        assertEquals(1, p.size());
        // none fits and the key is full: the oldest goes, so what the key needs now can be made
        assertNull(p.take("a", s -> true, s -> 0, 1, discarded::add));
        assertEquals(List.of("py"), discarded);
        assertEquals(0, p.size());
    }

    @Test
    void evictionGivesUpTheLeastRecentlyUsedKeyFirst() {
        WarmPool<String, String> p = new WarmPool<>(4);
        for (String k : List.of("a", "b")) {
            for (int i = 1; i <= 2; i++) {
                p.reserve(k, 2, () -> true);
                p.offer(k, k + i, () -> true);
            }
        }
        p.take("a", s -> true, s -> { }); // a used last
        assertEquals("b1", p.evictOne());
        assertEquals("b2", p.evictOne());
        assertEquals("a2", p.evictOne());
        assertNull(p.evictOne());
        assertEquals(0, p.size());
    }

    @Test
    void removeAllAndDrain() {
        WarmPool<String, String> p = new WarmPool<>(4);
        for (String k : List.of("ws1\0python", "ws1\0c", "ws2\0python")) {
            p.reserve(k, 1, () -> true);
            p.offer(k, k, () -> true);
        }
        assertEquals(List.of("ws1\0python", "ws1\0c"), p.removeAll(k -> k.startsWith("ws1\0")));
        assertEquals(1, p.size());
        p.close();
        assertTrue(p.isClosed());
        assertFalse(p.reserve("x", 1, () -> true), "closed: nothing new");
        assertEquals(List.of("ws2\0python"), p.drain());
        assertEquals(0, p.size());
    }
}
