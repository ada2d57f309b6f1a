#!/usr/bin/python3
"""Warden latency benchmark: MCP round trips over stdio against the same programs run bare.

Standard library only (runs on Debian's /usr/bin/python3, 3.11). See bench/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROTOCOL = "2025-06-18"
CLIENT = {"name": "warden-bench", "version": "1"}

# (key, label, tool, arguments, bare key)
SERVER_CASES = [
    ("run_command_true", "run_command `true`", "run_command", {"command": "true"}, "bare_true"),
    ("execute_code_python", "execute_code python `print(1)`", "execute_code",
     {"language": "python", "code": "print(1)"}, "bare_python"),
    ("execute_code_javascript", "execute_code javascript `console.log(1)`", "execute_code",
     {"language": "javascript", "code": "console.log(1)"}, "bare_node"),
    ("execute_code_bash", "execute_code bash `echo 1`", "execute_code",
     {"language": "bash", "code": "echo 1"}, "bare_bash"),
]
BARE_CASES = {
    "bare_true": ("bare `/bin/true`", ["/bin/true"]),
    "bare_python": ("bare `/usr/bin/python3 -c 'print(1)'`", ["/usr/bin/python3", "-c", "print(1)"]),
    "bare_node": ("bare `/usr/bin/node -e 'console.log(1)'`", ["/usr/bin/node", "-e", "console.log(1)"]),
    "bare_bash": ("bare `/bin/bash -c 'echo 1'`", ["/bin/bash", "-c", "echo 1"]),
}
TARGETS = {
    "python_ratio_max": 1.25,      # execute_code python p50 <= 1.25 x bare python p50
    "true_diff_max_ms": 3.0,       # run_command true p50 within 3 ms of bare /bin/true p50
    "startup_max_ms": 600.0,       # server start -> initialize answered, p50
    "idle_rss_max_mb": 150.0,      # VmRSS of the idle java process
}


BENCH_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-config.yaml")


class ServerDied(Exception):
    pass


class Server:
    """One `java -jar warden.jar` child, spoken to in newline-delimited JSON-RPC over its stdio."""

    live = []  # started and not yet closed: closed on the way out, whatever happens

    def __init__(self, java, jar, audit, log, extra_args=(), jvm_args=()):
        self.log = log
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(
            [java, *jvm_args, "-jar", jar, "--audit", audit, "--config", BENCH_CONFIG, *extra_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, bufsize=0, cwd=ROOT)
        self.out_fd = self.proc.stdout.fileno()
        self.in_fd = self.proc.stdin.fileno()
        self.buf = b""
        self.next_id = 1
        self.server_requests = 0
        Server.live.append(self)

    @property
    def pid(self):
        return self.proc.pid

    def send(self, obj):
        self.send_raw((json.dumps(obj, separators=(",", ":")) + "\n").encode())

    def send_raw(self, data):
        while data:
            n = os.write(self.in_fd, data)
            data = data[n:]

    def _line(self, deadline):
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                return line
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no response from the server in time")
            r, _, _ = select.select([self.out_fd], [], [], left)
            if r:
                chunk = os.read(self.out_fd, 1 << 20)
                if not chunk:
                    raise ServerDied("server closed stdout (exit code %s)" % self.proc.poll())
                self.buf += chunk

    def response(self, rid, timeout=60.0):
        """Read lines until the response with id `rid`; notifications and server requests are skipped."""
        deadline = time.perf_counter() + timeout
        while True:
            line = self._line(deadline)
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                raise RuntimeError("server wrote a line that is not JSON-RPC on stdout: %r" % line[:200])
            if "method" in msg:
                if "id" in msg:  # a server -> client request: we offer no client features
                    self.server_requests += 1
                    self.send({"jsonrpc": "2.0", "id": msg["id"],
                               "error": {"code": -32601, "message": "not supported by the benchmark"}})
                continue
            if msg.get("id") == rid:
                return msg

    def request(self, method, params, timeout=60.0):
        rid = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return self.response(rid, timeout)

    def initialize(self):
        msg = self.request("initialize", {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": CLIENT})
        if "result" not in msg:
            raise RuntimeError("initialize failed: %s" % json.dumps(msg))
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return msg

    def call(self, tool, args):
        """One tools/call; returns (seconds, status, detail). Only write -> matching line is timed."""
        rid = self.next_id
        self.next_id += 1
        data = (json.dumps({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                            "params": {"name": tool, "arguments": args}}, separators=(",", ":")) + "\n").encode()
        t0 = time.perf_counter()
        self.send_raw(data)
        msg = self.response(rid)
        t1 = time.perf_counter()
        self.last = msg
        return t1 - t0, *status_of(msg)

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM") if k in fields}, fields["Name"].strip()

    def close(self, timeout=15.0):
        if self in Server.live:
            Server.live.remove(self)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                return self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()


def status_of(msg):
    """(status, detail or None, server-reported duration_ms or None) for a tools/call response."""
    if "error" in msg:
        return "jsonrpc-error", json.dumps(msg["error"])[:300], None
    result = msg.get("result") or {}
    sc = result.get("structuredContent")
    if not isinstance(sc, dict):
        return "no-structuredContent", json.dumps(result)[:300], None
    status = sc.get("status")
    duration = sc.get("duration_ms")
    if status == "ok":
        return "ok", None, duration
    detail = {k: sc.get(k) for k in ("status", "exit_code", "message", "stderr", "tier", "executor", "usage",
                                     "duration_ms") if k in sc}
    return str(status), json.dumps(detail)[:600], duration


def stats(samples_s):
    ms = [s * 1000.0 for s in samples_s]
    if not ms:
        return None
    p90 = statistics.quantiles(ms, n=10, method="inclusive")[8] if len(ms) > 1 else ms[0]
    return {"n": len(ms), "p50": statistics.median(ms), "p90": p90, "mean": statistics.fmean(ms),
            "min": min(ms), "max": max(ms)}


def pause(gap_s):
    if gap_s > 0:
        time.sleep(gap_s)


def bench_server_case(server, tool, args, warmup, n, gap_s):
    times, statuses, failures, durations = [], {}, [], []
    for i in range(warmup + n):
        dt, status, detail, duration = server.call(tool, args)
        if i >= warmup:
            times.append(dt)
            if isinstance(duration, (int, float)):
                durations.append(duration / 1000.0)
            statuses[status] = statuses.get(status, 0) + 1
            if status != "ok" and len(failures) < 5:
                failures.append({"call": i - warmup, "status": status, "detail": detail})
        elif status != "ok":
            statuses["warmup:" + status] = statuses.get("warmup:" + status, 0) + 1
            if len(failures) < 5:
                failures.append({"call": "warm-up %d" % i, "status": status, "detail": detail})
        pause(gap_s)
    return times, statuses, failures, durations


def bench_bare_case(argv, cwd, warmup, n, gap_s):
    """Spawn the program with an empty environment, its output captured as the server does."""
    times, statuses, failures = [], {}, []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env={}, cwd=cwd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate()
        t1 = time.perf_counter()
        status = "ok" if p.returncode == 0 else "exit-%d" % p.returncode
        if i >= warmup:
            times.append(t1 - t0)
            statuses[status] = statuses.get(status, 0) + 1
        elif status != "ok":
            statuses["warmup:" + status] = statuses.get("warmup:" + status, 0) + 1
        if status != "ok" and len(failures) < 5:
            failures.append({"call": i - warmup if i >= warmup else "warm-up %d" % i, "status": status,
                             "detail": err.decode(errors="replace")[:300]})
        pause(gap_s)
    return times, statuses, failures


def fmt(x, digits=2):
    return "–" if x is None else ("%.*f" % (digits, x))


def met(ok):
    return "met" if ok else "**MISSED**"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "pom.xml"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def java_version(java):
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20).stderr
        return out.splitlines()[0].strip() if out else "unknown"
    except Exception:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description="Warden stdio round-trip benchmark (see bench/README.md)")
    ap.add_argument("--n", type=int, default=50, help="measured calls per case (default 50)")
    ap.add_argument("--warmup", type=int, default=5, help="discarded calls before each case (default 5)")
    ap.add_argument("--gap-ms", type=float, default=30.0, help="pause between calls, not timed (default 30)")
    ap.add_argument("--starts", type=int, default=5, help="fresh server starts timed to initialize (default 5)")
    ap.add_argument("--idle-s", type=float, default=3.0, help="idle wait before reading VmRSS (default 3)")
    ap.add_argument("--jar", default=os.path.join(ROOT, "target", "warden.jar"))
    ap.add_argument("--java", default=shutil.which("java") or "java")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="directory for results.{json,md} and logs")
    opts = ap.parse_args()
    if opts.n < 1 or opts.warmup < 0 or opts.starts < 1:
        ap.error("--n and --starts must be >= 1, --warmup >= 0")

    os.makedirs(opts.out, exist_ok=True)
    gap_s = opts.gap_ms / 1000.0
    tmp = tempfile.mkdtemp(prefix="warden-bench-")
    log_path = os.path.join(opts.out, "server.log")
    log = open(log_path, "w")
    results = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git": git_rev(), "java": java_version(opts.java), "python": platform.python_version(),
        "kernel": platform.release(), "cpus": os.cpu_count(), "jar": opts.jar,
        "params": {"n": opts.n, "warmup": opts.warmup, "gap_ms": opts.gap_ms, "starts": opts.starts,
                   "idle_s": opts.idle_s},
        "cases": {}, "targets": TARGETS, "loadavg_start": loadavg(),
    }

    def progress(msg):
        print(msg, file=sys.stderr, flush=True)

    def logmark(msg):
        log.write("\n===== bench: %s =====\n" % msg)
        log.flush()

    try:
        # 1. Round trips through one server session, against the same programs run bare.
        logmark("benchmark session")
        server = Server(opts.java, opts.jar, os.path.join(tmp, "audit-main.jsonl"), log)
        server.initialize()
        progress("server  %-42s warm-up %d, then %d calls" % ("MCP ping", opts.warmup, opts.n))
        pings = []
        for i in range(opts.warmup + opts.n):
            t0 = time.perf_counter()
            msg = server.request("ping", {})
            if i >= opts.warmup:
                pings.append(time.perf_counter() - t0)
            if "result" not in msg:
                raise RuntimeError("ping failed: %s" % json.dumps(msg))
            pause(gap_s)
        results["ping"] = {"stats": stats(pings), "samples_ms": [round(t * 1000, 3) for t in pings]}
        for key, label, tool, args, _ in SERVER_CASES:
            progress("server  %-42s warm-up %d, then %d calls" % (label, opts.warmup, opts.n))
            times, statuses, failures, durations = bench_server_case(server, tool, args, opts.warmup, opts.n,
                                                                     gap_s)
            results["cases"][key] = {"label": label, "kind": "server", "tool": tool, "arguments": args,
                                     "stats": stats(times), "statuses": statuses, "failures": failures,
                                     "reported_duration": stats(durations),
                                     "samples_ms": [round(t * 1000, 3) for t in times]}
            pause(0.2)
        time.sleep(opts.idle_s)
        rss_after, name = server.rss_kb()
        results["rss_after_benchmark"] = {"calls": len(SERVER_CASES) * (opts.warmup + opts.n),
                                          "pings": opts.warmup + opts.n, "idle_s": opts.idle_s,
                                          "process": name, "kb": rss_after}
        results["server_requests_seen"] = server.server_requests
        server.close()

        bare_cwd = os.path.join(tmp, "bare")
        os.makedirs(bare_cwd)
        for key, (label, argv) in BARE_CASES.items():
            progress("bare    %-42s warm-up %d, then %d runs" % (label, opts.warmup, opts.n))
            times, statuses, failures = bench_bare_case(argv, bare_cwd, opts.warmup, opts.n, gap_s)
            results["cases"][key] = {"label": label, "kind": "bare", "argv": argv, "stats": stats(times),
                                     "statuses": statuses, "failures": failures,
                                     "samples_ms": [round(t * 1000, 3) for t in times]}

        # 2. Fresh server start -> initialize answered: plain `java -jar`, then with the class-data
        #    sharing archive that tools/start.sh builds and uses.
        def measure_starts(what, jvm_args):
            starts = []
            for i in range(opts.starts):
                progress("start   fresh server%s %d/%d -> initialize" % (what, i + 1, opts.starts))
                logmark("start%s %d" % (what, i + 1))
                s = Server(opts.java, opts.jar, os.path.join(tmp, "audit-start-%d-%d.jsonl" % (len(jvm_args), i)),
                           log, jvm_args=jvm_args)
                s.send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                        "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": CLIENT}})
                msg = s.response(0, timeout=60)
                t = time.perf_counter() - s.t_spawn
                if "result" not in msg:
                    raise RuntimeError("initialize failed: %s" % json.dumps(msg))
                starts.append(t)
                s.close()
            return {"stats": stats(starts), "samples_ms": [round(t * 1000, 1) for t in starts]}

        results["startup"] = measure_starts("", ())
        jsa = os.path.join(os.path.dirname(os.path.abspath(opts.jar)), "warden.jsa")
        if os.path.exists(jsa) and os.path.getmtime(jsa) >= os.path.getmtime(opts.jar):
            results["startup_cds"] = measure_starts(" with CDS archive", (
                "-XX:SharedArchiveFile=" + jsa, "-Xshare:auto", "-Xlog:disable", "-Xlog:all=warning:stderr"))

        # 3. Idle RSS: fresh server, initialize, one call of each case, then idle.
        progress("rss     fresh server, %d calls, %.0f s idle" % (len(SERVER_CASES), opts.idle_s))
        logmark("idle rss")
        s = Server(opts.java, opts.jar, os.path.join(tmp, "audit-rss.jsonl"), log)
        s.initialize()
        rss_calls = {}
        for _, _, tool, args, _ in SERVER_CASES:
            _, status, _, _ = s.call(tool, args)
            rss_calls[status] = rss_calls.get(status, 0) + 1
            pause(gap_s)
        time.sleep(opts.idle_s)
        rss, name = s.rss_kb()
        s.close()
        results["rss_idle"] = {"calls": len(SERVER_CASES), "call_statuses": rss_calls, "idle_s": opts.idle_s,
                               "process": name, "kb": rss}
    finally:
        for leftover in list(Server.live):
            leftover.close(timeout=5.0)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)

    results["loadavg_end"] = loadavg()
    md = render(results)
    results["markdown"] = md
    with open(os.path.join(opts.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    with open(os.path.join(opts.out, "results.md"), "w") as f:
        f.write(md)
    print(md)
    print("(written: %s, %s; server stderr: %s)" % (os.path.join(opts.out, "results.md"),
                                                     os.path.join(opts.out, "results.json"), log_path),
          file=sys.stderr)
    return 1 if results["non_ok_total"] else 0


def render(r):
    c = r["cases"]
    p = r["params"]
    lines = []
    lines.append("Warden benchmark %s, git %s, %s, kernel %s, %s CPUs" % (
        r["when"], r["git"], r["java"], r["kernel"], r["cpus"]))
    lines.append("N=%d per case after %d warm-up calls, %g ms gap between calls; times in ms. "
                 "Load average %s at start, %s at end." % (
                     p["n"], p["warmup"], p["gap_ms"], r["loadavg_start"], r["loadavg_end"]))
    lines.append("")
    lines.append("| case | n | non-ok | p50 | p90 | mean | run p50 | server/bare p50 | target |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|---|")
    non_ok_total = 0
    for key, label, _, _, bare_key in SERVER_CASES:
        s, b = c[key], c[bare_key]
        ss, bs = s["stats"], b["stats"]
        ratio = ss["p50"] / bs["p50"]
        non_ok = sum(v for k, v in s["statuses"].items() if k != "ok")
        bare_non_ok = sum(v for k, v in b["statuses"].items() if k != "ok")
        non_ok_total += non_ok + bare_non_ok
        s["ratio_p50"] = ratio
        s["diff_p50_ms"] = ss["p50"] - bs["p50"]
        cmp = "%.2fx" % ratio
        target = ""
        if key == "run_command_true":
            diff = ss["p50"] - bs["p50"]
            cmp += ", %+.2f ms" % diff
            ok = diff <= TARGETS["true_diff_max_ms"]
            target = "≤ bare + %g ms: %s" % (TARGETS["true_diff_max_ms"], met(ok))
            r["true_within_target"] = ok
        elif key == "execute_code_python":
            ok = ratio <= TARGETS["python_ratio_max"]
            target = "≤ %gx bare: %s" % (TARGETS["python_ratio_max"], met(ok))
            r["python_within_target"] = ok
        rd = s.get("reported_duration")
        lines.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s |" % (
            s["label"], ss["n"], non_ok, fmt(ss["p50"]), fmt(ss["p90"]), fmt(ss["mean"]),
            fmt(rd["p50"], 0) if rd else "–", cmp, target))
        lines.append("| %s | %d | %d | %s | %s | %s | | | |" % (
            b["label"], bs["n"], bare_non_ok, fmt(bs["p50"]), fmt(bs["p90"]), fmt(bs["mean"])))
    r["non_ok_total"] = non_ok_total

    st = r["startup"]["stats"]
    rss = r["rss_idle"]["kb"]["VmRSS"] / 1024.0
    rss_after = r["rss_after_benchmark"]["kb"]["VmRSS"] / 1024.0
    start_ok = st["p50"] < TARGETS["startup_max_ms"]
    rss_ok = rss < TARGETS["idle_rss_max_mb"]
    r["startup_within_target"] = start_ok
    r["rss_within_target"] = rss_ok
    lines.append("")
    lines.append("| server | value | detail | target |")
    lines.append("|---|---:|---|---|")
    lines.append("| start → initialize answered, p50 (ms) | %s | each: %s | < %g ms: %s |" % (
        fmt(st["p50"], 0), ", ".join("%.0f" % v for v in r["startup"]["samples_ms"]),
        TARGETS["startup_max_ms"], met(start_ok)))
    if "startup_cds" in r:
        sc = r["startup_cds"]["stats"]
        lines.append("| start → initialize, with the CDS archive of tools/start.sh, p50 (ms) | %s | each: %s | < %g ms: %s |" % (
            fmt(sc["p50"], 0), ", ".join("%.0f" % v for v in r["startup_cds"]["samples_ms"]),
            TARGETS["startup_max_ms"], met(sc["p50"] <= TARGETS["startup_max_ms"])))
    pg = r["ping"]["stats"]
    lines.append("| MCP `ping` round trip, p50 (ms) | %s | p90 %s, mean %s; the stdio transport alone, no tool | |" % (
        fmt(pg["p50"]), fmt(pg["p90"]), fmt(pg["mean"])))
    lines.append("| idle RSS (MB) | %.1f | java VmRSS after initialize + %d calls + %g s idle | < %g MB: %s |" % (
        rss, r["rss_idle"]["calls"], r["rss_idle"]["idle_s"], TARGETS["idle_rss_max_mb"], met(rss_ok)))
    lines.append("| RSS after benchmark (MB) | %.1f | benchmark session after %d tool calls + %d pings + %g s idle (VmHWM %.1f) | |" % (
        rss_after, r["rss_after_benchmark"]["calls"], r["rss_after_benchmark"]["pings"], r["rss_after_benchmark"]["idle_s"],
        r["rss_after_benchmark"]["kb"].get("VmHWM", 0) / 1024.0))
    rss_bad = sum(v for k, v in r["rss_idle"]["call_statuses"].items() if k != "ok")
    non_ok_total += rss_bad
    r["non_ok_total"] = non_ok_total
    lines.append("")
    if non_ok_total:
        lines.append("**%d call(s) did not return status ok** (first failures per case below)." % non_ok_total)
        for key, case in c.items():
            for f in case["failures"]:
                lines.append("- %s, call %s: %s %s" % (case["label"], f["call"], f["status"], f["detail"] or ""))
        if rss_bad:
            lines.append("- idle RSS server: %s" % r["rss_idle"]["call_statuses"])
    else:
        lines.append("All calls returned status ok.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
