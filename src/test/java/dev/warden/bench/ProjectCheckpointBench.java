package dev.warden.bench;

import dev.warden.call.Tenants;
import dev.warden.session.UidLeases;
import dev.warden.session.Workspace;
import dev.warden.session.WorkspaceDirs;
import dev.warden.session.Workspaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * What an approved call's checkpoint costs in project mode, printed, not asserted: checkpoint plus
 * restore (a failed call) and checkpoint plus keeping the changes (a successful one) of a project of
 * {@code files} files and {@code mb} MB when the call changed one file, against copying the project
 * aside once (what the checkpoint of an empty workspace does). Needs root (mounts). Run by bench/run.sh
 * --project: java -cp target/warden.jar:target/test-classes dev.warden.bench.ProjectCheckpointBench [files] [mb] [n]
 */
public final class ProjectCheckpointBench {

    public static void main(String[] args) throws Exception {
        int files = args.length > 0 ? Integer.parseInt(args[0]) : 50_000;
        int mb = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        Path dir = Files.createTempDirectory("warden-bench-project-");
        Files.setAttribute(dir, "unix:mode", 0755);
        Path project = dir.resolve("project");
        long t0 = System.nanoTime();
        long bytes = makeProject(project, files, (long) mb << 20);
        System.out.printf(Locale.ROOT, "project: %d files, %d MB (made in %.1f s)%n", files, bytes >> 20,
                (System.nanoTime() - t0) / 1e9);
        Workspaces workspaces = new Workspaces(dir.resolve("root"), true, 61000, p -> { }, p -> { });
        workspaces.tenancy(new Workspaces.Tenancy(new Tenants(), new UidLeases(dir.resolve("uids"), 300_000, 16),
                Workspaces.Project.of(project)));
        try {
            Workspace ws = workspaces.forSession("bench");
            Path changed = ws.root().resolve("d0/f0");
            double[] restore = new double[n];
            double[] keep = new double[n];
            for (int i = 0; i < n; i++) {
                long a = System.nanoTime();
                Path ckpt = workspaces.checkpoint(ws, "r" + i, Long.MAX_VALUE).orElseThrow();
                Files.writeString(changed, "changed " + i); // the call's one change, through the overlay
                workspaces.restore(ws, ckpt);
                restore[i] = (System.nanoTime() - a) / 1e6;
                a = System.nanoTime();
                ckpt = workspaces.checkpoint(ws, "k" + i, Long.MAX_VALUE).orElseThrow();
                Files.writeString(changed, "kept " + i);
                workspaces.keep(ws, ckpt);
                keep[i] = (System.nanoTime() - a) / 1e6;
            }
            if (!Files.readString(project.resolve("d0/f0")).equals("kept " + (n - 1))) {
                throw new IllegalStateException("the kept change is not in the project");
            }
            long c = System.nanoTime();
            Path copy = dir.resolve("copy");
            WorkspaceDirs.copy(project, copy, Long.MAX_VALUE);
            double copyMs = (System.nanoTime() - c) / 1e6;
            WorkspaceDirs.delete(copy);
            System.out.printf(Locale.ROOT, "checkpoint + restore (failed call, 1 file changed): p50 %.1f ms, max %.1f ms%n",
                    p50(restore), max(restore));
            System.out.printf(Locale.ROOT, "checkpoint + keep (successful call, 1 file changed): p50 %.1f ms, max %.1f ms%n",
                    p50(keep), max(keep));
            System.out.printf(Locale.ROOT, "copying the project aside once (the empty workspace's checkpoint): %.0f ms%n",
                    copyMs);
        }
        finally {
            workspaces.close();
            WorkspaceDirs.delete(dir);
        }
    }

    /** {@code files} files in directories of 500, sized so that together they make {@code total} bytes. */
    private static long makeProject(Path project, int files, long total) throws IOException, InterruptedException {
        Files.createDirectories(project);
        byte[] block = new byte[1 << 20];
        new java.util.Random(1).nextBytes(block);
        int big = 10;
        long small = 1024;
        long bigSize = Math.max(0, (total - small * (files - big)) / big);
        long sum = 0;
        for (int i = 0; i < files; i++) {
            Path d = project.resolve("d" + (i / 500));
            if (i % 500 == 0) {
                Files.createDirectories(d);
            }
            long size = i < big ? bigSize : small;
            try (var out = Files.newOutputStream(d.resolve("f" + i))) {
                for (long w = 0; w < size; w += block.length) {
                    out.write(block, 0, (int) Math.min(block.length, size - w));
                }
            }
            sum += size;
        }
        new ProcessBuilder("chown", "-R", "4321:4321", project.toString()).inheritIO().start().waitFor();
        return sum;
    }

    private static double p50(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(0);
    }
}
