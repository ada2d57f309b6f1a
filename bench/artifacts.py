#!/usr/bin/env python3
"""Artifacts benchmark (bench/run.sh --artifacts): what listing a run's changed files costs.

After every run in L2 or L3 Warden walks the workspace for files whose ctime is not older than the
run's start (find -P, lstat only). This measures that walk where it costs most, a workspace that is a
large project: trees of 10,000 and 50,000 files (and 100, a small one, where the process start dominates). For each size, two servers (artifacts on, and
limits.artifacts_walk_ms: 0) each get the tree in their session's workspace, then --n `execute_code`
bash `true` calls (L2, changing nothing; `run_command true` is L1, which is not walked) alternate between them; the difference of the medians is the walk
as a call pays it. The same find run bare on the host over the same tree is printed beside it.
Prints a Markdown table and writes bench/out/artifacts.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the stdio client and helpers of the main benchmark)

MAKE_TREE = """
import os
n = {n}
per = 100
for d in range(n // per):
    os.makedirs("tree/d%d" % d)
    for f in range(per):
        open("tree/d%d/f%d.txt" % (d, f), "w").write("x")
print(n)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--sizes", default="100,10000,50000")
    ap.add_argument("--jar", default=os.path.join(bench.ROOT, "target", "warden.jar"))
    ap.add_argument("--java", default="java")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    base_config = open(bench.BENCH_CONFIG).read()
    log = open(os.path.join(args.out, "artifacts.log"), "w")
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="warden-bench-artifacts-") as dir_:
            os.chmod(dir_, 0o711)
            servers = {}
            try:
                for mode, walk_ms in (("on", 2000), ("off", 0)):
                    cfg = os.path.join(dir_, "config-%s.yaml" % mode)
                    with open(cfg, "w") as f:
                        f.write(base_config + "\nlimits:\n  artifacts_walk_ms: %d\n" % walk_ms)
                    ws = os.path.join(dir_, "ws-" + mode)
                    os.makedirs(ws)
                    bench.BENCH_CONFIG = cfg  # the Server below starts with this config
                    s = bench.Server(args.java, args.jar, os.path.join(dir_, "audit-%s.jsonl" % mode), log,
                                     extra_args=("--workspace", ws))
                    servers[mode] = s
                    s.initialize()
                    secs, status, detail, _ = s.call("execute_code", {"language": "python",
                                                                      "code": MAKE_TREE.format(n=size),
                                                                      "timeout_ms": 120000})
                    if status != "ok":
                        raise RuntimeError("making the tree: %s %s" % (status, detail))
                    made = s.last["result"]["structuredContent"]
                    if mode == "on" and size > 100 and (made.get("artifacts_truncated") is not True
                                                        or len(made["artifacts"]) != 100):
                        raise RuntimeError("the tree's own run should list 100 and say truncated: %s" %
                                           json.dumps({k: made.get(k) for k in ("artifacts_truncated",)}))
                times = {"on": [], "off": []}
                for i in range(args.n + 3):
                    for mode in ("on", "off"):
                        secs, status, detail, _ = servers[mode].call("execute_code", {"language": "bash", "code": "true"})
                        sc = servers[mode].last["result"]["structuredContent"]
                        if status != "ok" or sc["tier"] != "L2":
                            raise RuntimeError("execute_code bash true: %s %s %s" % (status, sc.get("tier"), detail))
                        if mode == "on" and sc.get("artifacts") != []:
                            raise RuntimeError("a run that changed nothing listed %s" % sc.get("artifacts"))
                        if i >= 3:  # the first three warm up
                            times[mode].append(secs * 1000.0)
                        time.sleep(0.03)
                host_ws = os.path.join(dir_, "ws-on")
                host_ws = os.path.join(host_ws, [d for d in os.listdir(host_ws) if d.startswith("s-")][0])
                bare = []
                for _ in range(args.n):
                    t0 = time.perf_counter()
                    subprocess.run(["/usr/bin/find", "-P", host_ws, "-xdev", "-type", "f", "-newerct",
                                    "@%.9f" % time.time(), "-printf", "%s\\t%P\\0"], stdout=subprocess.DEVNULL,
                                   check=True)
                    bare.append((time.perf_counter() - t0) * 1000.0)
                on, off = statistics.median(times["on"]), statistics.median(times["off"])
                rows.append((size, on, off, on - off, statistics.median(bare), max(bare)))
            finally:
                for s in servers.values():
                    s.close()
    lines = ["| workspace files | execute_code bash `true` p50, artifacts on (ms) | off (ms) | walk as the call pays it (ms) "
             "| bare find p50 / max (ms) |", "|---:|---:|---:|---:|---:|"]
    lines += ["| %d | %.1f | %.1f | %+.1f | %.1f / %.1f |" % r for r in rows]
    lines.append("")
    lines.append("load average at the end: %s; %s" % (bench.loadavg(), json.dumps({"n": args.n})))
    text_out = "\n".join(lines)
    print(text_out)
    with open(os.path.join(args.out, "artifacts.md"), "w") as f:
        f.write(text_out + "\n")


if __name__ == "__main__":
    main()
