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

    /** A call its client cancels while it waits leaves the queue at once, not when a place frees up (or never). */
    @Test
    void aQueuedCallThatIsCancelledLeavesTheQueueAtOnce() throws Exception {
        Executions ex = new Executions(1, 4, 30_000);
        Executions.Admitted first = (Executions.Admitted) ex.enter(running("a", new Cancel()), q -> {
        });
        Cancel c = new Cancel();
        Thread cancel = new Thread(() -> {
            try {
                Thread.sleep(300);
            }
            catch (InterruptedException ignored) {
                // test thread
            }
            c.cancel("the client cancelled the request");
        });
        long t0 = System.nanoTime();
        cancel.start();
        Executions.Entry second = ex.enter(running("b", c), q -> {
        });
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertInstanceOf(Executions.Cancelled.class, second);
        assertTrue(ms < 5_000, "left after " + ms + " ms, with the place still taken");
        assertEquals(0, ex.queued(), "nothing left in the queue");
        first.ticket().close();
        assertInstanceOf(Executions.Admitted.class, ex.enter(running("c", new Cancel()), q -> {
        }), "the place it never took is free for the next");
        Executions full = new Executions(1, 4, 30_000);
        full.enter(running("d", new Cancel()), q -> {
        });
        assertInstanceOf(Executions.Cancelled.class, full.enter(running("e", c), q -> {
        }), "a call cancelled before it queues does not wait either");
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

    @Test
    void oneIdentityCannotHoldEveryPlaceSoAnotherStartsAtOnce() throws Exception {
        Executions ex = new Executions(4, 2, 8, 4, 5000);
        for (int i = 0; i < 2; i++) {
            assertInstanceOf(Executions.Admitted.class, ex.enter(running("a" + i, new Cancel()), "flood", q -> {
            }));
        }
        // the flooding identity's third call must wait although places are free...
        java.util.concurrent.CompletableFuture<Executions.Entry> third = java.util.concurrent.CompletableFuture
            .supplyAsync(() -> {
                try {
                    return ex.enter(running("a2", new Cancel()), "flood", q -> {
                    });
                }
                catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
        Thread.sleep(100);
        assertFalse(third.isDone(), "over its share, a call of the flooding identity waits");
        // ...while another identity gets a place without waiting
        long t0 = System.nanoTime();
        assertInstanceOf(Executions.Admitted.class, ex.enter(running("b", new Cancel()), "other", q -> {
        }));
        assertTrue(System.nanoTime() - t0 < 50_000_000L);
        assertEquals(1, ex.queued());
    }

    @Test
    void anIdentityOverItsShareOfTheQueueIsRefusedAtOnce() throws Exception {
        Executions ex = new Executions(1, 1, 8, 1, 5000);
        Executions.Admitted held = (Executions.Admitted) ex.enter(running("a", new Cancel()), "flood", q -> {
        });
        Thread waiter = new Thread(() -> {
            try {
                ex.enter(running("a1", new Cancel()), "flood", q -> {
                });
            }
            catch (InterruptedException ignored) {
                // test end
            }
        });
        waiter.start();
        while (ex.queued() < 1) {
            Thread.sleep(5);
        }
        Executions.Entry refused = ex.enter(running("a2", new Cancel()), "flood", q -> {
        });
        assertInstanceOf(Executions.Busy.class, refused);
        assertTrue(((Executions.Busy) refused).why().contains("share"));
        held.ticket().close();
        waiter.join(2000);
    }

    @Test
    void freedPlacesGoToWaitingIdentitiesInTurn() throws Exception {
        Executions ex = new Executions(1, 1, 16, 8, 10_000);
        Executions.Admitted first = (Executions.Admitted) ex.enter(running("x", new Cancel()), "x", q -> {
        });
        java.util.List<String> order = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.List<Thread> threads = new java.util.ArrayList<>();
        // identity a queues three calls, then b one: b must not wait behind all of a's
        for (String who : java.util.List.of("a", "a", "a", "b")) {
            Thread t = new Thread(() -> {
                try {
                    Executions.Entry e = ex.enter(running(who + System.nanoTime(), new Cancel()), who, q -> {
                    });
                    order.add(who);
                    ((Executions.Admitted) e).ticket().close();
                }
                catch (InterruptedException ignored) {
                    // test end
                }
            });
            threads.add(t);
            t.start();
            int before = threads.size();
            while (ex.queued() < before) {
                Thread.sleep(5);
            }
        }
        first.ticket().close();
        for (Thread t : threads) {
            t.join(5000);
        }
        assertEquals(java.util.List.of("a", "b", "a", "a"), order);
    }

    @Test
    void aPlaceFreedByShutdownIsNotHandedToAWaitingCall() throws Exception {
        Executions ex = new Executions(1, 1, 16, 8, 10_000);
        Cancel running = new Cancel();
        Executions.Admitted first = (Executions.Admitted) ex.enter(running("a", running), "a", q -> {
        });
        // the run ends when it is stopped, as a killed process does: its place is freed at once
        running.onCancel(() -> first.ticket().close());
        java.util.concurrent.CompletableFuture<Executions.Entry> waiting = new java.util.concurrent.CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                waiting.complete(ex.enter(running("b", new Cancel()), "b", q -> {
                }));
            }
            catch (InterruptedException e) {
                waiting.completeExceptionally(e);
            }
        });
        t.start();
        while (ex.queued() < 1) {
            Thread.sleep(5);
        }
        ex.stopAll("Warden is shutting down");
        Executions.Entry e = waiting.get(5, java.util.concurrent.TimeUnit.SECONDS);
        assertInstanceOf(Executions.Busy.class, e, "a call waiting at shutdown never starts");
        assertTrue(ex.running().isEmpty());
    }
}
