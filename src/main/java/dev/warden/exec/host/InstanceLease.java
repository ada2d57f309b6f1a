package dev.warden.exec.host;

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

    private static Path dir() {
        return Files.isWritable(Path.of("/run/lock")) ? Path.of("/run/lock/warden")
                : Path.of(System.getProperty("java.io.tmpdir"), "warden-leases");
    }

    /**
     * Runs {@code action} while holding lease {@code i}, if no live server holds it (one that was
     * killed holds nothing): what that index left behind is then safe to remove, since no server
     * can take the index meanwhile. @return false if a live server holds it
     */
    static boolean whileFree(int i, Runnable action) {
        try (FileChannel ch = FileChannel.open(dir().resolve("instance-" + i + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            FileLock lock = ch.tryLock();
            if (lock == null) {
                return false;
            }
            try {
                action.run();
            }
            finally {
                lock.release();
            }
            return true;
        }
        catch (IOException | java.nio.channels.OverlappingFileLockException e) {
            return false;
        }
    }

    static InstanceLease acquire() throws IOException {
        Path dir = dir();
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
