package dev.warden.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * What the walk for a run's changed files costs by itself, printed, not asserted: p50/p90/max of
 * {@link ChangedFiles#since} (process start, find -P over the tree, parsing) over trees of 100, 10,000
 * and 50,000 files on the temp directory's filesystem, one of them changed. Run by bench/run.sh --artifacts:
 * java -cp target/warden.jar:target/test-classes dev.warden.pipeline.ChangedFilesBench [n]
 */
public final class ChangedFilesBench {

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        System.out.printf(Locale.ROOT, "%-28s %9s %9s %9s%n", "walk of (files)", "p50 ms", "p90 ms", "max ms");
        for (int size : new int[] {100, 10_000, 50_000}) {
            Path root = Files.createTempDirectory("warden-walk-bench-");
            try {
                for (int d = 0; d < size / 100; d++) {
                    Path dir = Files.createDirectories(root.resolve("d" + d));
                    for (int f = 0; f < 100; f++) {
                        Files.writeString(dir.resolve("f" + f + ".txt"), "x");
                    }
                }
                Thread.sleep(50);
                Instant since = Instant.now().minusMillis(Artifacts.MARGIN_MS);
                Files.writeString(root.resolve("d0/f0.txt"), "changed");
                ChangedFiles walk = new ChangedFiles(10_000);
                List<Double> ms = new ArrayList<>();
                for (int i = 0; i < n + 3; i++) {
                    long t0 = System.nanoTime();
                    ChangedFiles.Scan scan = walk.since(root, since);
                    double took = (System.nanoTime() - t0) / 1e6;
                    if (scan.files().size() != 1 || scan.truncated()) {
                        throw new IllegalStateException("expected the one changed file: " + scan);
                    }
                    if (i >= 3) {
                        ms.add(took);
                    }
                }
                ms.sort(Comparator.naturalOrder());
                System.out.printf(Locale.ROOT, "%-28s %9.1f %9.1f %9.1f%n", String.format("%,d", size),
                        ms.get(ms.size() / 2), ms.get(ms.size() * 9 / 10), ms.get(ms.size() - 1));
            }
            finally {
                try (var s = Files.walk(root)) {
                    s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
        System.out.println("load average: " + Files.readString(Path.of("/proc/loadavg")).strip());
    }
}
