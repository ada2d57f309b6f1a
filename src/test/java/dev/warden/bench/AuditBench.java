package dev.warden.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.audit.AuditLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * What writing one audit line costs a call, printed, not asserted: p50/p99 of one append through
 * {@link AuditLog} (hand-over to its writer thread, write(2), hand-back) against the same line written
 * straight to a FileChannel on the caller's thread (how the audit wrote before it had a thread of its
 * own), with fsync off and on, one caller and eight at once. Run by bench/run.sh (--policy-only for
 * this part and the policy's alone):
 * java -cp target/warden.jar:target/test-classes dev.warden.bench.AuditBench [appends]
 */
public final class AuditBench {

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
        ObjectMapper json = new ObjectMapper();
        Path dir = Files.createTempDirectory("warden-audit-bench-");
        try {
            System.out.printf(Locale.ROOT, "audit line cost per call (%d appends of a ~1 KB call line after %d warm-up)%n", n, n / 2);
            System.out.printf(Locale.ROOT, "%-44s %9s %9s %9s%n", "case", "p50 ms", "p99 ms", "max ms");
            for (boolean fsync : new boolean[] {false, true}) {
                int m = fsync ? Math.max(100, n / 10) : n;
                Path direct = dir.resolve("direct-" + fsync + ".jsonl");
                try (FileChannel c = FileChannel.open(direct, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND)) {
                    Append write = i -> {
                        byte[] l = line(json, i);
                        synchronized (c) {
                            ByteBuffer b = ByteBuffer.wrap(l);
                            while (b.hasRemaining()) {
                                c.write(b);
                            }
                            if (fsync) {
                                c.force(false);
                            }
                        }
                    };
                    report("direct write on the caller's thread" + (fsync ? ", fsync" : ""), m, 1, write);
                    report("direct write, 8 callers at once" + (fsync ? ", fsync" : ""), m, 8, write);
                }
                try (AuditLog log = new AuditLog(dir.resolve("audit-" + fsync + ".jsonl"), dir.resolve("inc.jsonl"),
                        fsync, 0, 1, json)) {
                    report("AuditLog.append (writer thread)" + (fsync ? ", fsync" : ""), m, 1, i -> log.append(record(i)));
                    report("AuditLog.append, 8 callers at once" + (fsync ? ", fsync" : ""), m, 8, i -> log.append(record(i)));
                }
            }
        }
        finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    private interface Append {
        void run(int i) throws IOException;
    }

    private static Map<String, Object> record(int i) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("ts", "2026-12-02T17:00:00.000Z");
        r.put("type", "call");
        r.put("execution_id", "ex_" + i);
        r.put("session", "s-0123456789abcdef");
        r.put("client", "bench");
        r.put("tool", "run_command");
        r.put("arguments", Map.of("command", "echo " + "x".repeat(600)));
        r.put("tier", "L2");
        r.put("findings", List.of());
        r.put("status", "ok");
        r.put("total_ms", 12);
        return r;
    }

    private static byte[] line(ObjectMapper json, int i) throws IOException {
        byte[] l = json.writeValueAsBytes(record(i));
        byte[] b = Arrays.copyOf(l, l.length + 1);
        b[l.length] = '\n';
        return b;
    }

    /** Each of `callers` threads appends n times; the times of all of them together. */
    private static void report(String name, int n, int callers, Append append) throws Exception {
        for (int i = 0; i < n / 2; i++) {
            append.run(i);
        }
        long[] t = new long[n * callers];
        CountDownLatch go = new CountDownLatch(1);
        Thread[] threads = new Thread[callers];
        for (int c = 0; c < callers; c++) {
            int base = c * n;
            threads[c] = new Thread(() -> {
                try {
                    go.await();
                    for (int i = 0; i < n; i++) {
                        long t0 = System.nanoTime();
                        append.run(base + i);
                        t[base + i] = System.nanoTime() - t0;
                    }
                }
                catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            threads[c].start();
        }
        go.countDown();
        for (Thread th : threads) {
            th.join();
        }
        Arrays.sort(t);
        System.out.printf(Locale.ROOT, "%-44s %9.3f %9.3f %9.3f%n", name, t[t.length / 2] / 1e6,
                t[(int) (t.length * 0.99)] / 1e6, t[t.length - 1] / 1e6);
    }
}
