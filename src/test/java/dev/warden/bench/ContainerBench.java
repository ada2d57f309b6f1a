package dev.warden.bench;

import dev.warden.config.ConfigLoader;
import dev.warden.config.ContainerLimits;
import dev.warden.config.WardenConfig;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Limits;
import dev.warden.exec.container.ContainerRuntime;
import dev.warden.policy.Policy;
import dev.warden.policy.PolicyLoader;
import dev.warden.session.WorkspaceDirs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * L3 container calls of python {@code print(1)}, printed, not asserted: a cold call (create, start,
 * run, usage; the removal happens after the result), a call on a warm container (p50/p99), and 20
 * concurrent calls on 20 warm containers of one session. In-process through the container
 * executor, so without the MCP round trip (about 1 ms, see the stdio figures). Needs the Docker
 * engine and warden/python. Once per OCI runtime (policy container_runtime): runc, then runsc
 * (gVisor) when the engine has it registered; the 20 concurrent calls under runc only. Run by
 * bench/run.sh --containers:
 * java -cp target/warden.jar:target/test-classes dev.warden.bench.ContainerBench [warm-n] [cold-n] [runc,runsc]
 */
public final class ContainerBench {

    public static void main(String[] args) throws Exception {
        int warmN = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int coldN = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        List<String> runtimes = List.of((args.length > 2 ? args[2] : "runc,runsc").split(","));
        int failed = 0;
        for (String runtime : runtimes) {
            failed += bench(runtime, warmN, coldN) ? 0 : 1;
        }
        System.exit(failed == runtimes.size() ? 1 : 0);
    }

    /** One runtime's figures; false when it could not run at all (said on stdout). */
    private static boolean bench(String oci, int warmN, int coldN) throws Exception {
        Path overlay = Files.createTempFile("warden-bench-", ".yaml");
        // no background refill: the bench fills the pool itself, outside the timed part
        Files.writeString(overlay, "container:\n  pool: {python: 0}\n  warm_max: 40\n");
        WardenConfig config = new ConfigLoader().load(overlay);
        Files.delete(overlay);
        Policy policy = new Policy(new PolicyLoader().load(null, null));
        Path state = Files.createTempDirectory("warden-bench-state-");
        Files.setAttribute(state, "unix:mode", 0755);
        Path root = Files.createTempDirectory("warden-bench-ws-");
        Files.setAttribute(root, "unix:mode", 0711);
        Path ws = root.resolve("session");
        WorkspaceDirs.create(ws, config.sandbox().gid());
        ContainerRuntime runtime = ContainerRuntime.start(config, state, policy::containerLimits, oci,
                java.util.concurrent.CompletableFuture.completedFuture(null), dev.warden.exec.EgressPorts.NONE);
        try {
            String down = runtime.unavailable("python").orElse(null);
            if (down != null) {
                System.out.println("container bench under " + oci + ": not run: " + down);
                return false;
            }
            Executor l3 = runtime.executor();
            ContainerLimits cl = policy.containerLimits("python");
            Limits base = Limits.of(config.limits());
            Limits limits = new Limits(10_000, base.cpuMs(), cl.memoryMb(), cl.pids(), base.outputBytes(),
                    base.fileSizeMb(), base.openFiles(), base.tmpMb());
            ExecRequest req = ExecRequest.code(List.of(), ws, new byte[0], Map.of(), Map.of(), "python", "print(1)");

            System.out.printf(Locale.ROOT, "L3 container calls under %s, python print(1), in-process (%d cores)%n",
                    oci, Runtime.getRuntime().availableProcessors());
            System.out.printf(Locale.ROOT, "%-40s %5s %7s %9s %9s %9s %9s%n", "case", "n", "non-ok", "p50 ms", "p90 ms",
                    "p99 ms", "max ms");
            // warm-up of the JVM's code paths, not measured
            for (int i = 0; i < 5; i++) {
                runtime.prewarm(ws, "python", 1);
                l3.run(req, limits);
            }
            long[] cold = new long[coldN];
            int coldBad = 0;
            for (int i = 0; i < coldN; i++) {
                Thread.sleep(300); // let the previous container's removal finish: it is not part of a call
                long t0 = System.nanoTime();
                ExecOutcome o = l3.run(req, limits);
                cold[i] = System.nanoTime() - t0;
                coldBad += ok(o) ? 0 : 1;
            }
            report("cold (create + start + run)", cold, coldBad, oci.equals("runc") ? "target p50 <= 400 ms" : "");
            long[] warm = new long[warmN];
            int warmBad = 0;
            for (int i = 0; i < warmN; i++) {
                runtime.prewarm(ws, "python", 1);
                Thread.sleep(100);
                long t0 = System.nanoTime();
                ExecOutcome o = l3.run(req, limits);
                warm[i] = System.nanoTime() - t0;
                warmBad += ok(o) ? 0 : 1;
            }
            report("warm (pre-started container)", warm, warmBad,
                    oci.equals("runc") ? "target p50 <= 50 ms, p99 <= 150 ms" : "");
            // 20 gVisor sandboxes at once (about 60 host threads each) are more than two cores take
            for (int round = 0; oci.equals("runc") && round < 3; round++) {
                concurrent(runtime, l3, req, limits, ws, 20);
            }
            System.out.println();
            return true;
        }
        finally {
            runtime.forget(ws);
            runtime.close();
            WorkspaceDirs.delete(root);
            WorkspaceDirs.delete(state);
        }
    }

    private static void concurrent(ContainerRuntime runtime, Executor l3, ExecRequest req, Limits limits, Path ws, int n)
            throws Exception {
        Thread.sleep(1000);
        runtime.prewarm(ws, "python", n);
        Thread.sleep(500);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<long[]>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            futures.add(pool.submit(() -> {
                go.await();
                long s = System.nanoTime();
                ExecOutcome o = l3.run(req, limits);
                return new long[] {System.nanoTime() - s, ok(o) ? 0 : 1};
            }));
        }
        t0 = System.nanoTime();
        go.countDown();
        long[] each = new long[n];
        int bad = 0;
        for (int i = 0; i < n; i++) {
            long[] r = futures.get(i).get();
            each[i] = r[0];
            bad += (int) r[1];
        }
        long all = System.nanoTime() - t0;
        pool.shutdown();
        report(n + " concurrent, warm (each call)", each, bad, "");
        System.out.printf(Locale.ROOT, "%-40s %5d %7d %9.1f   (target: all %d done within 1000 ms, all ok)%n",
                n + " concurrent, warm: all done after", n, bad, all / 1e6, n);
    }

    private static boolean ok(ExecOutcome o) {
        return o instanceof ExecOutcome.Completed c && c.exitCode() == 0
                && new String(c.stdout().bytes(), StandardCharsets.UTF_8).equals("1\n");
    }

    private static void report(String name, long[] t, int bad, String target) {
        long[] s = t.clone();
        Arrays.sort(s);
        int n = s.length;
        System.out.printf(Locale.ROOT, "%-40s %5d %7d %9.1f %9.1f %9.1f %9.1f   %s%n", name, n, bad, s[n / 2] / 1e6,
                s[(int) (n * 0.9)] / 1e6, s[Math.min(n - 1, (int) Math.ceil(n * 0.99) - 1)] / 1e6, s[n - 1] / 1e6, target);
    }
}
