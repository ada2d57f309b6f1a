package dev.warden.exec;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Several Warden servers may run on one host (one per client over stdio is the norm). Each takes an
 * exclusive lease on an index, and derives its own uid range and cgroup subtree from it, so one
 * server's runs never count against, or get killed by, another's. The kernel drops the lock when
 * the process dies, however it dies; the next holder kills whatever the dead one left behind.
 */
final class InstanceLease implements AutoCloseable {

    static final int MAX_INSTANCES = 64;

    private final int index;
    private final FileChannel channel;
    private final FileLock lock;

    private InstanceLease(int index, FileChannel channel, FileLock lock) {
        this.index = index;
        this.channel = channel;
        this.lock = lock;
    }

    static InstanceLease acquire() throws IOException {
        Path dir = Files.isWritable(Path.of("/run/lock")) ? Path.of("/run/lock/warden")
                : Path.of(System.getProperty("java.io.tmpdir"), "warden-leases");
        Files.createDirectories(dir);
        for (int i = 0; i < MAX_INSTANCES; i++) {
            FileChannel ch = FileChannel.open(dir.resolve("instance-" + i + ".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            }
            catch (IOException | java.nio.channels.OverlappingFileLockException e) {
                lock = null;
            }
            if (lock != null) {
                return new InstanceLease(i, ch, lock);
            }
            ch.close();
        }
        throw new IOException("more than " + MAX_INSTANCES + " Warden servers are running on this host");
    }

    int index() {
        return index;
    }

    @Override
    public void close() throws IOException {
        lock.release();
        channel.close();
    }
}
