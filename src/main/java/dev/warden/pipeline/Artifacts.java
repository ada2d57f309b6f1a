package dev.warden.pipeline;

import dev.warden.call.Tier;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.contract.Artifact;
import dev.warden.contract.CallResult;
import dev.warden.contract.Image;
import dev.warden.contract.WorkspaceUri;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Limits;
import dev.warden.session.Workspace;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The step after a run in L2 or L3: the files it created or changed ({@link ChangedFiles}) become the
 * result's {@code artifacts}, each with its workspace URI, and the images among them (up to
 * {@code limits.max_images}, each up to {@code limits.max_image_bytes}) are read to go back as MCP
 * image content. The images are read like read_file reads: by a fixed program in an L2 sandbox of the
 * session, as a sandbox uid, with the path checked inside after the kernel resolved it; Warden never
 * opens a workspace file itself.
 */
final class Artifacts {

    private static final Logger log = LoggerFactory.getLogger(Artifacts.class);

    /**
     * How far before the run's start a change still counts: a file's ctime comes from the kernel's
     * coarse clock, which lags the clock read here by up to a tick (up to 4.1 ms measured on a HZ=250
     * kernel, where 1995 of 2000 rewrites got a ctime before the instant read just before them; a tick
     * is 10 ms at HZ=100), and a file the run wrote at once must not be missed. A file changed in
     * these few ms before the run is listed too.
     */
    static final long MARGIN_MS = 15;
    /** $1 the most bytes per image; then the paths. One line per path: its bytes (one more than the most, at most) in base64, or "-". */
    private static final String READ_IMAGES = """
            set -u
            max=$1; shift
            for p in "$@"; do
              r=$(realpath -e -- "/workspace/$p" 2>/dev/null) || { echo -; continue; }
              case "$r" in /workspace/*) ;; *) echo -; continue;; esac
              if [ -f "$r" ] && [ -r "$r" ]; then head -c "$((max + 1))" -- "$r" | base64 -w0; echo; else echo -; fi
            done
            """;

    private final ChangedFiles walk;
    private final GitTripwire git;
    private final Function<Tier, Executor> executors;
    private final Results results;
    private final LimitsConfig limits;
    private final Clock clock;

    Artifacts(ChangedFiles walk, Function<Tier, Executor> executors, Results results, LimitsConfig limits, Clock clock,
            GitTripwire git) {
        this.walk = walk;
        this.git = git;
        this.executors = executors;
        this.results = results;
        this.limits = limits;
        this.clock = clock;
    }

    /** How long a kernel may look for the files its cell changed (0: no artifacts). */
    long walkMs() {
        return walk.enabled() ? limits.artifactsWalkMs() : 0;
    }

    /** What to compare against after the run: taken just before it starts. */
    Instant mark() {
        return clock.instant().minusMillis(MARGIN_MS);
    }

    /**
     * The result with the files the run changed since {@code since}. L1 runs are read-only and a run
     * that was refused never ran: no walk, and no field. A background run's final result lists its
     * files but carries no images (it is kept in memory until its session ends; resources/read reads
     * them).
     */
    CallResult attach(CallContext c, CallResult r, Instant since, ExecOutcome outcome) {
        return attach(c, r, since, outcome, null);
    }

    /** As above; {@code reported} (null: none) is what a kernel says its cell changed, used instead of a walk. */
    CallResult attach(CallContext c, CallResult r, Instant since, ExecOutcome outcome, ChangedFiles.Scan reported) {
        if (c.tier() == Tier.L1 || outcome instanceof ExecOutcome.Refused) {
            return r;
        }
        Workspace ws = c.workspace();
        if (ws.project() && c.ruling() == null) { // an approved call's view has no guard either: a person approved it
            r = r.withFindings(git.check(c, ws));
        }
        if (!walk.enabled()) {
            return r;
        }
        ChangedFiles.Scan scan = reported != null ? reported : walk.since(ws.root(), since);
        List<Artifact> found = new ArrayList<>();
        for (ChangedFiles.Found f : scan.files()) {
            found.add(new Artifact(f.path(), f.size(), FileTools.mime(f.path(), new byte[] {0}),
                    WorkspaceUri.of(ws.id(), f.path())));
        }
        List<Image> images = c.background() || c.caller.cancel().reason() != null ? List.of() : images(c, ws, found);
        return r.withArtifacts(found, scan.truncated(), images);
    }

    /** The images among the artifacts, read in one sandboxed run; those that are not what their name says are left out. */
    private List<Image> images(CallContext c, Workspace ws, List<Artifact> found) {
        int max = limits.maxImageBytes();
        List<Artifact> wanted = found.stream()
            .filter(a -> FileTools.IMAGES.contains(a.mime()) && a.size() > 0 && a.size() <= max)
            .limit(limits.maxImages()).toList();
        if (wanted.isEmpty() || max <= 0) {
            return List.of();
        }
        List<String> argv = new ArrayList<>(List.of("/bin/bash", "-c", READ_IMAGES, "artifacts", Integer.toString(max)));
        wanted.forEach(a -> argv.add(a.path()));
        Limits base = results.defaults();
        long output = (long) wanted.size() * ((max + 1L) * 4 / 3 + 8) + 4096;
        Limits l = new Limits(Math.min(base.timeoutMs(), 30_000), base.cpuMs(), base.memoryMb(), base.pids(),
                (int) Math.min(Integer.MAX_VALUE, output), base.fileSizeMb(), base.openFiles(), base.tmpMb());
        ExecOutcome o;
        try {
            o = executors.apply(Tier.L2).run(new ExecRequest(argv, ws.root(), "", new byte[0], Map.of()), l);
        }
        catch (RuntimeException e) {
            log.warn("call {}: its images could not be read: {}", c.id, e.toString());
            return List.of();
        }
        if (!(o instanceof ExecOutcome.Completed done) || done.exitCode() != 0 || done.stdout().truncated()) {
            return List.of();
        }
        String[] lines = new String(done.stdout().bytes(), StandardCharsets.US_ASCII).split("\n", -1);
        List<Image> images = new ArrayList<>();
        for (int i = 0; i < wanted.size() && i < lines.length; i++) {
            byte[] bytes;
            try {
                bytes = lines[i].equals("-") ? null : Base64.getDecoder().decode(lines[i]);
            }
            catch (IllegalArgumentException e) {
                bytes = null;
            }
            Artifact a = wanted.get(i);
            if (bytes != null && bytes.length > 0 && bytes.length <= max && looksLike(a.mime(), bytes)) {
                images.add(new Image(a.path(), a.mime(), Base64.getEncoder().encodeToString(bytes)));
            }
        }
        return images;
    }

    /**
     * Whether the bytes are an image of that type (by its signature): a file named .png that holds
     * something else goes back as a link only, not as image content a client would fail to show.
     */
    static boolean looksLike(String mime, byte[] b) {
        return switch (mime) {
            case "image/png" -> starts(b, new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
            case "image/jpeg" -> starts(b, new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff});
            case "image/gif" -> starts(b, "GIF87a".getBytes(StandardCharsets.US_ASCII))
                    || starts(b, "GIF89a".getBytes(StandardCharsets.US_ASCII));
            case "image/webp" -> b.length >= 12 && starts(b, "RIFF".getBytes(StandardCharsets.US_ASCII))
                    && Arrays.equals(b, 8, 12, "WEBP".getBytes(StandardCharsets.US_ASCII), 0, 4);
            case "image/svg+xml" -> FileTools.text(b)
                    && new String(b, 0, Math.min(b.length, 4096), StandardCharsets.UTF_8).contains("<svg");
            default -> false;
        };
    }

    private static boolean starts(byte[] b, byte[] prefix) {
        return b.length >= prefix.length && Arrays.equals(b, 0, prefix.length, prefix, 0, prefix.length);
    }
}
