#!/usr/bin/env python3
"""Warden's kernel benchmark (bench/run.sh --kernels): what a cell of a live interpreter costs over
stdio, against the bare interpreter start it saves and against a one-off execute_code call.

In one run, one server (bench-config.yaml, stdio):
- bare `python3 -c 'print(1)'` and `node -e 'console.log(1)'`, empty environment (bench.py's way);
- a cell `print(1)` of a python kernel and `console.log(1)` of a javascript kernel: p50 and p99 of the
  round trip (write the request line, read its response line), after --warmup cells;
- one-off execute_code python `print(1)` and javascript `console.log(1)` for comparison;
- the time to start a kernel: a cell with restart_kernel: true (a new interpreter, then the cell) minus the
  median cell;
- a kernel's memory at rest: the VmRSS of its interpreter (the sandbox's pid 1) after `pass`, and after
  `import numpy, pandas`;
- a 100-cell session: a python kernel that loads a 10,000-row CSV once and answers 99 questions about it,
  against the same 100 as one-off calls that each read the CSV again.
Prints a Markdown table and writes bench/out/kernels.md.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the stdio client and helpers of the main benchmark)

RSS = "print([l.split()[1] for l in open('/proc/1/status') if l.startswith('VmRSS')][0])"
CSV_ROWS = 10_000
LOAD = "import pandas as pd\ndf = pd.read_csv('data.csv')"
QUESTION = "df[df['g'] == {g}]['v'].mean()"


def pct(ms, q):
    ms = sorted(ms)
    return ms[min(len(ms) - 1, int(round(q * (len(ms) - 1))))]


def cell(server, language, code, kernel="k", **more):
    args = {"language": language, "code": code, **more}
    if kernel:
        args["kernel"] = kernel
    secs, status, detail, _ = server.call("execute_code", args)
    if status != "ok":
        raise RuntimeError("%s: %s %s" % (code[:60], status, detail))
    return secs * 1000.0, server.last["result"]["structuredContent"]


def series(server, language, code, n, warmup, kernel):
    for _ in range(warmup):
        cell(server, language, code, kernel)
    return [cell(server, language, code, kernel)[0] for _ in range(n)]


def bare(argv, n, warmup):
    times, _, failures = bench.bench_bare_case(argv, tempfile.gettempdir(), warmup, n, 0)
    if failures:
        raise RuntimeError("bare %s: %s" % (argv, failures))
    return [t * 1000.0 for t in times]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jar", default=os.path.join(bench.ROOT, "target", "warden.jar"))
    ap.add_argument("--java", default="java")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(bench.HERE, "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="warden-bench-kernels-") as d:
        os.chmod(d, 0o711)
        log = open(os.path.join(args.out, "kernels.log"), "w")
        server = bench.Server(args.java, args.jar, os.path.join(d, "audit.jsonl"), log,
                              extra_args=("--workspace", os.path.join(d, "ws")))
        try:
            server.initialize()
            py_bare = bare(["/usr/bin/python3", "-c", "print(1)"], args.n // 4, 5)
            node_bare = bare(["/usr/bin/node", "-e", "console.log(1)"], args.n // 4, 5)
            py_cell = series(server, "python", "print(1)", args.n, args.warmup, "k")
            js_cell = series(server, "javascript", "console.log(1)", args.n, args.warmup, "js")
            sh_cell = series(server, "bash", "echo 1", args.n, args.warmup, "sh")
            py_once = series(server, "python", "print(1)", args.n // 4, 5, None)
            js_once = series(server, "javascript", "console.log(1)", args.n // 4, 5, None)
            rows.append(("bare `python3 -c 'print(1)'`", py_bare))
            rows.append(("python kernel cell `print(1)`", py_cell))
            rows.append(("one-off execute_code python `print(1)`, cold (a session with a live kernel gets no warm interpreter)", py_once))
            rows.append(("bare `node -e 'console.log(1)'`", node_bare))
            rows.append(("javascript kernel cell `console.log(1)`", js_cell))
            rows.append(("one-off execute_code javascript `console.log(1)`, cold (likewise)", js_once))
            rows.append(("bash kernel cell `echo 1`", sh_cell))
            starts = {}
            for language, code, median in (("python", "pass", statistics.median(py_cell)),
                                           ("javascript", "1", statistics.median(js_cell)),
                                           ("bash", "true", statistics.median(sh_cell))):
                ms = [cell(server, language, code, "start-" + language, restart_kernel=True)[0] - median
                      for _ in range(args.starts)]
                starts[language] = statistics.median(ms)
            rss = {}
            for language, kernel in (("python", "k"), ("javascript", "js")):
                probe = RSS if language == "python" else \
                    "require('fs').readFileSync('/proc/1/status','utf8').split('\\n').find(l => l.startsWith('VmRSS')).split(/\\s+/)[1]"
                out = cell(server, language, probe, kernel)[1]["stdout"]
                rss[language] = int(out.strip().strip("'")) / 1024.0
            out = cell(server, "bash", "grep VmRSS /proc/1/status | awk '{print $2}'", "sh")[1]["stdout"]
            rss["bash"] = int(out.strip()) / 1024.0
            cell(server, "python", "import numpy, pandas", "k")
            rss["python + numpy, pandas"] = int(cell(server, "python", RSS, "k")[1]["stdout"].strip().strip("'")) / 1024.0
            # the 100-cell session
            gen = ("import random\nrandom.seed(1)\nwith open('data.csv', 'w') as f:\n    f.write('g,v\\n')\n"
                   "    for i in range(%d):\n        f.write('%%d,%%f\\n' %% (i %% 10, random.random()))" % CSV_ROWS)
            cell(server, "python", gen, None)
            t0 = time.perf_counter()
            cell(server, "python", LOAD, "nb", restart_kernel=True)
            for i in range(99):
                cell(server, "python", QUESTION.format(g=i % 10), "nb")
            session_ms = (time.perf_counter() - t0) * 1000.0
            t0 = time.perf_counter()
            for i in range(100):
                cell(server, "python", LOAD + "\nprint(" + QUESTION.format(g=i % 10) + ")", None)
            oneoff_ms = (time.perf_counter() - t0) * 1000.0
        finally:
            server.close()
    lines = ["| case | p50 ms | p99 ms | n |", "|---|---|---|---|"]
    for label, ms in rows:
        lines.append("| %s | %.1f | %.1f | %d |" % (label, statistics.median(ms), pct(ms, 0.99), len(ms)))
    lines += ["", "| kernel | start (ms, median of %d) | memory at rest (VmRSS, MB) |" % args.starts, "|---|---|---|"]
    for language in ("python", "javascript", "bash"):
        lines.append("| %s | %.0f | %.1f |" % (language, starts[language], rss[language]))
    lines.append("| python after `import numpy, pandas` | | %.1f |" % rss["python + numpy, pandas"])
    lines += ["", "| 100 cells on a %d-row CSV | total ms | per cell ms |" % CSV_ROWS, "|---|---|---|",
              "| one kernel: load once, 99 questions | %.0f | %.1f |" % (session_ms, session_ms / 100),
              "| 100 one-off calls, each loading it | %.0f | %.1f |" % (oneoff_ms, oneoff_ms / 100)]
    ratio = statistics.median(py_cell) / statistics.median(py_bare)
    lines += ["", "python kernel cell p50 / bare python start p50: %.2f; load average %s" % (ratio, bench.loadavg())]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.out, "kernels.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
