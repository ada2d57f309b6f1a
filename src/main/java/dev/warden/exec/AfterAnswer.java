package dev.warden.exec;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * What a finished run leaves to do (freeing its slot, starting the next launcher or sandbox) runs
 * a few milliseconds later on a background thread: on two cores it would otherwise compete for the
 * CPU with sending the answer. The program and everything it started have already ended by then;
 * only the bookkeeping waits.
 */
public final class AfterAnswer {

    private static final long DELAY_MS = 5;

    private AfterAnswer() {
    }

    public static void run(ExecutorService background, Runnable work) {
        CompletableFuture.delayedExecutor(DELAY_MS, TimeUnit.MILLISECONDS).execute(() -> {
            try {
                background.execute(work);
            }
            catch (RejectedExecutionException closing) {
                work.run(); // shutting down: never skip a cleanup
            }
        });
    }
}
