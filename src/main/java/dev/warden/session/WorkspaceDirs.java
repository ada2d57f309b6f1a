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
}
