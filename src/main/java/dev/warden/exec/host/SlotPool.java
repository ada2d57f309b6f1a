package dev.warden.exec.host;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/** The fixed set of slots, created once at start-up. */
final class SlotPool {

    private final BlockingQueue<Slot> free;
    private final int size;

    SlotPool(int size, int uidBase, int gid, Path cgroupRoot, String cgroupName, int memoryMb, int pids,
            boolean useCgroups) throws IOException {
        this.size = size;
        this.free = new ArrayBlockingQueue<>(size);
        for (int i = 0; i < size; i++) {
            Cgroups cg = useCgroups ? Cgroups.create(cgroupRoot, cgroupName, "slot-" + i, memoryMb, pids) : null;
            free.add(new Slot(i, uidBase + i, uidBase + size + i, gid, cg));
        }
    }

    Slot tryAcquire(long waitMs) throws InterruptedException {
        return free.poll(waitMs, TimeUnit.MILLISECONDS);
    }

    /** A slot goes back only once nothing of its last run is left alive. */
    void release(Slot slot) {
        if (slot.cgroups() != null) {
            slot.cgroups().killAll();
        }
        free.add(slot);
    }

    int size() {
        return size;
    }

    int available() {
        return free.size();
    }
}
