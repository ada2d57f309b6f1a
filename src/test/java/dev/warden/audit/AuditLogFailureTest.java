package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit survives what a run can do to it: threads interrupted in the middle of an append (a
 * client's notifications/cancelled interrupts the call's thread), and a disk that fills up and is
 * freed again.
 */
class AuditLogFailureTest {

    private final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;

    /** The ids of every line of these files, each counted; the files must hold only whole JSON lines. */
    private Map<String, Integer> ids(List<Path> files) throws IOException {
        Map<String, Integer> seen = new HashMap<>();
        for (Path f : files) {
            for (String line : Files.readAllLines(f)) {
                Object id = json.readValue(line, Map.class).get("execution_id");
                if (id != null) {
                    seen.merge((String) id, 1, Integer::sum);
                }
            }
        }
        return seen;
    }

    @Test
    void interruptedAppendersNeverBreakTheLogForLaterCalls() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        int threads = 16;
        int each = 150;
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger lostInterrupts = new AtomicInteger();
        try (AuditLog log = new AuditLog(file, dir.resolve("incidents.jsonl"), false, 0, 1, json)) {
            List<Thread> appenders = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int base = t * each;
                appenders.add(new Thread(() -> {
                    for (int i = 0; i < each; i++) {
                        // half of them already interrupted when they reach the audit, as a cancelled call is
                        if (i % 2 == 0) {
                            Thread.currentThread().interrupt();
                        }
                        boolean wasSet = Thread.currentThread().isInterrupted();
                        if (!log.append(Map.of("execution_id", "ex_" + (base + i), "pad", "z".repeat(200)))) {
                            failed.incrementAndGet();
                        }
                        // the interrupt is kept for the caller (it is how the call learns it was cancelled)
                        if (wasSet && !Thread.interrupted()) {
                            lostInterrupts.incrementAndGet();
                        }
                        Thread.interrupted();
                    }
                }, "appender-" + t));
            }
            AtomicBoolean storm = new AtomicBoolean(true);
            // and the rest interrupted while they are inside the append
            Thread interrupter = new Thread(() -> {
                while (storm.get()) {
                    appenders.get(ThreadLocalRandom.current().nextInt(threads)).interrupt();
                    Thread.onSpinWait();
                }
            });
            appenders.forEach(Thread::start);
            interrupter.start();
            for (Thread t : appenders) {
                t.join();
            }
            storm.set(false);
            interrupter.join();
            assertEquals(0, failed.get(), "appends that failed during the interrupts");
            assertEquals(0, lostInterrupts.get(), "interrupts the append swallowed");
            for (int i = 0; i < 20; i++) {
                assertTrue(log.append(Map.of("execution_id", "ex_after_" + i)), "a later call is still audited");
            }
            assertEquals(Optional.empty(), log.unwritable());
            Map<String, Integer> seen = ids(List.of(file));
            assertEquals(threads * each + 20, seen.size(), "every line is in the file");
            assertTrue(seen.values().stream().allMatch(n -> n == 1), "and none twice");
        }
    }

    @Test
    void rotationUnderInterruptedConcurrentWritersKeepsEveryLineOnce() throws Exception {
        Path file = dir.resolve("a.jsonl");
        Path incidents = dir.resolve("i.jsonl");
        int threads = 12;
        int each = 200;
        long max = 20 * 1024;
        try (AuditLog log = new AuditLog(file, incidents, false, max, 1000, json)) {
            AtomicInteger failed = new AtomicInteger();
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int base = t * each;
                all.add(new Thread(() -> {
                    for (int i = 0; i < each; i++) {
                        if (ThreadLocalRandom.current().nextInt(3) == 0) {
                            Thread.currentThread().interrupt();
                        }
                        Map<String, Object> r = Map.of("execution_id", "ex_" + (base + i), "pad", "q".repeat(150));
                        boolean ok = (base + i) % 10 == 0 ? log.incident(r) : log.append(r);
                        if (!ok) {
                            failed.incrementAndGet();
                        }
                        Thread.interrupted();
                    }
                }));
            }
            all.forEach(Thread::start);
            for (Thread t : all) {
                t.join();
            }
            assertEquals(0, failed.get());
            List<Path> files = log.files();
            assertTrue(files.size() > 10, "rotated: " + files.size());
            for (Path f : files) {
                assertTrue(Files.size(f) < max + 300, f + " is " + Files.size(f) + " bytes: rotated between lines at max");
            }
            Map<String, Integer> seen = ids(files);
            assertEquals(threads * each, seen.size());
            assertTrue(seen.values().stream().allMatch(n -> n == 1), "no line twice");
            assertEquals(threads * each / 10, Files.readAllLines(incidents).size(), "each incident in the stream once");
        }
    }

    /** A tmpfs of 1 MB (root only; skipped elsewhere): a disk that really fills up. */
    private Path smallDisk() throws Exception {
        Path mnt = Files.createDirectory(dir.resolve("disk"));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mnt.toString())
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assumeTrue(p.waitFor() == 0, "needs root to mount a small tmpfs: " + out);
        return mnt;
    }

    private static void unmount(Path mnt) throws Exception {
        new ProcessBuilder("umount", "-l", mnt.toString()).inheritIO().start().waitFor();
    }

    /** Writes until the filesystem is full. */
    private static Path fill(Path mnt) throws IOException {
        Path filler = mnt.resolve("filler");
        byte[] chunk = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(filler)) {
            for (int i = 0; i < 1000; i++) {
                out.write(chunk);
            }
        }
        catch (IOException full) {
            // No space left on device: that is the point
        }
        return filler;
    }

    @Test
    void aFullDiskMakesTheLogUnhealthyAndItRecoversWhenSpaceIsFreed() throws Exception {
        Path mnt = smallDisk();
        try {
            Path file = mnt.resolve("audit.jsonl");
            Path incidents = mnt.resolve("incidents.jsonl");
            List<String> written = new ArrayList<>();
            List<String> notWritten = new ArrayList<>();
            try (AuditLog log = new AuditLog(file, incidents, true, 0, 1, json)) {
                assertTrue(log.append(Map.of("execution_id", "ex_before")));
                written.add("ex_before");
                Path filler = fill(mnt);
                // the file's last page may still hold a few lines; then the disk is full
                for (int i = 0; i < 200 && notWritten.isEmpty(); i++) {
                    String id = "ex_fill_" + i;
                    (log.append(Map.of("execution_id", id, "pad", "f".repeat(300))) ? written : notWritten).add(id);
                }
                assertFalse(notWritten.isEmpty(), "an append on a full disk reports that it failed");
                Optional<String> why = log.unwritable();
                assertTrue(why.isPresent(), "the log says it is down");
                assertEquals("No space left on device", why.get());
                // while down, appends fail at once and are kept for later
                long t0 = System.nanoTime();
                assertFalse(log.incident(Map.of("execution_id", "ex_while_down", "status", "blocked")));
                notWritten.add("ex_while_down");
                assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "a refused append does not wait out the retries");
                assertTrue(log.unwritable().isPresent(), "still down while the disk is full");

                Files.delete(filler);
                assertEquals(Optional.empty(), log.unwritable(), "writable again once space is freed");
                assertTrue(log.append(Map.of("execution_id", "ex_after")));
                written.add("ex_after");
            }
            // every line is whole JSON (a half-written line was cut off), and each record is there once:
            // those written late after an audit_gap line that says why
            Map<String, Integer> seen = ids(List.of(file));
            for (String id : written) {
                assertEquals(1, seen.getOrDefault(id, 0), id);
            }
            for (String id : notWritten) {
                assertEquals(1, seen.getOrDefault(id, 0), id + " (written late)");
            }
            List<String> lines = Files.readAllLines(file);
            Map<?, ?> gap = lines.stream().map(l -> {
                try {
                    return json.readValue(l, Map.class);
                }
                catch (IOException e) {
                    throw new AssertionError(e);
                }
            }).filter(m -> "audit_gap".equals(m.get("type"))).findFirst().orElseThrow();
            assertEquals("No space left on device", gap.get("reason"));
            assertEquals(notWritten.size(), gap.get("late_lines"));
            assertEquals(0, gap.get("lost_lines"));
            List<String> incidentLines = Files.readAllLines(incidents);
            assertTrue(incidentLines.stream().anyMatch(l -> l.contains("\"audit_gap\"")), "the gap is an incident");
            assertTrue(incidentLines.stream().anyMatch(l -> l.contains("ex_while_down")), "the late incident too");
            assertEquals("rw-------",
                    java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        }
        finally {
            unmount(mnt);
        }
    }
}
