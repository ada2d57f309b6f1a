#!/usr/bin/env python3
"""Warden's environment benchmark (bench/run.sh --environment): what L2 runs cost on Warden's own
environment (sandbox.environment: warden, the exported warden/env tree) against the host's /usr
(sandbox.environment: host), and the same imports in an L3 container.

Per system tree: the first call of a fresh session (server started, initialized, then the first
execute_code python `print(1)`: it waits for the session's first sandbox), over --starts servers;
then, warm, medians over --n calls of python `pass`, of `import numpy` and of
`import numpy, pandas, matplotlib.pyplot` (where the tree has them), and the first
`import matplotlib.pyplot` of a session (it builds matplotlib's font cache under $HOME).
L3: the imports in the python container (policy routes python there). Prints a Markdown table and
writes bench/out/environment.md.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the stdio client and helpers of the main benchmark)

IMPORT_NUMPY = "import numpy"
IMPORT_ALL = "import numpy, pandas, matplotlib.pyplot"


BASE_CONFIG = bench.BENCH_CONFIG


def slug(name):
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()


def config(dir_, name, environment, l3=False):
    cfg = os.path.join(dir_, "warden-%s.yaml" % slug(name))
    with open(BASE_CONFIG) as base, open(cfg, "w") as f:
        f.write(base.read())
        f.write("\nsandbox:\n  environment: %s\n" % environment)
        if l3:
            policy = os.path.join(dir_, "policy-l3.yaml")
            with open(policy, "w") as p:
                p.write("rules:\n  - {id: code.container_only, match: {code: {languages: [python]}}}\n")
            f.write("policy:\n  file: \"%s\"\n" % policy)
            f.write("rate_limits:\n  per_tier:\n    L3: {capacity: 0, refill_per_minute: 0}\n")
    return cfg


def start(args, cfg, dir_, name, i):
    bench.BENCH_CONFIG = cfg  # the tree's own config (Server reads it at start), as the other benches do
    log = open(os.path.join(args.out, "environment-%s.log" % slug(name)), "a")
    ws = os.path.join(dir_, "ws-%s-%d" % (slug(name), i))
    os.makedirs(ws, exist_ok=True)
    return bench.Server(args.java, args.jar, os.path.join(dir_, "audit-%s.jsonl" % slug(name)), log,
                        extra_args=("--workspace", ws))


def python(server, code, want="ok"):
    secs, status, detail, _ = server.call("execute_code", {"language": "python", "code": code})
    if status != want:
        raise RuntimeError("%s: %s %s" % (code, status, detail))
    return secs


def median_ms(xs):
    return statistics.median(xs) * 1000.0


def has(server, module):
    _, status, _, _ = server.call("execute_code", {"language": "python", "code": "import " + module})
    return status == "ok"


def measure(args, dir_, name, environment, l3=False):
    cfg = config(dir_, name, environment, l3)
    bench.BENCH_CONFIG = cfg  # the Server passes it with --config
    row = {"name": name}
    firsts, mpl_first = [], []
    for i in range(args.starts):
        s = start(args, cfg, dir_, name, i)
        try:
            s.initialize()
            firsts.append(python(s, "print(1)"))
            if has(s, "numpy"):
                mpl_first.append(python(s, "import matplotlib.pyplot"))
            time.sleep(0.2)
        finally:
            s.close()
    row["first"] = median_ms(firsts)
    row["mpl_first"] = median_ms(mpl_first) if mpl_first else None
    s = start(args, cfg, dir_, name, 99)
    try:
        s.initialize()
        python(s, "print(1)")
        for key, code in (("pass", "pass"), ("numpy", IMPORT_NUMPY), ("all", IMPORT_ALL)):
            if key != "pass" and not has(s, "numpy"):
                row[key] = None
                continue
            xs = []
            for _ in range(args.n):
                xs.append(python(s, code))
                time.sleep(0.03)
            row[key] = median_ms(xs)
    finally:
        s.close()
    return row


def fmt(x):
    return "n/a (not installed)" if x is None else "%.0f" % x


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=15)
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--jar", default=os.path.join(bench.ROOT, "target", "warden.jar"))
    ap.add_argument("--java", default="java")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "out"))
    ap.add_argument("--no-l3", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="warden-bench-env-") as dir_:
        os.chmod(dir_, 0o711)
        rows.append(measure(args, dir_, "L2, Warden's environment", "warden"))
        rows.append(measure(args, dir_, "L2, host /usr", "host"))
        if not args.no_l3:
            rows.append(measure(args, dir_, "L3 container (warden/python)", "warden", l3=True))
    lines = [
        "| where | first call of a fresh session (ms) | first `import matplotlib.pyplot` of a session (ms) "
        "| python `pass` (ms) | `%s` (ms) | `%s` (ms) |" % (IMPORT_NUMPY, IMPORT_ALL),
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append("| %s | %s | %s | %s | %s | %s |" % (r["name"], fmt(r["first"]), fmt(r["mpl_first"]),
                                                        fmt(r["pass"]), fmt(r["numpy"]), fmt(r["all"])))
    lines.append("")
    lines.append("medians; first calls over %d servers each, the rest over %d calls; load %s; %s"
                 % (args.starts, args.n, bench.loadavg(), bench.git_rev()))
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(args.out, "environment.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
