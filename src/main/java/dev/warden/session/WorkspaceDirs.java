package dev.warden.session;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
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

    /** Removes a tree without following any symlink a sandboxed program may have left in it. */
    public static void delete(Path root) {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    // a program may have made a directory unreadable to itself; root can still fix that
                    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        }
        catch (IOException e) {
            log.warn("could not remove all of a workspace: {}", e.getMessage());
        }
    }
}
