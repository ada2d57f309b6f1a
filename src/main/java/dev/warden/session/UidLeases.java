package dev.warden.session;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The uids of live session workspaces, one each, leased across every Warden server on the host: a
 * lock file per uid, held while the session lives. The kernel drops a lock when its server dies, so
 * a killed server's uids come free (its sandboxes died with it: they are its children and its
 * cgroups'). Two live sessions never share a uid, whichever servers they belong to.
 */
public final class UidLeases {

    private final Path dir;
    private final int first;
    private final int count;

    /** @param first the lowest uid leased; {@code count} uids from there */
    public UidLeases(Path dir, int first, int count) {
        this.dir = dir;
        this.first = first;
        this.count = count;
    }

    /** Where the locks live on this host: /run/lock/warden/uids (or under the temp dir if /run/lock is not writable). */
    public static Path defaultDir() {
        return Files.isWritable(Path.of("/run/lock")) ? Path.of("/run/lock/warden/uids")
                : Path.of(System.getProperty("java.io.tmpdir"), "warden-leases", "uids");
    }

    /** A uid no other live session has, held until {@link Lease#close}. */
    public synchronized Lease acquire() throws IOException {
        Files.createDirectories(dir);
        // start at a random place: a uid just given back is not handed out again at once
        int start = java.util.concurrent.ThreadLocalRandom.current().nextInt(count);
        for (int k = 0; k < count; k++) {
            int uid = first + (start + k) % count;
            FileChannel ch = FileChannel.open(dir.resolve(Integer.toString(uid)), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            }
            catch (IOException | OverlappingFileLockException e) {
                lock = null;
            }
            if (lock != null) {
                return new Lease(uid, ch);
            }
            ch.close();
        }
        throw new IOException("all " + count + " session uids from " + first + " are in use on this host");
    }

    /** One leased uid. */
    public static final class Lease implements AutoCloseable {

        private final int uid;
        private final FileChannel channel;

        private Lease(int uid, FileChannel channel) {
            this.uid = uid;
            this.channel = channel;
        }

        public int uid() {
            return uid;
        }

        @Override
        public void close() {
            try {
                channel.close(); // releases the lock
            }
            catch (IOException e) {
                // the lock goes with the process at the latest
            }
        }
    }
}
