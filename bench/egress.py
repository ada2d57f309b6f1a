#!/usr/bin/env python3
"""Egress benchmark (bench/run.sh --egress): what Warden's proxy costs.

1. A 50 MB download from a server on this machine's loopback: time to first byte and throughput with
   curl on the host (direct), and with curl inside an L2 run through Warden's proxy, plain HTTP
   (forwarded) and through a CONNECT tunnel.
2. A call that uses no network (`run_command true`, `execute_code` python): a server with egress
   on against one with `network.enabled: false`, in alternating batches, so the proxy's cost to
   calls that never touch it shows as the ratio of the two medians.
Prints a Markdown table and writes it to bench/out/egress.md.
"""
import argparse
import http.server
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the stdio client and helpers of the main benchmark)

SIZE = 50 * 1024 * 1024
PAYLOAD = b"w" * SIZE
CURL_W = "%{time_starttransfer} %{speed_download}\\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(SIZE))
        self.end_headers()
        view = memoryview(PAYLOAD)
        for i in range(0, SIZE, 1 << 20):
            self.wfile.write(view[i:i + (1 << 20)])

    def log_message(self, *args):
        pass


def config(dir_, port, enabled):
    policy = os.path.join(dir_, "policy-%s.yaml" % ("on" if enabled else "off"))
    with open(policy, "w") as f:
        f.write("network:\n  enabled: %s\n  allow: [\"egress.test:%d\", \"127.0.0.1:%d\"]\n"
                "  hosts: {egress.test: 127.0.0.1}\n" % ("true" if enabled else "false", port, port))
    cfg = os.path.join(dir_, "warden-%s.yaml" % ("on" if enabled else "off"))
    with open(bench.BENCH_CONFIG) as base, open(cfg, "w") as f:
        f.write(base.read() + "\npolicy:\n  file: \"%s\"\n" % policy)
    return cfg


def start(args, cfg, dir_, name):
    bench.BENCH_CONFIG = cfg
    log = open(os.path.join(args.out, "egress-%s.log" % name), "w")
    s = bench.Server(args.java, args.jar, os.path.join(dir_, "audit-%s.jsonl" % name), log,
                     extra_args=("--workspace", os.path.join(dir_, "ws-" + name)))
    os.makedirs(os.path.join(dir_, "ws-" + name), exist_ok=True)
    s.initialize()
    # the first call waits for the sandbox; keep it out of the figures
    s.call("run_command", {"command": "true"})
    return s


def parse_curl(text):
    ttfb, speed = text.strip().split()[-2:]
    return float(ttfb) * 1000, float(speed) / (1 << 20)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--downloads", type=int, default=5, help="downloads per way (default 5)")
    ap.add_argument("--n", type=int, default=60, help="calls per server for the no-network cost (default 60)")
    ap.add_argument("--jar", default=os.path.join(bench.ROOT, "target", "warden.jar"))
    ap.add_argument("--java", default="java")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    dir_ = tempfile.mkdtemp(prefix="warden-bench-egress-")
    os.chmod(dir_, 0o711)
    on = start(args, config(dir_, port, True), dir_, "on")
    off = start(args, config(dir_, port, False), dir_, "off")
    rows = []
    try:
        direct, plain, tunnel = [], [], []
        for _ in range(args.downloads + 1):
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", CURL_W.replace("\\n", "\n"),
                                  "http://127.0.0.1:%d/big" % port], capture_output=True, text=True, check=True).stdout
            direct.append(parse_curl(out))
            for way, flag in ((plain, ""), (tunnel, "--proxytunnel ")):
                _, status, detail, _ = on.call("run_command", {
                    "command": "curl -s %s-o /dev/null -w '%s' http://egress.test:%d/big" % (flag, CURL_W, port),
                    "timeout_ms": 60000})
                if status != "ok":
                    raise RuntimeError("download through the proxy: %s %s" % (status, detail))
                way.append(parse_curl(bench_stdout(on)))
        for name, samples in (("curl on the host, direct", direct), ("curl in L2, through the proxy (http)", plain),
                              ("curl in L2, through the proxy (CONNECT tunnel)", tunnel)):
            s = samples[1:]  # the first is a warm-up
            rows.append((name, statistics.median(x[0] for x in s), statistics.median(x[1] for x in s)))

        calls = {"run_command true": ("run_command", {"command": "true"}),
                 "execute_code python": ("execute_code", {"language": "python", "code": "print(1)"})}
        cost = []
        for label, (tool, a) in calls.items():
            t = {"on": [], "off": []}
            for batch in range(args.n // 10):
                for name, server in (("on", on), ("off", off)) if batch % 2 == 0 else (("off", off), ("on", on)):
                    for _ in range(10):
                        sec, status, detail, _ = server.call(tool, a)
                        if status != "ok":
                            raise RuntimeError("%s: %s %s" % (label, status, detail))
                        t[name].append(sec * 1000)
                        time.sleep(0.02)
            m_on, m_off = statistics.median(t["on"]), statistics.median(t["off"])
            cost.append((label, m_off, m_on, m_on / m_off))
    finally:
        on.close()
        off.close()
        srv.shutdown()

    lines = ["# Egress benchmark", "", "load average at the end: %s; %s" % (bench.loadavg(), bench.git_rev()), "",
             "| 50 MB download from 127.0.0.1 | time to first byte (ms, median) | throughput (MiB/s, median) |",
             "|---|---|---|"]
    for name, ttfb, mibs in rows:
        lines.append("| %s | %.1f | %.0f |" % (name, ttfb, mibs))
    lines += ["", "| call with no network use (ms, median of %d) | egress off | egress on | ratio |" % args.n, "|---|---|---|---|"]
    for label, m_off, m_on, ratio in cost:
        lines.append("| %s | %.2f | %.2f | %.3f |" % (label, m_off, m_on, ratio))
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.out, "egress.md"), "w") as f:
        f.write(text)


def bench_stdout(server):
    return server.last["result"]["structuredContent"]["stdout"]


if __name__ == "__main__":
    main()
