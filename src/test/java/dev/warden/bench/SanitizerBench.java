package dev.warden.bench;

import dev.warden.sanitize.Sanitizer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * Sanitizer time per 100 KB of output, printed, not asserted: the sanitizer before the gitleaks ruleset
 * (LegacySanitizer, a copy of it) and now, on typical output and on a worst case. Run by
 * bench/run.sh --sanitizer: java -cp target/warden.jar:target/test-classes dev.warden.bench.SanitizerBench [iterations]
 */
public final class SanitizerBench {

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        List<String> secrets = List.of("warden-server-token-0123456789");
        Map<String, String> paths = Map.of("/tmp/warden-ws-1/s-abc", "/workspace");
        long t0 = System.nanoTime();
        Sanitizer now = new Sanitizer(secrets, paths); // first use: reads and compiles the ruleset
        double loadMs = (System.nanoTime() - t0) / 1e6;
        LegacySanitizer before = new LegacySanitizer(secrets, paths);
        String text = fill("""
                [2026-03-03 10:12:44] INFO  worker-3 fetched 1832 rows from orders in 41 ms (cache hit ratio 0.93)
                drwxr-xr-x  5 agent agent 4096 Mar  3 10:12 src
                -rw-r--r--  1 agent agent 1832 Mar  3 10:11 README.md
                Compiling serde v1.0.197 (registry+https://github.com/rust-lang/crates.io-index)
                  File "/workspace/app.py", line 42, in <module>
                    main(config_file="settings.toml")
                ValueError: invalid literal for int() with base 10: 'abc'
                PASS src/cart.test.js (3.2 s)  ✓ adds an item  ✓ removes an item
                """);
        String code = fill("""
                import json, os, re
                from collections import Counter
                def count_words(path):
                    with open(path) as f:  # read the whole file at once
                        words = re.findall(r"[a-z']+", f.read().lower())
                    return Counter(words).most_common(10)
                class Cache:
                    def __init__(self, size=128):
                        self.size, self.items = size, {}
                    def get(self, key, default=None):
                        return self.items.get(key, default)
                print(json.dumps({"cwd": os.getcwd(), "note": "a string"}))
                """);
        String json = fill("""
                {"id": 1234, "name": "build-linux-x64", "status": "passed", "key": "build-1234", "duration_ms": 5321,
                 "access": "read-only", "auth_method": "oidc", "api_version": "v2", "url": "https://ci.example.com/builds/1234",
                 "author": {"name": "Ada", "email": "ada@example.com"}, "tags": ["linux", "x64", "release"]},
                """);
        // worst case: every line has keywords of many rules, and some real-looking secrets
        String worst = fill("""
                export API_KEY=$API_KEY TOKEN_FILE=tokens.txt password=None secret_ref=null auth=basic access=ro
                curl -H "Authorization: Bearer abc.def" -H "x-api-key: JA76rNicHTp8hkqdlm7tOtHWnsCGRlrwZbqcabUG" https://user:pw@h/
                {"auth": "Y2ktYm90OkptR0VwN0NnUTBQQlFGSTE0ekd0U25vdg==", "token": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}
                github gitlab slack stripe twilio heroku aws azure gcp sendgrid mailgun npm pypi vault hf_ sk- AKIA eyJ xox
                db:  password: "correct horse battery staple"  machine h login u password p4ssw0rd-longer
                """);
        String oneLine = json.replace("\n", " "); // minified JSON: no line to cut windows at
        System.out.printf(Locale.ROOT, "sanitizer time per 100 KB (%d iterations after %d warm-up); ruleset read and compiled in %.0f ms%n",
                n, n / 2, loadMs);
        System.out.printf(Locale.ROOT, "%-26s %-7s %9s %9s %9s %11s%n", "case", "", "p50 ms", "p99 ms", "max ms", "redactions");
        for (Object[] c : new Object[][] {{"text (logs, ls, traceback)", text}, {"code (python)", code}, {"JSON", json},
                {"JSON, one 100 KB line", oneLine}, {"worst case (keywords)", worst}}) {
            byte[] raw = ((String) c[1]).getBytes(StandardCharsets.UTF_8);
            report((String) c[0], "before", n, raw, r -> before.clean(r).redactions());
            report("", "now", n, raw, r -> now.clean(r).redactions());
        }
    }

    private static String fill(String block) {
        StringBuilder sb = new StringBuilder();
        while (sb.toString().getBytes(StandardCharsets.UTF_8).length + block.length() * 3 <= 100 * 1024) {
            sb.append(block);
        }
        while (sb.toString().getBytes(StandardCharsets.UTF_8).length < 100 * 1024) {
            sb.append(' ');
        }
        return sb.toString(); // 100 KB of UTF-8
    }

    private static void report(String name, String which, int n, byte[] raw, ToIntFunction<byte[]> run) {
        for (int i = 0; i < n / 2; i++) {
            run.applyAsInt(raw);
        }
        long[] t = new long[n];
        int redactions = 0;
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            redactions = run.applyAsInt(raw);
            t[i] = System.nanoTime() - t0;
        }
        Arrays.sort(t);
        double scale = 100 * 1024.0 / raw.length;
        System.out.printf(Locale.ROOT, "%-26s %-7s %9.3f %9.3f %9.3f %11d%n", name, which, t[n / 2] / 1e6 * scale,
                t[(int) (n * 0.99)] / 1e6 * scale, t[n - 1] / 1e6 * scale, redactions);
    }
}
