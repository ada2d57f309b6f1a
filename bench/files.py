#!/usr/bin/env python3
"""File tools benchmark (bench/run.sh --files): what read_file, write_file and list_files cost.

read_file of 1 MiB (base64 and text), write_file of 1 MiB, list_files of a 10,000-file tree (recursive,
10,000 entries), each against the same operation done bare on the host (reading the file, listing the
tree with os.walk), as medians over --n calls. Prints a Markdown table and writes bench/out/files.md.
"""
import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the stdio client and helpers of the main benchmark)


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        time.sleep(0.02)
    return statistics.median(out) * 1000.0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--jar", default=os.path.join(bench.ROOT, "target", "warden.jar"))
    ap.add_argument("--java", default="java")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="warden-bench-files-") as dir_:
        os.chmod(dir_, 0o711)
        ws = os.path.join(dir_, "ws")
        os.makedirs(ws)
        log = open(os.path.join(args.out, "files.log"), "w")
        s = bench.Server(args.java, args.jar, os.path.join(dir_, "audit.jsonl"), log, extra_args=("--workspace", ws))
        try:
            s.initialize()
            data = os.urandom(1 << 20)
            text = ("x" * 99 + "\n") * ((1 << 20) // 100)

            def call(tool, a, want="ok"):
                secs, status, detail, _ = s.call(tool, a)
                if status != want:
                    raise RuntimeError("%s: %s %s" % (tool, status, detail))
                return s.last["result"]["structuredContent"]

            call("write_file", {"path": "bin.dat", "content": base64.b64encode(data).decode(), "encoding": "base64"})
            call("write_file", {"path": "text.txt", "content": text})
            call("run_command", {"command": "bash -c 'mkdir -p tree && cd tree && for d in $(seq 1 100); do mkdir d$d; "
                                 "for f in $(seq 1 100); do : > d$d/f$f; done; done'"})
            # the host paths of the same files (the session's workspace is the one directory under ws)
            host_ws = os.path.join(ws, [d for d in os.listdir(ws) if d.startswith("s-")][0])
            b64 = base64.b64encode(data).decode()
            rows.append(("read_file 1 MiB binary (base64) / bare read",
                         timed(lambda: call("read_file", {"path": "bin.dat"}), args.n),
                         timed(lambda: open(os.path.join(host_ws, "bin.dat"), "rb").read(), args.n)))
            rows.append(("read_file 1 MiB text (sanitized) / bare read",
                         timed(lambda: call("read_file", {"path": "text.txt"}), args.n),
                         timed(lambda: open(os.path.join(host_ws, "text.txt"), "rb").read(), args.n)))
            rows.append(("write_file 1 MiB binary (base64) / bare write",
                         timed(lambda: call("write_file", {"path": "w.dat", "content": b64, "encoding": "base64"}), args.n),
                         timed(lambda: open(os.path.join(dir_, "w.dat"), "wb").write(data), args.n)))

            def walk():
                return sum(len(d) + len(f) for _, d, f in os.walk(os.path.join(host_ws, "tree")))
            listed = call("list_files", {"path": "tree", "recursive": True, "max_entries": 10000})
            assert len(listed["entries"]) == 10000, len(listed["entries"])
            rows.append(("list_files 10,000 entries (recursive) / bare os.walk",
                         timed(lambda: call("list_files", {"path": "tree", "recursive": True, "max_entries": 10000}),
                               args.n),
                         timed(walk, args.n)))
        finally:
            s.close()
    lines = ["| operation, p50 ms | through Warden | bare on the host |", "|---|---:|---:|"]
    lines += ["| %s | %.1f | %.2f |" % r for r in rows]
    lines.append("")
    lines.append("load average at the end: %s; %s" % (bench.loadavg(), json.dumps({"n": args.n})))
    text_out = "\n".join(lines)
    print(text_out)
    with open(os.path.join(args.out, "files.md"), "w") as f:
        f.write(text_out + "\n")


if __name__ == "__main__":
    main()
