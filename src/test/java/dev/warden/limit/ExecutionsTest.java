package dev.warden.limit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.Cancel;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ExecutionsTest {

    static Executions.Running running(String id, Cancel c) {
        return new Executions.Running(id, "s", "c", "run_command", "sleep 1", "L2", Instant.now(), c);
    }

    @Test
    void theCapAdmitsThenQueuesThenRefusesWhenTheQueueIsFull() throws Exception {
        Executions ex = new Executions(1, 0, 100);
        Executions.Entry first = ex.enter(running("a", new Cancel()), q -> {
        });
        assertInstanceOf(Executions.Admitted.class, first);
        Executions.Entry second = ex.enter(running("b", new Cancel()), q -> {
        });
        assertInstanceOf(Executions.Busy.class, second, "no queue: refused at once");
        ((Executions.Admitted) first).ticket().close();
        assertInstanceOf(Executions.Admitted.class, ex.enter(running("c", new Cancel()), q -> {
        }));
    }

    @Test
    void aQueuedCallWaitsForAPlaceAndReportsItsPosition() throws Exception {
        Executions ex = new Executions(1, 1, 5000);
        Executions.Admitted first = (Executions.Admitted) ex.enter(running("a", new Cancel()), q -> {
        });
        java.util.concurrent.atomic.AtomicInteger reports = new java.util.concurrent.atomic.AtomicInteger();
        Thread release = new Thread(() -> {
            try {
                Thread.sleep(300);
            }
            catch (InterruptedException ignored) {
                // test thread
            }
            first.ticket().close();
        });
        release.start();
        Executions.Entry second = ex.enter(running("b", new Cancel()), q -> reports.incrementAndGet());
        assertInstanceOf(Executions.Admitted.class, second);
        assertTrue(reports.get() >= 1);
    }

    @Test
    void theKillSwitchStopsEverythingRunningAndRefusesNewCallsUntilOff() throws Exception {
        Executions ex = new Executions(4, 4, 1000);
        Cancel c = new Cancel();
        ex.enter(running("a", c), q -> {
        });
        ex.killSwitch(true, "alice");
        assertTrue(c.reason().contains("kill switch"));
        assertInstanceOf(Executions.Halted.class, ex.enter(running("b", new Cancel()), q -> {
        }));
        ex.killSwitch(false, "alice");
        assertInstanceOf(Executions.Admitted.class, ex.enter(running("c", new Cancel()), q -> {
        }));
    }

    @Test
    void stopCancelsOneRunAndAnUnknownIdIsRefused() throws Exception {
        Executions ex = new Executions(4, 4, 1000);
        Cancel c = new Cancel();
        Executions.Admitted a = (Executions.Admitted) ex.enter(running("a", c), q -> {
        });
        assertFalse(ex.stop("zzz", "op"));
        assertTrue(ex.stop("a", "op"));
        assertTrue(c.reason().contains("op"));
        a.ticket().close();
        assertFalse(ex.stop("a", "op"), "a finished run is no longer stoppable");
        assertEquals(0, ex.running().size());
    }

    @Test
    void aCancelHookRegisteredAfterTheStopRunsAtOnceAndAnUnregisteredOneNever() throws Exception {
        Cancel c = new Cancel();
        int[] ran = new int[2];
        AutoCloseable h = c.onCancel(() -> ran[0]++);
        h.close();
        c.cancel("x");
        c.onCancel(() -> ran[1]++);
        assertEquals(0, ran[0]);
        assertEquals(1, ran[1]);
    }
}
