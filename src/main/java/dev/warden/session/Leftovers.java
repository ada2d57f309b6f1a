package dev.warden.session;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a Warden that died without its shutdown (kill -9, a crash) left in the temp directory: the
 * mounted volumes of its workspaces, its state directory (launcher, synthetic /etc, volume images)
 * and the workspaces of a root it made itself. Each such directory carries the pid of its Warden;
 * one whose Warden is gone is removed at the next start. Nothing else is touched: only directories
 * named as Warden names them, directly in the temp directory, owned by this user, with a pid file.
 */
public final class Leftovers {

    private static final Logger log = LoggerFactory.getLogger(Leftovers.class);
    private static final String PID_FILE = ".warden-pid";
    private static final Pattern NAME = Pattern.compile("warden-(state|ws)-\\d+");

    private Leftovers() {
    }

    /** Marks a directory this Warden made (and removes at its end) as this process's. */
    public static void mark(Path dir) throws IOException {
        Path f = dir.resolve(PID_FILE);
        Files.writeString(f, Long.toString(ProcessHandle.current().pid()), StandardCharsets.US_ASCII);
        Files.setAttribute(f, "unix:mode", 0600);
    }

    /** The pid a directory was marked with by {@link #mark}, if it carries a readable mark. */
    public static java.util.OptionalLong markedPid(Path dir) {
        try {
            return java.util.OptionalLong.of(Long.parseLong(
                    Files.readString(dir.resolve(PID_FILE), StandardCharsets.US_ASCII).strip()));
        }
        catch (IOException | NumberFormatException e) {
            return java.util.OptionalLong.empty();
        }
    }

    /** Unmounts the volumes of dead Wardens, then removes their marked directories in {@code tmp}. */
    public static void sweep(Path tmp) {
        Volumes.sweepDead();
        Object me = ownerOf(Path.of("/proc/self")); // this process's uid
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp, p -> NAME.matcher(p.getFileName().toString())
                .matches())) {
            for (Path dir : ds) {
                if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !me.equals(ownerOf(dir))) {
                    continue;
                }
                java.util.OptionalLong marked = markedPid(dir);
                if (marked.isEmpty()) {
                    continue; // not marked: not ours to judge
                }
                long pid = marked.getAsLong();
                if (pid == ProcessHandle.current().pid() || ProcessHandle.of(pid).isPresent()) {
                    continue;
                }
                // what the dead server had bound there (a project directory, durable workspaces, homes) is
                // unmounted first, deepest first; while anything stays mounted the tree is not touched,
                // so a recursive delete can never reach into a project
                unmountUnder(dir);
                if (mountsUnder(dir)) {
                    log.warn("left {} in place: something is still mounted below it", dir);
                    continue;
                }
                WorkspaceDirs.delete(dir);
                log.info("removed {}, left by a Warden that is gone (pid {})", dir, pid);
            }
        }
        catch (IOException e) {
            log.debug("could not look for leftovers in {}: {}", tmp, e.getMessage());
        }
    }

    private static Object ownerOf(Path p) {
        try {
            return Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        }
        catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** Unmounts (lazily if busy) every mount point below {@code dir}, deepest first. */
    private static void unmountUnder(Path dir) {
        String prefix = dir.toAbsolutePath() + "/";
        try {
            List<String> points = Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8).stream()
                .map(l -> l.split(" ")).filter(f -> f.length > 4 && f[4].startsWith(prefix)).map(f -> f[4])
                .sorted(java.util.Comparator.comparingInt(String::length).reversed()).toList();
            for (String p : points) {
                Volumes.unbindAlways(Path.of(p.replace("\\040", " ")));
            }
        }
        catch (IOException e) {
            // mountsUnder then says whether anything is left
        }
    }

    /** A mount below it (one that could not be unmounted) would make a recursive delete reach into it. */
    private static boolean mountsUnder(Path dir) {
        String prefix = dir.toAbsolutePath() + "/";
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8);
            return lines.stream().map(l -> l.split(" ")).filter(f -> f.length > 4).anyMatch(f -> f[4].startsWith(prefix));
        }
        catch (IOException e) {
            return true;
        }
    }
}
