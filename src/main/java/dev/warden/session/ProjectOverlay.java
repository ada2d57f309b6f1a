package dev.warden.session;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The checkpoint of a project directory for one approved call, at a cost that grows with what the
 * call changes, not with the project: the session's view of the project becomes an overlay (the
 * project as its lower layer, an empty upper layer beside the workspaces) for the call. A call that
 * fails is undone by dropping the upper layer; one that succeeds has its upper layer written into
 * the project: whiteouts removed, opaque directories emptied, the rest copied. That commit runs as
 * the project's owner ({@code setpriv}), never as root, so a symlink another session planted in the
 * project leads it only where the owner could write anyway.
 */
final class ProjectOverlay {

    /** Removes what the call deleted, empties what it replaced, copies the rest; as the owner. */
    private static final String COMMIT = """
            set -u
            upper=$1 lower=$2 opaque=$3
            cd "$upper" || exit 1
            find . -mindepth 1 -type c -print0 | while IFS= read -r -d '' f; do rm -rf -- "$lower/$f"; done
            while IFS= read -r -d '' d; do
              if [ -d "$lower/$d" ] && [ ! -L "$lower/$d" ]; then find "$lower/$d" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +; fi
            done < "$opaque"
            find . -mindepth 1 ! -type c -print0 | tar --null --no-recursion -T - -cf - \\
              | tar -C "$lower" --null --no-overwrite-dir -xpf -
            """;

    private ProjectOverlay() {
    }

    /**
     * Replaces the project's bind at {@code at} with an overlay whose changes go to {@code dir}/upper.
     * The upper layer's root has the project root's owner and mode: the merged root shows them.
     */
    static void mount(Workspaces.Project project, Path at, Path dir) throws IOException {
        Files.createDirectory(dir);
        Files.setAttribute(dir, "unix:mode", 0711);
        Path upper = dir.resolve("upper");
        Path work = dir.resolve("work");
        Files.createDirectory(upper);
        Files.createDirectory(work);
        Files.setAttribute(work, "unix:mode", 0700);
        Files.setAttribute(upper, "unix:uid", project.uid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(upper, "unix:gid", project.gid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(upper, "unix:mode", Files.getAttribute(project.dir(), "unix:mode"), LinkOption.NOFOLLOW_LINKS);
        Volumes.unbindAlways(at);
        try {
            // userxattr: opaque directories are marked in user.overlay.*, which the commit can read
            run(List.of("mount", "-t", "overlay", "overlay", "-o", "lowerdir=" + project.dir() + ",upperdir=" + upper
                    + ",workdir=" + work + ",userxattr,nosuid,nodev", at.toString()));
        }
        catch (IOException e) {
            Volumes.bindAlways(project.dir(), at); // the session keeps its project, unprotected
            throw e;
        }
    }

    /** Undoes the call: the overlay goes, the project is bound again as it was, the upper layer is deleted. */
    static void discard(Workspaces.Project project, Path at, Path dir) throws IOException {
        Volumes.unbindAlways(at);
        Volumes.bindAlways(project.dir(), at);
        WorkspaceDirs.delete(dir);
    }

    /** Keeps the call's changes: written into the project as its owner, then as {@link #discard}. */
    static void commit(Workspaces.Project project, Path at, Path dir) throws IOException {
        Volumes.unbindAlways(at);
        try {
            Path upper = dir.resolve("upper");
            Path opaque = dir.resolve("opaque");
            Files.write(opaque, opaqueDirs(upper));
            Files.setAttribute(opaque, "unix:mode", 0644);
            run(List.of("setpriv", "--reuid", Integer.toString(project.uid()), "--regid", Integer.toString(project.gid()),
                    "--clear-groups", "--no-new-privs", "--", "/bin/bash", "-c", COMMIT, "commit", upper.toString(),
                    project.dir().toString(), opaque.toString()));
        }
        finally {
            Volumes.bindAlways(project.dir(), at);
            WorkspaceDirs.delete(dir);
        }
    }

    /** The directories the call replaced whole (overlay's opaque mark), NUL-separated, relative ("./x"). */
    private static byte[] opaqueDirs(Path upper) throws IOException {
        List<String> found = new ArrayList<>();
        Files.walkFileTree(upper, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                if (!d.equals(upper) && opaque(d)) {
                    found.add("./" + upper.relativize(d));
                }
                return FileVisitResult.CONTINUE;
            }
        });
        StringBuilder sb = new StringBuilder();
        found.forEach(f -> sb.append(f).append('\0'));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static boolean opaque(Path d) {
        try {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(d, UserDefinedFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (view == null || !view.list().contains("overlay.opaque")) {
                return false;
            }
            ByteBuffer b = ByteBuffer.allocate(8);
            view.read("overlay.opaque", b);
            b.flip();
            return b.remaining() > 0 && b.get() == 'y';
        }
        catch (IOException e) {
            return false;
        }
    }

    private static void run(List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.environment().put("LANG", "C.UTF-8");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd.get(0) + " did not finish");
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) {
            String text = new String(out, StandardCharsets.UTF_8).strip();
            throw new IOException(cmd.get(0) + " failed (exit " + p.exitValue() + "): "
                    + (text.length() > 300 ? text.substring(0, 300) : text));
        }
    }
}
