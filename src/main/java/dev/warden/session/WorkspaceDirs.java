package dev.warden.session;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Directory mechanics of workspaces: created root-owned with the sandbox group and mode 2770
 * (setgid, so a file any slot uid creates stays in the group and a later call of the same session,
 * under another slot uid, can still change it; nobody outside the group gets in).
 */
public final class WorkspaceDirs {

    private static final Logger log = LoggerFactory.getLogger(WorkspaceDirs.class);

    private WorkspaceDirs() {
    }

    /**
     * This process's effective uid, from /proc/self/status ("Uid: real effective saved fs"); -1 if
     * unknown. Not the owner of /proc/self: that is root for a process that changed uid (not dumpable).
     */
    public static long effectiveUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Long.parseLong(line.substring(4).strip().split("\\s+")[1]);
                }
            }
        }
        catch (IOException | RuntimeException e) {
            // not Linux, or no /proc
        }
        return -1;
    }

    /**
     * This process's own uid and primary gid, or null where the platform has none (Windows): on
     * Linux from /proc/self/status, elsewhere (macOS) from the JDK's Unix login module.
     */
    public static int[] ownIds() {
        try {
            int uid = -1;
            int gid = -1;
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    uid = Integer.parseInt(line.substring(4).strip().split("\\s+")[1]);
                }
                else if (line.startsWith("Gid:")) {
                    gid = Integer.parseInt(line.substring(4).strip().split("\\s+")[1]);
                }
            }
            if (uid >= 0 && gid >= 0) {
                return new int[] {uid, gid};
            }
        }
        catch (IOException | RuntimeException e) {
            // not Linux: asked below
        }
        try {
            com.sun.security.auth.module.UnixSystem u = new com.sun.security.auth.module.UnixSystem();
            return new int[] {(int) u.getUid(), (int) u.getGid()};
        }
        catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    /**
     * Why this process cannot make workspaces for the sandbox, or null: only root may hand a
     * directory to the sandbox's group and run each call under a uid of its own.
     */
    public static String needsRoot() {
        long uid = effectiveUid();
        return uid == 0 ? null : "Warden's sandbox needs root: this server runs as uid " + uid
                + ", so it can neither give a workspace to the sandbox's uids nor run a call under one; "
                + "the operator must start Warden as root";
    }

    public static void create(Path dir, int gid) throws IOException {
        Files.createDirectories(dir);
        Files.setAttribute(dir, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(dir, "unix:mode", 02770, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Removes a tree as root while sandboxed programs may still be changing it. Every step works
     * relative to an open directory and never follows a symlink (openat with O_NOFOLLOW, unlinkat):
     * a directory swapped for a link to /etc mid-walk is removed as a link, never entered. Walking
     * by path name would stat, then open, and the swap in between would lead root into /etc.
     */
    public static void delete(Path root) {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Path parent = root.toAbsolutePath().getParent();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent)) {
            if (!(ds instanceof SecureDirectoryStream<Path> sds)) {
                throw new IOException("this platform has no fd-relative directory operations");
            }
            Path name = root.getFileName();
            BasicFileAttributes attrs = sds.getFileAttributeView(name, BasicFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS).readAttributes();
            if (attrs.isDirectory()) {
                deleteContents(sds, name);
                sds.deleteDirectory(name);
            }
            else {
                sds.deleteFile(name);
            }
        }
        catch (IOException e) {
            log.warn("could not remove all of a workspace: {}", e.getMessage());
        }
    }

    private static void deleteContents(SecureDirectoryStream<Path> parent, Path dirName) throws IOException {
        // a program may have made its directory unreadable to itself; root sets it back, on the directory itself
        parent.getFileAttributeView(dirName, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .setPermissions(PosixFilePermissions.fromString("rwx------"));
        try (SecureDirectoryStream<Path> dir = parent.newDirectoryStream(dirName, LinkOption.NOFOLLOW_LINKS)) {
            for (Path entry : dir) {
                Path name = entry.getFileName();
                try {
                    BasicFileAttributes a = dir.getFileAttributeView(name, BasicFileAttributeView.class,
                            LinkOption.NOFOLLOW_LINKS).readAttributes();
                    if (a.isDirectory()) {
                        deleteContents(dir, name);
                        dir.deleteDirectory(name);
                    }
                    else {
                        dir.deleteFile(name); // a symlink is removed itself, never followed
                    }
                }
                catch (NoSuchFileException gone) {
                    // removed meanwhile by whatever still ran there
                }
                catch (IOException e) {
                    // swapped between the look and the removal: removing it as a file is safe either way
                    try {
                        dir.deleteFile(name);
                    }
                    catch (IOException again) {
                        log.debug("left {} in a workspace: {}", name, again.getMessage());
                    }
                }
            }
        }
    }

    /**
     * Copies a workspace tree, as root, into {@code target} (which must not exist), keeping owners,
     * groups, modes and symlinks as they are. Reading is fd-relative and never follows a link, for the
     * same reason as {@link #delete}: a directory swapped for a link to /etc mid-walk must not be
     * copied into the snapshot and then restored into the workspace. Special files are skipped.
     *
     * @return false if the tree is larger than {@code maxBytes} (the partial copy is removed)
     */
    public static boolean copy(Path source, Path target, long maxBytes) throws IOException {
        Path parent = source.toAbsolutePath().getParent();
        long[] budget = {maxBytes};
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent)) {
            if (!(ds instanceof SecureDirectoryStream<Path> sds)) {
                throw new IOException("this platform has no fd-relative directory operations");
            }
            Files.createDirectory(target);
            Files.setAttribute(target, "unix:mode", 0700, LinkOption.NOFOLLOW_LINKS);
            try {
                if (!copyContents(sds, source.getFileName(), source.toAbsolutePath(), target, budget)) {
                    delete(target);
                    return false;
                }
                copyOwnership(sds, source.getFileName(), target);
            }
            catch (IOException | RuntimeException e) {
                delete(target); // a copy cut short (a full volume) leaves nothing behind
                throw e;
            }
        }
        return true;
    }

    private static boolean copyContents(SecureDirectoryStream<Path> parent, Path dirName, Path sourceDir, Path target,
            long[] budget) throws IOException {
        try (SecureDirectoryStream<Path> dir = parent.newDirectoryStream(dirName, LinkOption.NOFOLLOW_LINKS)) {
            for (Path entry : dir) {
                Path name = entry.getFileName();
                Path to = target.resolve(name.toString());
                BasicFileAttributes a;
                try {
                    a = dir.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                        .readAttributes();
                }
                catch (NoSuchFileException gone) {
                    continue;
                }
                if (a.isDirectory()) {
                    Files.createDirectory(to);
                    if (!copyContents(dir, name, sourceDir.resolve(name.toString()), to, budget)) {
                        return false;
                    }
                }
                else if (a.isSymbolicLink()) {
                    // only the link's text is read (by path): nothing is followed
                    Path link = sourceDir.resolve(name.toString());
                    try {
                        Files.createSymbolicLink(to, Files.readSymbolicLink(link));
                    }
                    catch (IOException swapped) {
                        continue;
                    }
                }
                else if (a.isRegularFile()) {
                    budget[0] -= a.size();
                    if (budget[0] < 0) {
                        return false;
                    }
                    try (var in = dir.newByteChannel(name, java.util.Set.of(java.nio.file.StandardOpenOption.READ,
                            LinkOption.NOFOLLOW_LINKS));
                            var out = Files.newByteChannel(to, java.util.Set.of(java.nio.file.StandardOpenOption.CREATE_NEW,
                                    java.nio.file.StandardOpenOption.WRITE))) {
                        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(65536);
                        long copied = 0;
                        while (in.read(buf) > 0) {
                            buf.flip();
                            copied += buf.remaining();
                            if (copied > a.size() + budget[0]) {
                                return false; // it grew while we read it
                            }
                            while (buf.hasRemaining()) {
                                out.write(buf);
                            }
                            buf.clear();
                        }
                    }
                    catch (NoSuchFileException gone) {
                        continue;
                    }
                }
                else {
                    continue; // fifos and sockets are not workspace content worth restoring
                }
                copyOwnership(dir, name, to);
            }
        }
        return true;
    }

    private static void copyOwnership(SecureDirectoryStream<Path> dir, Path name, Path to) {
        try {
            var attrs = dir.getFileAttributeView(name, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .readAttributes();
            PosixFileAttributeView view = Files.getFileAttributeView(to, PosixFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS);
            view.setOwner(attrs.owner());
            view.setGroup(attrs.group());
            if (!Files.isSymbolicLink(to)) {
                Files.setPosixFilePermissions(to, attrs.permissions());
                // setgid on directories is kept so files created later stay in the workspace group
                if (attrs.isDirectory()) {
                    Files.setAttribute(to, "unix:mode", modeOf(attrs.permissions()) | 02000, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
        catch (IOException | UnsupportedOperationException e) {
            log.debug("ownership of {} not copied: {}", name, e.getMessage());
        }
    }

    private static int modeOf(java.util.Set<java.nio.file.attribute.PosixFilePermission> perms) {
        int mode = 0;
        for (var p : perms) {
            mode |= 1 << (8 - p.ordinal());
        }
        return mode;
    }
}
