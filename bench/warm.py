#!/usr/bin/env python3
"""Warm interpreters benchmark (bench/run.sh --warm-interpreters): stateless execute_code python
`print(1)` and javascript `console.log(1)` with warm interpreters (sandbox.warm_interpreters: true, the
default: the session's next sandbox has the interpreter already started, waiting for code) and without
(false: the pre-created sandbox waits with the plain stub, so each call pays the interpreter's start),
against bare `python3 -c 'print(1)'` and `node -e 'console.log(1)'`, in one run.

One server per setting, one session each; per case --warmup discarded calls, then --n measured ones,
--gap-ms apart (the pause, never timed, leaves the session's next sandbox the time to be made, as an
agent's thinking does). The audit line's sandbox_start of every measured call is counted, so the table
shows how each row's calls actually started. Target: warm p50 at most half the bare interpreter's p50.
Prints a Markdown table and writes bench/out/warm.md.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the stdio client and helpers of the main benchmark)

CASES = [
    ("python", "print(1)", "bare_python"),
    ("javascript", "console.log(1)", "bare_node"),
]
TARGET_RATIO = 0.5


def p99(ms):
    return statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]


def summary(samples_s):
    ms = [s * 1000.0 for s in samples_s]
    return {"n": len(ms), "p50": statistics.median(ms), "p99": p99(ms), "samples_ms": ms}


def server(args, dir_, warm):
    name = "on" if warm else "off"
    cfg = os.path.join(dir_, "warden-%s.yaml" % name)
    with open(bench.BENCH_CONFIG) as base, open(cfg, "w") as f:
        f.write(base.read())
        f.write("\nsandbox:\n  environment: %s\n  warm_interpreters: %s\n"
                % (args.environment, "true" if warm else "false"))
    ws = os.path.join(dir_, "ws-" + name)
    os.makedirs(ws)
    audit = os.path.join(dir_, "audit-%s.jsonl" % name)
    log = open(os.path.join(args.out, "warm-server.log"), "a")
    s = bench.Server(args.java, args.jar, audit, log, extra_args=("--workspace", ws, "--config", cfg))
    s.initialize()
    return s, audit


def measure(s, audit, language, code, args):
    times, failures, ids, runs = [], [], [], []
    for i in range(args.warmup + args.n):
        bench.pause(args.gap_ms / 1000.0)
        dt, status, detail, duration = s.call("execute_code", {"language": language, "code": code})
        if status != "ok":
            failures.append(detail)
        if i >= args.warmup:
            times.append(dt)
            if isinstance(duration, (int, float)):
                runs.append(duration)
            ids.append(((s.last.get("result") or {}).get("structuredContent") or {}).get("execution_id"))
    with open(audit) as f:
        starts = {}
        for line in f:
            entry = json.loads(line)
            if entry.get("execution_id") in ids:
                k = entry.get("sandbox_start", "none")
                starts[k] = starts.get(k, 0) + 1
    r = summary(times)
    r.update({"failures": failures, "starts": starts, "run_p50": statistics.median(runs) if runs else None})
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--gap-ms", type=float, default=300.0)
    ap.add_argument("--environment", default="host", choices=["host", "warden"],
                    help="sandbox.environment (default host: the same interpreters as the bare runs)")
    ap.add_argument("--jar", default=os.path.join(bench.ROOT, "target", "warden.jar"))
    ap.add_argument("--java", default="java")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    load_before = bench.loadavg()
    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="warden-bench-warm-") as dir_:
        os.chmod(dir_, 0o711)
        for language, code, bare in CASES:
            label, argv = bench.BARE_CASES[bare]
            t, _, bare_failures = bench.bench_bare_case(argv, dir_, args.warmup, args.n, args.gap_ms / 1000.0)
            results[bare] = summary(t)
            results[bare]["failures"] = bare_failures
        for warm in (True, False):
            s, audit = server(args, dir_, warm)
            try:
                for language, code, bare in CASES:
                    results["%s_%s" % (language, "warm" if warm else "cold")] = measure(s, audit, language, code, args)
            finally:
                s.close()
    lines = ["| case | n | p50 (ms) | p99 (ms) | run p50 (ms) | p50 / bare p50 | how the calls started (audit) | target |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    failed = 0
    for language, code, bare in CASES:
        b = results[bare]
        label = bench.BARE_CASES[bare][0]
        lines.append("| %s | %d | %s | %s | – | 1.00 | – | |" % (label, b["n"], bench.fmt(b["p50"]), bench.fmt(b["p99"])))
        failed += len(b["failures"])
        for mode in ("warm", "cold"):
            r = results["%s_%s" % (language, mode)]
            ratio = r["p50"] / b["p50"]
            target = ""
            if mode == "warm":
                target = "p50 ≤ %.1f × bare: %s" % (TARGET_RATIO, bench.met(ratio <= TARGET_RATIO))
            starts = ", ".join("%s %d" % kv for kv in sorted(r["starts"].items()))
            what = "warm interpreters" if mode == "warm" else "warm_interpreters: false"
            lines.append("| execute_code %s `%s`, %s | %d | %s | %s | %s | %.2f | %s | %s |"
                         % (language, code, what, r["n"], bench.fmt(r["p50"]), bench.fmt(r["p99"]),
                            bench.fmt(r["run_p50"], 0), ratio, starts, target))
            failed += len(r["failures"])
    lines.append("")
    lines.append("L2 on sandbox.environment %s; gap %.0f ms between calls (not timed); load %s → %s; %s"
                 % (args.environment, args.gap_ms, load_before, bench.loadavg(), bench.git_rev()))
    if failed:
        lines.append("")
        lines.append("%d calls or runs did not succeed (see bench/out/warm.json)" % failed)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(args.out, "warm.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "warm.json"), "w") as f:
        json.dump({"args": vars(args), "results": results, "markdown": text}, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
