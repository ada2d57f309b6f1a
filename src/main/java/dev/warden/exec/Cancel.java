package dev.warden.exec;

import java.util.ArrayList;
import java.util.List;

/**
 * A way to stop one run from outside it: an operator's stop button or the kill switch. The executor
 * registers how to kill what it started while it runs, and unregisters when it is done, so a late
 * stop never touches a sandbox or slot that already serves another call.
 */
public final class Cancel {

    private String reason;
    private final List<Runnable> hooks = new ArrayList<>();

    /** Stops the run (once): every registered hook runs. */
    public void cancel(String why) {
        List<Runnable> run;
        synchronized (this) {
            if (reason != null) {
                return;
            }
            reason = why;
            run = List.copyOf(hooks);
            hooks.clear();
        }
        run.forEach(Runnable::run);
    }

    /** Why it was stopped, or null. */
    public synchronized String reason() {
        return reason;
    }

    /** Undoes an {@link #onCancel} registration; cannot fail, so it needs no catch. */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Registers how to stop the current run; runs it at once if already cancelled.
     *
     * @return unregisters it
     */
    public Registration onCancel(Runnable hook) {
        boolean now;
        synchronized (this) {
            now = reason != null;
            if (!now) {
                hooks.add(hook);
            }
        }
        if (now) {
            hook.run();
        }
        return () -> {
            synchronized (this) {
                hooks.remove(hook);
            }
        };
    }
}
