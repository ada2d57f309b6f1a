package dev.warden.exec.host;

import dev.warden.exec.EgressPort;
import dev.warden.exec.EgressPorts;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/** The fixed set of slots, created once at start-up, each with its egress port (when there is egress). */
final class SlotPool implements AutoCloseable {

    private final BlockingQueue<Slot> free;
    private final int size;
    private final boolean useCgroups;
    private final List<EgressPort> ports = new ArrayList<>();

    /** @param pids the run's process limit: a slot with a port gets one more, for the relay */
    SlotPool(int size, int uidBase, int gid, Path cgroupRoot, String cgroupName, int memoryMb, int pids,
            boolean useCgroups, EgressPorts egress) throws IOException {
        this.size = size;
        this.useCgroups = useCgroups;
        this.free = new ArrayBlockingQueue<>(size);
        try {
            for (int i = 0; i < size; i++) {
                EgressPort port = egress.open("l2-" + i);
                if (port != null) {
                    ports.add(port);
                }
                int slotPids = port == null ? pids : pids + 1;
                Cgroups cg = useCgroups ? Cgroups.create(cgroupRoot, cgroupName, "slot-" + i, memoryMb, slotPids) : null;
                free.add(new Slot(i, uidBase + i, uidBase + size + i, gid, cg, port));
            }
        }
        catch (IOException | RuntimeException e) {
            close();
            throw e;
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

    /** Whether the slots have cgroups (every server's do; some tests' do not). */
    boolean hasCgroups() {
        return useCgroups;
    }

    int size() {
        return size;
    }

    int available() {
        return free.size();
    }

    /** The slots' ports close with the pool: after every sandbox is gone. */
    @Override
    public void close() {
        ports.forEach(EgressPort::close);
        ports.clear();
    }
}
