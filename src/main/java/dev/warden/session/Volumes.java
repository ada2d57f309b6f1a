package dev.warden.session;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The workspace quota: every session's directory is the mount point of a filesystem of its own, an
 * ext4 image of {@code disk_mb} (sparse: it takes only what is written) on a loop device, mounted
 * nosuid,nodev. A run that writes more gets ENOSPC from the kernel and the host's disk is never
 * filled: a volume is made only while the host has room for every live volume filled to the brim.
 * The kernel here has no quota support (CONFIG_QUOTA), so a filesystem per session is the quota.
 *
 * <p>Images live in {@code <state>/volumes}, named with Warden's pid; those of a Warden that died
 * are unmounted and deleted at the next start.
 */
public final class Volumes {

    private static final Logger log = LoggerFactory.getLogger(Volumes.class);
    private static final Pattern IMAGE = Pattern.compile("w(\\d+)-(s-[0-9a-f]+)\\.img");
    /** What the host keeps free besides every live volume at its full size. */
    private static final long HOST_RESERVE = 1L << 30;

    private final Path images;
    private final long sizeBytes;
    private final String problem;
    /** Mount point to its image. */
    private final Map<Path, Path> live = new ConcurrentHashMap<>();

    private Volumes(Path images, long sizeBytes, String problem) {
        this.images = images;
        this.sizeBytes = sizeBytes;
        this.problem = problem;
    }

    /** No quota: {@code why} says why (logged once by the caller). */
    public static Volumes none(String why) {
        return new Volumes(null, 0, why);
    }

    /**
     * Sets up the image directory, removes what a dead Warden left, and proves a volume can be made
     * and mounted here; if not, the result is {@link #none} with the reason.
     */
    public static Volumes create(Path stateDir, int diskMb) {
        if (diskMb <= 0) {
            return none("limits.disk_mb is 0");
        }
        try {
            Path images = stateDir.resolve("volumes");
            Files.createDirectories(images);
            Files.setAttribute(images, "unix:mode", 0700);
            Volumes v = new Volumes(images, (long) diskMb << 20, null);
            Path probe = stateDir.resolve("volume-selftest");
            Files.createDirectories(probe);
            try {
                v.mount(probe, "s-0");
                v.unmount(probe);
            }
            finally {
                Files.deleteIfExists(probe);
            }
            return v;
        }
        catch (IOException e) {
            return none(e.getMessage());
        }
    }

    /** Null when volumes are made; else why every workspace is a plain directory. */
    public String problem() {
        return problem;
    }

    /** The quota in MB, if there is one. */
    public Optional<Integer> diskMb() {
        return problem == null ? Optional.of((int) (sizeBytes >> 20)) : Optional.empty();
    }

    /** Mounts a fresh volume on the (empty) directory {@code at}, named after {@code name}. */
    void mount(Path at, String name) throws IOException {
        long free = Files.getFileStore(images).getUsableSpace();
        long needed = (live.size() + 1) * sizeBytes + HOST_RESERVE;
        if (free < needed) {
            throw new IOException("the host has " + (free >> 20) + " MB free, too little for another workspace of "
                    + (sizeBytes >> 20) + " MB next to the " + live.size() + " in use");
        }
        Path image = images.resolve("w" + ProcessHandle.current().pid() + "-" + name + ".img");
        Files.deleteIfExists(image);
        Files.createFile(image);
        Files.setAttribute(image, "unix:mode", 0600);
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(sizeBytes); // sparse: nothing is allocated until written
        }
        try {
            // no journal (a workspace need not survive a crash of the host), no reserved blocks, a
            // root directory owned by root, no lost+found left behind
            run(List.of("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
                    "-E", "lazy_itable_init=1,nodiscard", image.toString()));
            run(List.of("mount", "-t", "ext4", "-o", "loop,nosuid,nodev,noatime", image.toString(), at.toString()));
            live.put(at, image);
            Path lostFound = at.resolve("lost+found");
            if (Files.isDirectory(lostFound)) {
                Files.delete(lostFound);
            }
            Files.setAttribute(at, "unix:mode", 0711);
        }
        catch (IOException e) {
            live.putIfAbsent(at, image); // so that unmount also deletes the image
            unmount(at);
            throw e;
        }
    }

    /** Unmounts the volume at {@code at} (lazily, if something still holds it) and deletes its image. */
    void unmount(Path at) {
        Path image = images == null ? null : live.remove(at);
        if (image == null) {
            return;
        }
        if (!umount(at)) {
            log.warn("could not unmount the workspace volume at {}", at);
        }
        try {
            Files.deleteIfExists(image);
        }
        catch (IOException e) {
            log.warn("could not delete the image of {}: {}", at, e.getMessage());
        }
    }

    /** Shows the directory {@code from} (inside a volume) at {@code at} as well, nosuid and nodev. */
    void bind(Path from, Path at) throws IOException {
        run(List.of("mount", "--bind", "-o", "nosuid,nodev", from.toString(), at.toString()));
    }

    /** A bind mount (nosuid, nodev) whether or not workspaces are volumes: the project directory's. */
    static void bindAlways(Path from, Path at) throws IOException {
        run(List.of("mount", "--bind", "-o", "nosuid,nodev", from.toString(), at.toString()));
    }

    /** Undoes {@link #bindAlways}: false if nothing is unmounted there. */
    static boolean unbindAlways(Path at) {
        return umount(at);
    }

    /**
     * A durable workspace's volume: the image at {@code image} (made, sparse, of the quota's size if
     * it is not there yet) mounted on the empty directory {@code at}. It outlives the server; {@link
     * #unmountPersistent} unmounts it and leaves the image.
     */
    void mountPersistent(Path image, Path at) throws IOException {
        if (problem != null) {
            throw new IOException("no volumes here: " + problem);
        }
        if (!Files.exists(image, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            long free = Files.getFileStore(image.getParent()).getUsableSpace();
            if (free < sizeBytes + HOST_RESERVE) {
                throw new IOException("the host has " + (free >> 20) + " MB free, too little for a workspace of "
                        + (sizeBytes >> 20) + " MB");
            }
            Path fresh = image.resolveSibling(image.getFileName() + ".new");
            Files.deleteIfExists(fresh);
            Files.createFile(fresh);
            Files.setAttribute(fresh, "unix:mode", 0600);
            try (var f = new java.io.RandomAccessFile(fresh.toFile(), "rw")) {
                f.setLength(sizeBytes);
            }
            run(List.of("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
                    "-E", "lazy_itable_init=1,nodiscard", fresh.toString()));
            Files.move(fresh, image, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        run(List.of("mount", "-t", "ext4", "-o", "loop,nosuid,nodev,noatime", image.toString(), at.toString()));
        Path lostFound = at.resolve("lost+found");
        if (Files.isDirectory(lostFound, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.delete(lostFound);
            }
            catch (IOException e) {
                // not empty: it is the workspace's business now
            }
        }
        Files.setAttribute(at, "unix:mode", 0711);
    }

    /** Undoes {@link #mountPersistent}; the image stays. */
    static void unmountPersistent(Path at) {
        if (!umount(at)) {
            log.warn("could not unmount the durable workspace volume at {}", at);
        }
    }

    /** Undoes {@link #bind}; nothing if {@code at} was never bound. */
    void unbind(Path at) {
        if (images != null) {
            umount(at);
        }
    }

    /** umount, or a lazy one if something still holds the mount; false if neither worked (or nothing was mounted). */
    private static boolean umount(Path at) {
        try {
            run(List.of("umount", at.toString()));
            return true;
        }
        catch (IOException busy) {
            try {
                run(List.of("umount", "-l", at.toString()));
                return true;
            }
            catch (IOException e) {
                return false;
            }
        }
    }

    /** Is {@code dir} one of our mounted volumes. */
    boolean isMounted(Path dir) {
        return live.containsKey(dir);
    }

    /**
     * Volumes of Warden processes that are gone: their loop mounts are unmounted and images deleted.
     * Found through /proc/self/mountinfo and the loop devices' backing files.
     */
    static void sweepDead() {
        List<String[]> mounts = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                int dash = List.of(f).indexOf("-");
                if (dash > 0 && dash + 2 < f.length && f[dash + 2].startsWith("/dev/loop")) {
                    mounts.add(new String[] {unescape(f[4]), f[dash + 2]});
                }
            }
        }
        catch (IOException e) {
            return;
        }
        for (String[] m : mounts) {
            String dev = m[1].substring("/dev/".length());
            Path backing = Path.of("/sys/block", dev, "loop", "backing_file");
            try {
                String file = Files.readString(backing).strip();
                if (file.endsWith(" (deleted)")) { // the volume's other mount already went with its image
                    file = file.substring(0, file.length() - " (deleted)".length());
                }
                Matcher im = IMAGE.matcher(Path.of(file).getFileName().toString());
                if (!file.contains("/warden-state-") || !im.matches()) {
                    continue;
                }
                long pid = Long.parseLong(im.group(1));
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                run(List.of("umount", "-l", m[0]));
                Files.deleteIfExists(Path.of(file));
                log.info("removed the workspace volume {} of a Warden that is gone (pid {})", m[0], pid);
            }
            catch (IOException | RuntimeException e) {
                // not ours, or already gone
            }
        }
    }

    private static String unescape(String mountinfoPath) {
        return mountinfoPath.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    private static void run(List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().retainAll(Set.of("PATH"));
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readNBytes(4096);
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd.get(0) + " did not finish");
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException(cmd.get(0) + " was interrupted");
        }
        if (p.exitValue() != 0) {
            throw new IOException(cmd.get(0) + " failed (exit " + p.exitValue() + "): "
                    + new String(out, StandardCharsets.UTF_8).strip());
        }
    }

    /** For tests: the images present. */
    List<Path> images() throws IOException {
        List<Path> all = new ArrayList<>();
        if (images != null) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(images)) {
                ds.forEach(all::add);
            }
        }
        return all;
    }
}
