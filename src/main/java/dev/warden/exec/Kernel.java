package dev.warden.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One live interpreter (a kernel) in a sandbox of its own, and the protocol that runs cells in it.
 * The program is one of {@code kernel/*.py|js|sh}, started by {@code kernel/start.sh}: its stdin
 * carries requests, its stdout replies, and the cell's own output goes to files inside the sandbox
 * that the program cuts before each cell and reads after it.
 *
 * <p>A request is the line {@code NONCE CODE_BYTES STDIN_BYTES CAP MAX_IMAGES MAX_IMAGE_BYTES WALK_MS
 * SINCE_NS},
 * then the code, then the stdin. The reply is one JSON line {@code {nonce, status, exit_code, out,
 * err, out_size, err_size, images: [bytes...], images_dropped}} (status {@code ok}, {@code error},
 * {@code exit}, {@code interrupted}), then {@code out} bytes of stdout, {@code err} of stderr and
 * each image's bytes, then (python and javascript) {@code changed} bytes of the records of the files
 * the cell changed in the workspace (find's format; see {@link CellResult}). Everything in a reply comes
 * from code the cell controls, so it is read like
 * any program's output: bounded, checked, and never trusted beyond the cell's own result. A reply
 * that breaks the protocol ends the kernel.
 *
 * <p>Limits: the kernel's sandbox has its memory and process limits (its cgroups) for the kernel as a
 * whole; the wall and CPU limits are each cell's. A cell past either is interrupted (SIGINT to every
 * process of the sandbox, as a terminal's Ctrl-C); if it has not ended {@link #INTERRUPT_GRACE_MS}
 * later, the kernel is killed. A kernel whose sandbox hit its memory or process limit during a cell is
 * killed too, so the next cell starts from a clean interpreter.
 */
public final class Kernel implements AutoCloseable {

    /** The sandbox a kernel lives in: what only its executor can do to it. */
    public interface Box {

        OutputStream requests();

        InputStream replies();

        boolean alive();

        /** SIGINT to every process in the sandbox. */
        void interrupt();

        /** The processes in the sandbox: host pid to the pid inside it. */
        java.util.Map<Long, Long> processes();

        /** SIGKILL to these processes of the sandbox (host pids). */
        void kill(java.util.Collection<Long> hostPids);

        /** Zeroes the CPU and peak memory counters, so {@link #usage} describes one cell. */
        void resetCounters();

        Usage usage();

        long oomKills();

        long pidsLimitHits();

        /** Whether its processes fill its process limit now. */
        boolean processesAtLimit();

        /** Memory the sandbox holds now, in KiB (null: unknown). */
        Long memoryKb();

        /** The call's network on the sandbox's egress port while the cell runs. */
        CallEgress.Use egress(CallEgress egress);

        /** Kills everything in the sandbox and frees its slot. */
        void destroy();
    }

    /**
     * One cell: its code, its stdin, its limits (wall and CPU apply to it alone), how many images may come
     * back, and how long the kernel may look for the files the cell changed ({@code walkMs}, 0: not at all)
     * whose ctime is after {@code since} (taken before the cell, with the margin of the host's walk: a
     * file's ctime comes from the kernel's coarse clock).
     */
    public record Cell(String code, byte[] stdin, Limits limits, Cancel cancel, CallEgress egress, int maxImages,
            int maxImageBytes, long walkMs, java.time.Instant since) {

        public Cell(String code, byte[] stdin, Limits limits, Cancel cancel, CallEgress egress, int maxImages,
                int maxImageBytes) {
            this(code, stdin, limits, cancel, egress, maxImages, maxImageBytes, 0, java.time.Instant.EPOCH);
        }
    }

    /**
     * How a cell ended: its outcome as any run's, the images it left (PNG), whether the kernel is gone
     * ({@code ended}: killed or exited; its state is lost, and the next cell starts a new one), and the
     * files the kernel says the cell changed in the workspace, as find's {@code SIZE TAB PATH NUL}
     * records ({@code changed}, null: it did not look; {@code changedTruncated}: it stopped early). That
     * list is the cell's own word: it only ever names files of its own workspace in its own result.
     */
    public record CellResult(ExecOutcome outcome, List<byte[]> images, int imagesDropped, boolean ended,
            String endReason, byte[] changed, boolean changedTruncated) {
    }

    /** The most bytes of changed-file records a reply may carry: 101 records of a size, a tab and a path. */
    static final int CHANGED_MAX = 101 * 4200;

    /** How long an interrupted cell may take to end before its kernel is killed. */
    public static final long INTERRUPT_GRACE_MS = 2000;
    /** How long a kernel may take to start and say hello. */
    static final long HELLO_MS = 20_000;
    private static final int LINE_MAX = 4096;
    private static final long POLL_MS = 50;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Box box;
    private final String language;
    private final ExecutorService io;
    private final InputStream replies;
    private final long pid;

    private Kernel(Box box, String language, ExecutorService io, InputStream replies, long pid) {
        this.box = box;
        this.language = language;
        this.io = io;
        this.replies = replies;
        this.pid = pid;
    }

    /** Waits for the kernel's hello; on any failure the sandbox is destroyed. */
    public static Kernel open(Box box, String language, ExecutorService io) throws IOException {
        InputStream in = new BufferedInputStream(box.replies());
        Future<JsonNode> hello = io.submit(() -> JSON.readTree(line(in)));
        try {
            JsonNode h = hello.get(HELLO_MS, TimeUnit.MILLISECONDS);
            if (!"warden-kernel".equals(h.path("hello").asText()) || !language.equals(h.path("language").asText())) {
                throw new IOException("the kernel did not say hello: " + clip(h.toString()));
            }
            return new Kernel(box, language, io, in, h.path("pid").asLong());
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            box.destroy();
            throw new IOException("interrupted while the kernel started", e);
        }
        catch (ExecutionException | TimeoutException | IOException e) {
            hello.cancel(true);
            box.destroy();
            throw e instanceof IOException io2 ? io2
                    : new IOException("the kernel did not start: " + (e.getCause() == null ? e : e.getCause()), e);
        }
    }

    public String language() {
        return language;
    }

    public boolean alive() {
        return box.alive();
    }

    public Long memoryKb() {
        return box.memoryKb();
    }

    /** Runs one cell; never throws: a kernel that fails is reported in the result and killed. */
    public CellResult run(Cell cell) {
        long start = System.nanoTime();
        box.resetCounters();
        long oomBefore = box.oomKills();
        long pidsBefore = box.pidsLimitHits();
        java.util.Set<Long> before = box.processes().keySet();
        Limits limits = cell.limits();
        String nonce = HexFormat.of().formatHex(bytes(8));
        Future<Reply> pending = io.submit(() -> readReply(nonce, limits.outputBytes(), cell.maxImages(),
                cell.maxImageBytes()));
        Stop why = null;
        Reply reply = null;
        String broken = null;
        try (CallEgress.Use net = box.egress(cell.egress())) {
            write(cell, nonce);
            long deadline = start + limits.timeoutMs() * 1_000_000;
            while (reply == null && broken == null) {
                try {
                    reply = pending.get(POLL_MS, TimeUnit.MILLISECONDS);
                }
                catch (TimeoutException stillRunning) {
                    why = cell.cancel().reason() != null ? Stop.CANCELLED
                            : System.nanoTime() > deadline ? Stop.TIMEOUT
                            : overCpu(limits) ? Stop.CPU : null;
                    if (why != null) {
                        box.interrupt();
                        reply = pending.get(INTERRUPT_GRACE_MS, TimeUnit.MILLISECONDS);
                    }
                }
            }
        }
        catch (TimeoutException notInterrupted) {
            broken = why == Stop.TIMEOUT ? "it did not stop when interrupted at its time limit"
                    : "it did not stop when interrupted";
        }
        catch (ExecutionException e) {
            broken = e.getCause() instanceof EOFException ? null : "it broke the kernel protocol: "
                    + (e.getCause() == null ? e : e.getCause().getMessage());
        }
        catch (IOException e) {
            broken = null; // the kernel is gone: its stdin is closed
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why = Stop.CANCELLED;
            broken = "the server is stopping";
        }
        catch (Exception e) {
            broken = "its egress could not be set up: " + e.getMessage();
        }
        pending.cancel(true);
        if (why != null && reply != null) {
            endStartedSince(before);
        }
        long durationMs = (System.nanoTime() - start) / 1_000_000;
        Usage usage = box.usage();
        boolean oom = box.oomKills() > oomBefore;
        boolean pidsHit = box.pidsLimitHits() > pidsBefore || box.processesAtLimit();
        if (reply == null || oom || pidsHit) {
            box.destroy();
            Output out = reply == null ? Output.EMPTY : reply.out;
            Output err = reply == null ? Output.EMPTY : reply.err;
            if (oom) {
                return ended(new ExecOutcome.Killed("the kernel exceeded its memory limit of " + limits.memoryMb() + " MB", out,
                        err, durationMs, usage), "it reached its memory limit");
            }
            if (pidsHit) {
                return ended(new ExecOutcome.Killed("the kernel hit its limit of " + limits.pids() + " processes",
                        out, err, durationMs, usage), "it reached its process limit");
            }
            if (why != null) {
                return ended(stopped(why, cell, out, err, durationMs, usage), broken);
            }
            return ended(new ExecOutcome.Completed(1, out, err, durationMs, usage),
                    broken != null ? broken : "the interpreter exited");
        }
        ExecOutcome outcome = why != null && "interrupted".equals(reply.status)
                ? stopped(why, cell, reply.out, reply.err, durationMs, usage)
                : new ExecOutcome.Completed(reply.exitCode, reply.out, reply.err, durationMs, usage);
        return new CellResult(outcome, reply.images, reply.imagesDropped, false, null, reply.changed,
                reply.changedTruncated);
    }

    /** How a cell Warden stopped ended, whether its kernel answered the interrupt or was killed. */
    private static ExecOutcome stopped(Stop why, Cell cell, Output out, Output err, long durationMs, Usage usage) {
        return switch (why) {
            case TIMEOUT -> new ExecOutcome.TimedOut(out, err, durationMs, usage);
            case CPU -> new ExecOutcome.Killed("the cell used up its CPU time limit of " + cell.limits().cpuMs() + " ms",
                    out, err, durationMs, usage);
            case CANCELLED -> new ExecOutcome.Killed(cell.cancel().reason() == null ? "stopped" : cell.cancel().reason(),
                    out, err, durationMs, usage);
        };
    }

    /**
     * An interrupted cell's processes go with it, as far as it started them (a fork bomb's whole brood,
     * a pipeline that ignored SIGINT); what earlier cells started and the interpreter itself stay.
     */
    private void endStartedSince(java.util.Set<Long> before) {
        for (int round = 0; round < 100; round++) {
            List<Long> started = box.processes().entrySet().stream()
                .filter(e -> e.getValue() != pid && !before.contains(e.getKey())).map(java.util.Map.Entry::getKey)
                .toList();
            if (started.isEmpty()) {
                return;
            }
            box.kill(started);
            try {
                Thread.sleep(round < 10 ? 1 : 10);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static CellResult ended(ExecOutcome outcome, String reason) {
        return new CellResult(outcome, List.of(), 0, true, reason, null, false);
    }

    private boolean overCpu(Limits limits) {
        Long cpu = box.usage().cpuMs();
        return cpu != null && limits.cpuMs() > 0 && cpu > limits.cpuMs();
    }

    private void write(Cell cell, String nonce) throws IOException {
        byte[] code = cell.code().getBytes(StandardCharsets.UTF_8);
        byte[] head = (nonce + " " + code.length + " " + cell.stdin().length + " " + cell.limits().outputBytes() + " "
                + cell.maxImages() + " " + cell.maxImageBytes() + " " + cell.walkMs() + " "
                + (cell.since().getEpochSecond() * 1_000_000_000L + cell.since().getNano()) + "\n")
                    .getBytes(StandardCharsets.US_ASCII);
        OutputStream os = box.requests();
        os.write(head);
        os.write(code);
        os.write(cell.stdin());
        os.flush();
    }

    private enum Stop { TIMEOUT, CPU, CANCELLED }

    private record Reply(String status, int exitCode, Output out, Output err, List<byte[]> images, int imagesDropped,
            byte[] changed, boolean changedTruncated) {
    }

    private Reply readReply(String nonce, int cap, int maxImages, int maxImageBytes) throws IOException {
        // order on the wire: out, err, each image, then the changed files' records
        JsonNode h = JSON.readTree(line(replies));
        if (!nonce.equals(h.path("nonce").asText())) {
            throw new IOException("a reply to another request");
        }
        String status = h.path("status").asText();
        if (!List.of("ok", "error", "exit", "interrupted").contains(status)) {
            throw new IOException("an unknown status");
        }
        int outLen = bounded(h, "out", cap);
        int errLen = bounded(h, "err", cap);
        JsonNode imgs = h.path("images");
        if (!imgs.isArray() || imgs.size() > maxImages) {
            throw new IOException("too many images");
        }
        Output out = new Output(exactly(outLen), h.path("out_size").asLong() > outLen);
        Output err = new Output(exactly(errLen), h.path("err_size").asLong() > errLen);
        List<byte[]> images = new ArrayList<>();
        for (JsonNode n : imgs) {
            if (!n.canConvertToInt() || n.asInt() < 0 || n.asInt() > maxImageBytes) {
                throw new IOException("an image over its size");
            }
            images.add(exactly(n.asInt()));
        }
        byte[] changed = null;
        if (h.has("changed")) {
            changed = exactly(bounded(h, "changed", CHANGED_MAX));
        }
        int exit = h.path("exit_code").canConvertToInt() ? h.path("exit_code").asInt() : 1;
        return new Reply(status, "ok".equals(status) ? 0 : exit, out, err, List.copyOf(images),
                Math.max(0, h.path("images_dropped").asInt()), changed, h.path("changed_truncated").asBoolean());
    }

    private static int bounded(JsonNode h, String field, int max) throws IOException {
        JsonNode n = h.path(field);
        if (!n.canConvertToInt() || n.asInt() < 0 || n.asInt() > max) {
            throw new IOException(field + " out of bounds");
        }
        return n.asInt();
    }

    private byte[] exactly(int n) throws IOException {
        byte[] b = replies.readNBytes(n);
        if (b.length < n) {
            throw new EOFException();
        }
        return b;
    }

    /** One line of at most {@link #LINE_MAX} bytes, without its newline; EOF before it is the kernel's end. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException();
            }
            if (c == '\n') {
                return b.toString(StandardCharsets.UTF_8);
            }
            if (b.size() >= LINE_MAX) {
                throw new IOException("a reply line over " + LINE_MAX + " bytes");
            }
            b.write(c);
        }
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    private static String clip(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "…" : s;
    }

    /** The kernel's interpreter pid as it sees itself (inside its namespace). */
    public long pid() {
        return pid;
    }

    @Override
    public void close() {
        box.destroy();
    }
}
