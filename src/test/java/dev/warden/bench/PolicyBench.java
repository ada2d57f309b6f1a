package dev.warden.bench;

import dev.warden.policy.Decision;
import dev.warden.policy.Policy;
import dev.warden.policy.PolicyLoader;
import dev.warden.session.Workspace;
import dev.warden.session.Workspaces;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Policy decision time, printed, not asserted: p50/p99 for a 200-character command line and for
 * 100 KB of code in each scanned language. Run by bench/run.sh (--policy-only for this part alone):
 * java -cp target/warden.jar:target/test-classes dev.warden.bench.PolicyBench [iterations]
 */
public final class PolicyBench {

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        Policy policy = new Policy(new PolicyLoader().load(null, null));
        Workspaces workspaces = new Workspaces(Files.createTempDirectory("warden-bench-"), true, 61000, p -> { }, p -> { });
        Workspace ws = workspaces.forSession("bench");
        String base = "cd src && grep -rn \"TODO\" --include='*.py' . | sort | uniq -c | sort -rn | head -20 > todo.txt"
                + " && python3 -c 'import json,sys; print(json.dumps(sys.argv))' a b && echo \"$(date +%s) done\" || echo failed";
        String command = (base + " x".repeat(100)).substring(0, 200);
        String python = repeat("""
                import json, os, re
                from collections import Counter
                def count_words(path):
                    with open(path) as f:  # read the file: os.system("x") in a comment
                        words = re.findall(r"[a-z']+", f.read().lower())
                    return Counter(words).most_common(10)
                print(json.dumps({"cwd": os.getcwd(), "note": "subprocess.run in a string"}))
                """);
        String javascript = repeat("""
                const fs = require('fs');
                function countWords(text) { // child_process in a comment
                  const counts = new Map();
                  for (const w of text.toLowerCase().match(/[a-z']+/g) || []) counts.set(w, (counts.get(w) || 0) + 1);
                  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
                }
                console.log(`words: ${JSON.stringify(countWords('a b a'))}`);
                """);
        String bash = repeat("""
                for f in *.txt; do
                  n=$(wc -l < "$f")
                  if [ "$n" -gt 10 ]; then echo "$f: $n lines" | tee -a report.txt; fi
                done
                grep -rn TODO . | sort | uniq -c > todo.txt && echo ok || echo failed
                """);
        System.out.printf(Locale.ROOT, "policy decision time (%d iterations after %d warm-up)%n", n, n / 2);
        System.out.printf(Locale.ROOT, "%-34s %9s %9s %9s%n", "case", "p50 ms", "p99 ms", "max ms");
        report("run_command, 200-char command line", n, () -> policy.decideCommand(command, ws, "", false));
        report("execute_code python, 100 KB", n, () -> policy.decideCode("python", python, false));
        report("execute_code javascript, 100 KB", n, () -> policy.decideCode("javascript", javascript, false));
        report("execute_code bash, 100 KB", n, () -> policy.decideCode("bash", bash, false));
        workspaces.close();
    }

    private static String repeat(String block) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() + block.length() <= 100 * 1024) {
            sb.append(block); // whole blocks, just under 100 KB
        }
        return sb.toString();
    }

    private static void report(String name, int n, Supplier<Decision> run) {
        for (int i = 0; i < n / 2; i++) {
            run.get();
        }
        long[] t = new long[n];
        Decision last = null;
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            last = run.get();
            t[i] = System.nanoTime() - t0;
        }
        Arrays.sort(t);
        System.out.printf(Locale.ROOT, "%-34s %9.3f %9.3f %9.3f   -> %s, %d findings%n", name, t[n / 2] / 1e6,
                t[(int) (n * 0.99)] / 1e6, t[n - 1] / 1e6, last.blocked() ? "blocked" : last.tier(), last.findings().size());
        if (last.blocked() || last.held()) {
            System.out.println("    " + last.reason() + " " + last.findings());
        }
    }
}
