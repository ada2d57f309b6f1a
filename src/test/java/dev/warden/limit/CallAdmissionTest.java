package dev.warden.limit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CallAdmissionTest {

    @Test
    void aClientOverItsShareIsRefusedWhileOthersAreLetIn() {
        CallAdmission door = new CallAdmission(3, 5);
        List<CallAdmission.Permit> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(door.enter("a").orElseThrow());
        }
        assertTrue(door.enter("a").isEmpty());
        assertTrue(door.refusal("a").why().contains("max_calls_per_client"));
        held.add(door.enter("b").orElseThrow());
        held.add(door.enter("c").orElseThrow());
        assertTrue(door.enter("d").isEmpty(), "the total cap holds too");
        assertTrue(door.refusal("d").why().contains("limits.max_calls"));
        held.get(0).close();
        held.get(0).close(); // a second close frees nothing more
        assertEquals(4, door.inFlight());
        assertTrue(door.enter("a").isPresent());
    }
}
