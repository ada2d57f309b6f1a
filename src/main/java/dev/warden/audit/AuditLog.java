package dev.warden.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Append-only JSON lines, written by one thread of its own. A caller hands its record over and waits
 * until the writer has handed it to the kernel (with fsync on, to the disk as well), so a killed
 * server has already written every answered call. Records that queue up while the writer is busy go
 * out together, with one fsync for the lot (group commit).
 *
 * <p>Why a thread of its own: a thread interrupted while it is inside a {@link FileChannel} write
 * closes the channel for everyone ({@code ClosedByInterruptException}), and Warden interrupts call
 * threads whenever a client cancels a call. Only the writer touches the channels, and nobody
 * interrupts it; a caller waits uninterruptibly (keeping its interrupt for later) and at most
 * {@link #WAIT_MS}, after which its record counts as not written.
 *
 * <p>A failed write is an incident. The writer reopens the file, cuts off whatever part of a line the
 * failed write left, and tries again a few times. If the file stays unwritable the log is down:
 * {@link #unwritable()} says why, and the records keep in memory (a bounded backlog) until a write
 * succeeds again, when a line {@code "type":"audit_gap"} says what was late or lost and the backlog
 * follows it. While down, the writer tries again every second and whenever a caller asks
 * {@link #unwritable()}, so the log recovers by itself once space is freed.
 *
 * <p>When the file passes {@code maxBytes} it is rotated ({@code audit.jsonl} becomes
 * {@code audit.jsonl.1}, and so on, {@code keep} files at most) by the writer between two lines, so
 * no line is split or lost across a rotation. Incidents (blocked calls, critical findings, kills, the
 * kill switch) are also written to a second file, the incident stream, which an alerting tool can
 * tail on its own. Both files are mode 0600.
 */
public final class AuditLog implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

    /** How long a caller waits for its line before the write counts as failed. */
    static final long WAIT_MS = 5_000;
    /** Pauses between the attempts at one batch; their number is the attempts after the first. */
    private static final long[] BACKOFF_MS = {10, 50, 200};
    /** While down, how often the writer tries again by itself. */
    private static final long PROBE_EVERY_MS = 1_000;
    private static final int BACKLOG_MAX = 10_000;
    private static final long BACKLOG_BYTES_MAX = 16L << 20;
    private static final int LOST_IDS_MAX = 100;

    private final Path file;
    private final Path incidents;
    private final boolean fsync;
    private final long maxBytes;
    private final int keep;
    private final boolean failClosed;
    private final ObjectMapper json;

    private final BlockingQueue<Entry> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean closed;
    /** This replica's id, written on every line in a fleet; null on a single server. */
    private volatile String replica;
    /** Why the log cannot be written, or null while it can. */
    private volatile String down;
    /** When the writer started the batch it is writing (System.nanoTime), 0 when idle. */
    private volatile long writingSince;
    /** Told how long each caller waited for its line (the metrics); nothing until set. */
    private volatile java.util.function.LongConsumer waited = nanos -> {
    };

    // touched by the writer thread only (and by the constructor before it starts)
    private final Sink main;
    private final Sink incidentSink;
    private final Deque<Entry> backlog = new ArrayDeque<>();
    private long backlogBytes;
    private long lostCount;
    private final List<Object> lostIds = new ArrayList<>();
    private Instant downSince;

    public AuditLog(Path file, boolean fsync, ObjectMapper json) throws IOException {
        this(file, null, fsync, 0, 0, true, json);
    }

    public AuditLog(Path file, Path incidents, boolean fsync, long maxBytes, int keep, ObjectMapper json)
            throws IOException {
        this(file, incidents, fsync, maxBytes, keep, true, json);
    }

    /**
     * @param incidents the incident stream, or null for none
     * @param maxBytes rotate past this size (0: never)
     * @param keep rotated files kept
     * @param failClosed whether Warden refuses calls while this log cannot be written (see {@link #failClosed()})
     */
    public AuditLog(Path file, Path incidents, boolean fsync, long maxBytes, int keep, boolean failClosed,
            ObjectMapper json) throws IOException {
        this.file = file;
        this.incidents = incidents;
        this.fsync = fsync;
        this.maxBytes = maxBytes;
        this.keep = Math.max(1, keep);
        this.failClosed = failClosed;
        this.json = json;
        this.main = new Sink(file);
        this.incidentSink = incidents == null ? null : new Sink(incidents);
        main.open();
        if (incidentSink != null) {
            incidentSink.open();
        }
        this.writer = new Thread(this::writeLoop, "warden-audit-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /** @return true if the record reached the file */
    public boolean append(Map<String, Object> record) {
        return write(record, false);
    }

    /** An incident: written to the audit file and to the incident stream. */
    public boolean incident(Map<String, Object> record) {
        return write(record, true);
    }

    /**
     * Why the audit cannot be written now, or empty while it can. While it is down, asking makes the
     * writer try again and waits for that attempt, so the first call after the disk has room again
     * finds it writable.
     */
    public Optional<String> unwritable() {
        if (closed) {
            return Optional.of("the audit log is closed");
        }
        if (down == null) {
            long since = writingSince;
            long stuckMs = since == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
            return stuckMs > WAIT_MS ? Optional.of("a write has not returned for " + stuckMs / 1000 + " s")
                    : Optional.empty();
        }
        // callers asking at once share one attempt: the writer takes their probes as one batch
        Entry probe = new Entry(null, false, null);
        queue.add(probe);
        probe.await();
        return Optional.ofNullable(down);
    }

    /** From now on, {@code nanos} is told how long each caller of append or incident waited for its line to be written. */
    public void onWrite(java.util.function.LongConsumer nanos) {
        waited = nanos;
    }

    /** Whether Warden refuses new calls while {@link #unwritable()} (config {@code audit.fail_closed}). */
    public boolean failClosed() {
        return failClosed;
    }

    private boolean write(Map<String, Object> record, boolean incident) {
        Object id = record.get("execution_id");
        byte[] withNewline;
        try {
            withNewline = line(record);
        }
        catch (IOException e) {
            log.error("audit record {} could not be serialised: {}", id, e.getMessage());
            return false;
        }
        if (closed) {
            log.error("audit record {} could not be written to {}: the audit log is closed", id, file);
            return false;
        }
        Entry e = new Entry(withNewline, incident, id);
        long start = System.nanoTime();
        queue.add(e);
        boolean written = e.await();
        waited.accept(System.nanoTime() - start);
        if (!written) {
            if (!e.finished()) {
                log.error("audit record {} is not written to {} after {} ms; it stays queued", id, file, WAIT_MS);
            }
            return false;
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------
    // the writer thread

    private void writeLoop() {
        List<Entry> batch = new ArrayList<>();
        for (;;) {
            Entry first;
            try {
                first = down == null ? queue.take() : queue.poll(PROBE_EVERY_MS, TimeUnit.MILLISECONDS);
            }
            catch (InterruptedException e) {
                continue; // nobody else has this thread; close() stops it with STOP, not an interrupt
            }
            batch.clear();
            if (first != null) {
                batch.add(first);
            }
            queue.drainTo(batch);
            int stop = batch.indexOf(STOP);
            List<Entry> now = stop < 0 ? batch : batch.subList(0, stop);
            writingSince = System.nanoTime();
            try {
                commit(now);
            }
            catch (RuntimeException | Error e) {
                // never leave a caller waiting on a writer that died: fail the batch, keep the thread
                log.error("audit writer failed", e);
                now.forEach(x -> x.finish(false));
            }
            finally {
                writingSince = 0;
            }
            if (stop >= 0) {
                List<Entry> late = new ArrayList<>(batch.subList(stop + 1, batch.size()));
                queue.drainTo(late);
                late.forEach(x -> x.finish(false));
                return;
            }
        }
    }

    /** Writes a batch (records and probes) and tells each caller how it went. */
    private void commit(List<Entry> batch) {
        List<Entry> records = new ArrayList<>(batch.size());
        for (Entry e : batch) {
            if (e.line != null) {
                records.add(e);
            }
        }
        if (down != null) {
            try {
                recover();
            }
            catch (IOException e) {
                // still down: one attempt per batch, so a refused call is answered at once
                down = reason(e);
                keepForLater(records, down);
                batch.forEach(x -> x.finish(false));
                return;
            }
        }
        IOException failure = attempt(records);
        if (failure == null) {
            batch.forEach(x -> x.finish(true));
            return;
        }
        goDown(failure);
        keepForLater(records, down);
        batch.forEach(x -> x.finish(false));
    }

    /** The first attempt and the retries (each after reopening the files); null when it worked. */
    private IOException attempt(List<Entry> records) {
        IOException failure = null;
        for (int i = 0; i <= BACKOFF_MS.length; i++) {
            if (i > 0) {
                log.warn("audit write to {} failed ({}); reopening and trying again", file, reason(failure));
                sleep(BACKOFF_MS[i - 1]);
            }
            try {
                if (i > 0) {
                    reopen();
                }
                writeAll(records);
                return null;
            }
            catch (IOException e) {
                failure = e;
            }
        }
        return failure;
    }

    /**
     * Writes each record not yet written, one write(2) per file and record, then one fsync per file.
     * A record already written to a file (by an earlier attempt) is not written again, and the files'
     * known sizes move only after a whole line, so a retry never doubles or splits a line.
     */
    private void writeAll(Iterable<Entry> records) throws IOException {
        boolean mainDirty = false;
        boolean incidentDirty = false;
        for (Entry e : records) {
            if (!e.inMain) {
                if (maxBytes > 0 && main.size >= maxBytes) {
                    rotate();
                }
                main.write(e.line);
                e.inMain = true;
                mainDirty = true;
            }
            if (e.incident && incidentSink != null && !e.inIncidents) {
                incidentSink.write(e.line);
                e.inIncidents = true;
                incidentDirty = true;
            }
        }
        if (fsync && mainDirty) {
            main.channel.force(false);
        }
        if (fsync && incidentDirty) {
            incidentSink.channel.force(false);
        }
    }

    /** While down: reopen, write what happened and what is late, then the backlog. Throws if still down. */
    private void recover() throws IOException {
        reopen();
        Entry gap = gapRecord();
        if (gap != null) {
            writeAll(List.of(gap));
        }
        // now the gap line is written: a failure below is a new outage, with its own gap line
        lostCount = 0;
        lostIds.clear();
        try {
            writeAll(backlog);
        }
        finally {
            backlog.removeIf(e -> e.inMain && (!e.incident || incidentSink == null || e.inIncidents));
            backlogBytes = backlog.stream().mapToLong(e -> e.line.length).sum();
        }
        log.warn("audit log {} is writable again (down since {}: {})", file, downSince, down);
        down = null;
        downSince = null;
    }

    /** The line that says the audit had a gap: when, why, how many lines come late, which were lost. */
    private Entry gapRecord() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("ts", Instant.now().toString());
        r.put("type", "audit_gap");
        r.put("down_since", downSince == null ? null : downSince.toString());
        r.put("reason", down);
        r.put("late_lines", backlog.size());
        r.put("lost_lines", lostCount);
        r.put("lost_execution_ids", List.copyOf(lostIds));
        try {
            return new Entry(line(r), true, null);
        }
        catch (IOException e) {
            return null;
        }
    }

    /**
     * In a fleet, the replica that wrote every line (field {@code replica}, after {@code ts}), so the
     * replicas' files can be shipped to one place and still be told apart; null (no field) on a single server.
     */
    public void replica(String id) {
        replica = id;
    }

    /** A record as one line of JSON with its newline. */
    private byte[] line(Map<String, Object> record) throws IOException {
        String r = replica;
        if (r != null && !record.containsKey("replica")) {
            Map<String, Object> tagged = new LinkedHashMap<>();
            if (record.containsKey("ts")) {
                tagged.put("ts", record.get("ts"));
            }
            tagged.put("replica", r);
            tagged.putAll(record);
            record = tagged;
        }
        byte[] line = json.writeValueAsBytes(record);
        byte[] withNewline = new byte[line.length + 1];
        System.arraycopy(line, 0, withNewline, 0, line.length);
        withNewline[line.length] = '\n';
        return withNewline;
    }

    private void goDown(IOException failure) {
        String why = reason(failure);
        if (down == null) {
            downSince = Instant.now();
            log.error("AUDIT DOWN: {} cannot be written ({}){}", file, why,
                    failClosed ? "; Warden refuses calls until it can" : "; audit.fail_closed is off, calls go on");
            down = why;
            incidentNow();
        }
        down = why;
    }

    /**
     * The outage itself is an incident: told at once to the incident stream, which may live on
     * another disk (if it does not, the audit_gap line tells it later).
     */
    private void incidentNow() {
        if (incidentSink == null) {
            return;
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("ts", Instant.now().toString());
        r.put("type", "audit_down");
        r.put("reason", down);
        r.put("fail_closed", failClosed);
        try {
            incidentSink.write(line(r));
            if (fsync) {
                incidentSink.channel.force(false);
            }
        }
        catch (IOException e) {
            // that disk is full too: the audit_gap line says it when the audit can be written again
        }
    }

    /** Records not written: kept for the recovery, as many as the backlog holds; the rest are counted lost. */
    private void keepForLater(List<Entry> records, String why) {
        for (Entry e : records) {
            log.error("audit record {} could not be written to {}: {}", e.id, file, why);
            if (backlog.size() < BACKLOG_MAX && backlogBytes + e.line.length <= BACKLOG_BYTES_MAX) {
                backlog.add(e);
                backlogBytes += e.line.length;
            }
            else {
                lostCount++;
                if (lostIds.size() < LOST_IDS_MAX && e.id != null) {
                    lostIds.add(e.id);
                }
            }
        }
    }

    private void reopen() throws IOException {
        main.reopen();
        if (incidentSink != null) {
            incidentSink.reopen();
        }
    }

    private void rotate() throws IOException {
        main.channel.force(false);
        main.channel.close();
        Files.deleteIfExists(rotated(keep));
        for (int i = keep - 1; i >= 1; i--) {
            if (Files.exists(rotated(i))) {
                Files.move(rotated(i), rotated(i + 1), StandardCopyOption.ATOMIC_MOVE);
            }
        }
        if (Files.exists(file)) {
            Files.move(file, rotated(1), StandardCopyOption.ATOMIC_MOVE);
        }
        main.open();
        log.info("audit log rotated: {} -> {}", file, rotated(1));
    }

    /** A reason for a person, without the file's path (the agent may read it in a refusal). */
    static String reason(IOException e) {
        if (e == null) {
            return "unknown error";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        if (e instanceof ClosedChannelException) {
            return "the file was closed";
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        }
        catch (InterruptedException e) {
            // the writer is never interrupted by anyone; a pause cut short is harmless
        }
    }

    private Path rotated(int n) {
        return file.resolveSibling(file.getFileName() + "." + n);
    }

    /** One file, its channel, and its size after the last whole line the writer wrote. */
    private static final class Sink {

        final Path path;
        FileChannel channel;
        long size;
        /** The inode of the open file: a half line is cut off only from the file the writer wrote it to. */
        Object key;

        Sink(Path path) {
            this.path = path;
        }

        void open() throws IOException {
            Path dir = path.toAbsolutePath().getParent();
            if (dir != null) {
                Files.createDirectories(dir);
            }
            FileChannel c = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
            try {
                Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
                size = c.size();
                key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            }
            catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
            channel = c;
        }

        /** A fresh channel; a line a failed write left half-written at the end is cut off. */
        void reopen() throws IOException {
            long whole = size;
            Object was = key;
            if (channel != null) {
                try {
                    channel.close();
                }
                catch (IOException ignored) {
                    // the channel is being replaced because it failed
                }
                channel = null;
            }
            open();
            if (size > whole && was != null && was.equals(key)) {
                channel.truncate(whole);
                size = whole;
            }
        }

        void write(byte[] line) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            size += line.length;
        }
    }

    /** One record (or, with no line, a probe) and the caller waiting for it. */
    private static final class Entry {

        final byte[] line;
        final boolean incident;
        final Object id;
        private final CountDownLatch done = new CountDownLatch(1);
        private volatile boolean ok;
        /** Writer-only: which files already have this line (a retry writes only the rest). */
        boolean inMain;
        boolean inIncidents;

        Entry(byte[] line, boolean incident, Object id) {
            this.line = line;
            this.incident = incident;
            this.id = id;
        }

        void finish(boolean written) {
            if (done.getCount() > 0) {
                ok = written;
                done.countDown();
            }
        }

        boolean finished() {
            return done.getCount() == 0;
        }

        /**
         * Waits for the writer up to WAIT_MS. An interrupt does not cut the wait short (the answer
         * must not leave before its line is written); it is kept for the caller to see afterwards.
         */
        boolean await() {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            boolean interrupted = false;
            try {
                for (;;) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return finished() && ok;
                    }
                    try {
                        if (done.await(left, TimeUnit.NANOSECONDS)) {
                            return ok;
                        }
                    }
                    catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private static final Entry STOP = new Entry(null, false, null);

    public Path file() {
        return file;
    }

    /** The audit file and its rotated predecessors, newest first. */
    public List<Path> files() {
        List<Path> all = new ArrayList<>(List.of(file));
        for (int i = 1; i <= keep; i++) {
            if (Files.exists(rotated(i))) {
                all.add(rotated(i));
            }
        }
        return all;
    }

    public Path incidentFile() {
        return incidents;
    }

    /** Writes what is queued, stops the writer and closes the files; later records are refused. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        queue.add(STOP);
        boolean interrupted = false;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (writer.isAlive() && System.nanoTime() < deadline) {
            try {
                writer.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
            catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (!backlog.isEmpty() && !writer.isAlive()) {
            log.error("audit log {} closed with {} records it could not write ({})", file, backlog.size(), down);
        }
        if (writer.isAlive()) {
            log.error("audit writer of {} did not stop within {} ms; closing its files under it", file, WAIT_MS);
        }
        if (main.channel != null) {
            main.channel.close();
        }
        if (incidentSink != null && incidentSink.channel != null) {
            incidentSink.channel.close();
        }
    }
}
