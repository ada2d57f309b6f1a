package dev.warden.pipeline;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The regular files of a workspace whose status changed (ctime) since an instant: what a run created
 * or changed. ctime, not mtime, because a run can set a file's mtime to anything (touch -d) but not
 * its ctime, and every write, create, rename or chmod sets it.
 *
 * <p>Warden runs as root and the workspace belongs to the runs, so the walk must neither follow a
 * symlink a run planted nor open anything a run can swap in while it walks (a background run of the
 * session may still be writing). It is GNU find's {@code -P} walk, on the host: it lstat()s every
 * entry and opens directories only, each with {@code O_NOFOLLOW|O_DIRECTORY|O_NONBLOCK} relative to
 * its parent's descriptor, so a directory swapped for a symlink is not entered, one swapped for a
 * FIFO is not opened (no hang), and no file is ever opened. (Java's own walks follow a symlink swapped
 * in between the check and the open of a directory, or block opening a FIFO: see docs/DESIGN.md.)
 * It stays on the workspace's filesystem, skips the trees that package tools fill by the thousand
 * ({@link #SKIPPED}), stops after {@code maxMs} or after finding one file more than it keeps, and
 * says so as {@code truncated}.
 */
final class ChangedFiles {

    private static final Logger log = LoggerFactory.getLogger(ChangedFiles.class);

    /** The most files listed (the contract's cap on {@code artifacts}). */
    static final int MAX = 100;
    /** Directories not walked, wherever they are: version control and package caches, not a run's products. */
    static final List<String> SKIPPED = List.of(".git", "node_modules", "__pycache__", ".npm", ".cache", ".local");
    private static final String FIND = "/usr/bin/find";
    /** Records are at most a size, a tab and a path of PATH_MAX: stop reading well past MAX of them. */
    private static final int MAX_OUTPUT = (MAX + 1) * 4200;

    /** One changed file: its path relative to the workspace root and its size. */
    record Found(String path, long size) {
    }

    /** What the walk found, sorted by path; {@code truncated}: it stopped early (the cap or the time). */
    record Scan(List<Found> files, boolean truncated) {
        static final Scan NONE = new Scan(List.of(), false);
    }

    private final long maxMs;

    /** @param maxMs the most one walk may take (0: no walks) */
    ChangedFiles(long maxMs) {
        this.maxMs = maxMs;
    }

    boolean enabled() {
        return maxMs > 0 && Files.isExecutable(Path.of(FIND));
    }

    /** The files under {@code root} changed since {@code since}, at most {@link #MAX}. */
    Scan since(Path root, Instant since) {
        if (!enabled()) {
            return Scan.NONE;
        }
        ProcessBuilder pb = new ProcessBuilder(command(root, since)).redirectError(ProcessBuilder.Redirect.DISCARD)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().clear();
        pb.environment().put("LC_ALL", "C");
        Process p;
        try {
            p = pb.start();
        }
        catch (IOException e) {
            log.warn("the workspace walk could not start: {}", e.getMessage());
            return new Scan(List.of(), true);
        }
        // the time cap: the process is killed, what it printed until then counts
        CompletableFuture.delayedExecutor(maxMs, TimeUnit.MILLISECONDS).execute(p::destroyForcibly);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean cut = false;
        try (InputStream in = p.getInputStream()) {
            byte[] buf = new byte[8192];
            int records = 0;
            for (int n; (n = in.read(buf)) > 0;) {
                out.write(buf, 0, n);
                for (int i = 0; i < n; i++) {
                    if (buf[i] == 0) {
                        records++;
                    }
                }
                if (records > MAX || out.size() > MAX_OUTPUT) {
                    cut = true;
                    break;
                }
            }
        }
        catch (IOException e) {
            cut = true;
        }
        if (cut) {
            p.destroyForcibly();
        }
        try {
            if (!p.waitFor(maxMs, TimeUnit.MILLISECONDS)) { // its output closed but it lives on: the time cap ends it
                p.destroyForcibly();
                cut = true;
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cut = true;
        }
        // killed by the time cap (or anything else): find's own exit is 0 when it walked everything
        boolean whole = !cut && !p.isAlive() && p.exitValue() == 0;
        return parse(out.toByteArray(), !whole);
    }

    /** find -P ROOT -xdev ( -type d ( -name .git -o ... ) ) -prune -o -type f -newerct @T -printf 'SIZE\tPATH\0'. */
    static List<String> command(Path root, Instant since) {
        List<String> argv = new ArrayList<>(List.of(FIND, "-P", root.toString(), "-xdev", "(", "-type", "d", "("));
        for (int i = 0; i < SKIPPED.size(); i++) {
            if (i > 0) {
                argv.add("-o");
            }
            argv.addAll(List.of("-name", SKIPPED.get(i)));
        }
        argv.addAll(List.of(")", ")", "-prune", "-o", "-type", "f", "-newerct",
                "@" + since.getEpochSecond() + "." + String.format("%09d", since.getNano()), "-printf", "%s\\t%P\\0"));
        return argv;
    }

    /**
     * The same records as a kernel reports them for its cell (its own walk inside its sandbox, which saves
     * a process per cell): the kernel's word, so a path that is not plainly relative (empty, absolute,
     * with an empty, {@code .} or {@code ..} segment) is left out.
     */
    static Scan reported(byte[] records, boolean stoppedEarly) {
        Scan all = parse(records, stoppedEarly);
        List<Found> plain = all.files().stream().filter(f -> plainlyRelative(f.path())).toList();
        return new Scan(plain, all.truncated());
    }

    private static boolean plainlyRelative(String path) {
        if (path.isEmpty() || path.startsWith("/")) {
            return false;
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /**
     * find's records ({@code SIZE TAB PATH NUL}), sorted by path and cut at {@link #MAX}. A name that is
     * not UTF-8 is left out (no JSON string or URI could name it faithfully); a last record without its
     * NUL was cut by the walk's end and is left out too.
     */
    static Scan parse(byte[] out, boolean stoppedEarly) {
        List<Found> found = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < out.length; i++) {
            if (out[i] != 0) {
                continue;
            }
            int tab = -1;
            for (int j = start; j < i; j++) {
                if (out[j] == '\t') {
                    tab = j;
                    break;
                }
            }
            if (tab > start && tab < i - 1) {
                try {
                    long size = Long.parseLong(new String(out, start, tab - start, StandardCharsets.US_ASCII));
                    String path = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(out, tab + 1, i - tab - 1)).toString();
                    found.add(new Found(path, size));
                }
                catch (NumberFormatException | CharacterCodingException e) {
                    // not a record find writes, or a name no URI can carry: left out
                }
            }
            start = i + 1;
        }
        found.sort(Comparator.comparing(Found::path));
        boolean truncated = stoppedEarly || found.size() > MAX;
        return new Scan(List.copyOf(found.size() > MAX ? found.subList(0, MAX) : found), truncated);
    }
}
