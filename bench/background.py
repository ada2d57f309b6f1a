#!/usr/bin/env python3
"""Background benchmark (bench/run.sh --background): what long-running work costs.

1. The session's shared network namespace: `run_command true` and `execute_code` python on a server
   whose sessions share one namespace (the default) against one where every run makes its own
   (`sandbox.share_session_network: false`), in alternating batches, as the ratio of the medians.
2. A background run: how long `background: true` takes to answer `running`, against the same program
   run synchronously; and how soon a line the program prints reaches a client waiting in
   `get_execution` (wait_ms), measured with the program's own clock (same machine).
Prints a Markdown table and writes it to bench/out/background.md.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the stdio client and helpers of the main benchmark)


def config(dir_, shared):
    cfg = os.path.join(dir_, "warden-%s.yaml" % ("shared" if shared else "own"))
    with open(bench.BENCH_CONFIG) as base, open(cfg, "w") as f:
        f.write(base.read() + "\nsandbox:\n  share_session_network: %s\n" % ("true" if shared else "false"))
    return cfg


def start(args, cfg, dir_, name):
    bench.BENCH_CONFIG = cfg
    log = open(os.path.join(args.out, "background-%s.log" % name), "w")
    ws = os.path.join(dir_, "ws-" + name)
    os.makedirs(ws, exist_ok=True)
    s = bench.Server(args.java, args.jar, os.path.join(dir_, "audit-%s.jsonl" % name), log,
                     extra_args=("--workspace", ws))
    s.initialize()
    s.call("run_command", {"command": "true"})  # the first call waits for the sandbox
    return s


def structured(server):
    return server.last["result"]["structuredContent"]


def median_ms(xs):
    return statistics.median(xs) * 1000.0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=40, help="calls per server and case (default 40)")
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--gap-ms", type=int, default=30)
    ap.add_argument("--jar", default=os.path.join(bench.ROOT, "target", "warden.jar"))
    ap.add_argument("--java", default="java")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    base_config = bench.BENCH_CONFIG
    rows = []
    with tempfile.TemporaryDirectory(prefix="warden-bench-bg-") as dir_:
        os.chmod(dir_, 0o711)  # the sandbox's uids pass through it to the workspaces
        shared = start(args, config(dir_, True), dir_, "shared")
        bench.BENCH_CONFIG = base_config
        own = start(args, config(dir_, False), dir_, "own")
        try:
            cases = [("run_command true", "run_command", {"command": "true"}),
                     ("execute_code python", "execute_code", {"language": "python", "code": "print(1)"})]
            for label, tool, a in cases:
                times = {"shared": [], "own": []}
                for _ in range(max(1, args.n // args.batch)):
                    for name, server in (("shared", shared), ("own", own)):
                        for _ in range(args.batch):
                            secs, status, detail, _ = server.call(tool, a)
                            if status != "ok":
                                raise RuntimeError("%s on %s: %s %s" % (label, name, status, detail))
                            times[name].append(secs)
                            time.sleep(args.gap_ms / 1000.0)
                s, o = median_ms(times["shared"]), median_ms(times["own"])
                rows.append(("%s, p50 ms: session namespace / own namespace" % label, "%.1f / %.1f" % (s, o),
                             "%.2f" % (s / o)))

            # a background start against the same program run synchronously
            prog = {"language": "python", "code": "print('x')"}
            sync_t, bg_t = [], []
            for _ in range(args.n // 2):
                secs, status, detail, _ = shared.call("execute_code", prog)
                sync_t.append(secs)
                secs, status, detail, _ = shared.call("execute_code", dict(prog, background=True))
                if status != "running":
                    raise RuntimeError("background start: %s %s" % (status, detail))
                bg_t.append(secs)
                eid = structured(shared)["execution_id"]
                while True:
                    shared.call("get_execution", {"execution_id": eid, "wait_ms": 5000})
                    if structured(shared)["status"] != "running":
                        break
                time.sleep(args.gap_ms / 1000.0)
            rows.append(("execute_code python print, p50 ms: answer `running` (background) / whole run (sync)",
                         "%.1f / %.1f" % (median_ms(bg_t), median_ms(sync_t)),
                         "%.2f" % (statistics.median(bg_t) / statistics.median(sync_t))))

            # a line printed while a client waits in get_execution: program's clock to the client's
            code = ("import sys, time\nfor i in range(%d):\n    time.sleep(0.2)\n"
                    "    sys.stdout.write('%%.6f\\n' %% time.time()); sys.stdout.flush()\n" % args.n)
            shared.call("execute_code", {"language": "python", "code": code, "background": True})
            eid = structured(shared)["execution_id"]
            lat = []
            off = 0
            while True:
                shared.call("get_execution", {"execution_id": eid, "wait_ms": 5000, "stdout_offset": off})
                sc = structured(shared)
                now = time.time()
                for line in sc["stdout"].splitlines():
                    lat.append(now - float(line))
                off = sc["stdout_offset"]
                if sc["status"] != "running":
                    break
            rows.append(("a printed line to a client waiting in get_execution, p50 / p90 ms (%d lines)" % len(lat),
                         "%.1f / %.1f" % (statistics.median(lat) * 1000,
                                          statistics.quantiles(lat, n=10)[8] * 1000), ""))
        finally:
            shared.close()
            own.close()

    lines = ["| measure | value | ratio |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % r for r in rows]
    lines.append("")
    lines.append("load average at the end: %s; %s" % (bench.loadavg(), json.dumps({"n": args.n})))
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(args.out, "background.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
