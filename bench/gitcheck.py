#!/usr/bin/env python3
"""Project mode's git check (GitTripwire): what it costs a call.

After every L2/L3 run in project mode a fixed program in a sandbox of the session looks for git metadata
planted for the owner's git to run (nested repositories' configs and hooks, commondir files) and sets it
aside. This times `execute_code` bash `true` (L2, changing nothing) in project mode on two servers that
take turns, one with the check (--jar) and one without it (--baseline-jar, a build from before it), over
a git repository of --files files (a tree of directories of 100 files). The difference of the medians is
the check as a call pays it. Prints a Markdown table and writes bench/out/gitcheck.md.

    python3 bench/gitcheck.py --baseline-jar OLD.jar [--jar target/warden.jar] [--sizes 100,10000] [--n 30]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the stdio client and helpers of the main benchmark)

OWNER = 4321


def project(dir_, files):
    p = os.path.join(dir_, "proj")
    for d in range(max(1, files // 100)):
        os.makedirs(os.path.join(p, "src", "d%d" % d))
        for f in range(min(100, files)):
            open(os.path.join(p, "src", "d%d" % d, "f%d.txt" % f), "w").write("x")
    subprocess.run(["git", "init", "-q", p], check=True)
    subprocess.run(["chown", "-R", "%d:%d" % (OWNER, OWNER), p], check=True)
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jar", default=os.path.join(bench.ROOT, "target", "warden.jar"))
    ap.add_argument("--baseline-jar", required=True)
    ap.add_argument("--sizes", default="100,10000")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--java", default="java")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "gitcheck.log"), "w")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="warden-bench-gitcheck-") as dir_:
            os.chmod(dir_, 0o711)
            proj = project(dir_, size)
            servers = {}
            try:
                for label, jar in (("check", args.jar), ("none", args.baseline_jar)):
                    ws = os.path.join(dir_, "ws-" + label)
                    os.makedirs(ws)
                    s = bench.Server(args.java, jar, os.path.join(dir_, "audit-%s.jsonl" % label), log,
                                     extra_args=("--workspace", ws, "--project", proj))
                    servers[label] = s
                    s.initialize()
                times = {"check": [], "none": []}
                for i in range(args.n + 3):
                    for label in ("check", "none"):
                        secs, status, detail, _ = servers[label].call("execute_code", {"language": "bash", "code": "true"})
                        sc = servers[label].last["result"]["structuredContent"]
                        if status != "ok" or sc["tier"] != "L2":
                            raise RuntimeError("execute_code bash true: %s %s %s" % (status, sc.get("tier"), detail))
                        if i >= 3:
                            times[label].append(secs * 1000)
            finally:
                for s in servers.values():
                    s.close()
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((size, med["check"], med["none"], med["check"] - med["none"]))
    out = ["| project files | with the check p50 | without p50 | the check |", "|---|---|---|---|"]
    for size, a, b, d in rows:
        out.append("| %d | %.1f ms | %.1f ms | %+.1f ms |" % (size, a, b, d))
    text = "\n".join(out) + "\n\n(execute_code bash `true`, %d calls each, taking turns; load average %s)\n" % (
        args.n, " ".join("%.2f" % x for x in os.getloadavg()))
    print(text)
    open(os.path.join(args.out, "gitcheck.md"), "w").write(text)


if __name__ == "__main__":
    main()
