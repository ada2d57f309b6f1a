#!/usr/bin/env python3
"""Warden start-up: process spawn -> `initialize` answered over stdio, for several launch variants.

Each variant is one way to launch the same jar (JDK 17 plain, JDK 17 with the class-data sharing archive of
tools/start.sh, JDK 25 plain, JDK 25 with its ahead-of-time cache), and other jars (--compare) started plainly,
to compare a change. The variants take turns, round by round, so the machine's load falls on all of them
alike; the report gives the median of each (and p25/p75, min). With --first-call, also spawn -> the first
tools/call (run_command `true`, which waits for the sandbox) answered.

Every server gets its own audit file, workspace root and state directory, and is stopped (stdin closed,
then waited for) before the next one starts, so starts never overlap.
"""
import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PROTOCOL = "2025-06-18"
CLIENT = {"name": "warden-startup-bench", "version": "1"}


def read_response(proc, rid, deadline, buf):
    """Reads stdout until the JSON-RPC response with id `rid`; returns (message, rest of buffer)."""
    fd = proc.stdout.fileno()
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            msg = json.loads(line)
            if msg.get("id") == rid and "method" not in msg:
                return msg, buf
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError("no answer to request %d" % rid)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise RuntimeError("server closed stdout (exit code %s)" % proc.poll())
            buf += chunk


NICE = 0
RT = False
TICK = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid):
    """CPU time (user + system, every thread) the process has used so far, in ms."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / TICK


def one_start(java, jvm, jar, tmp, first_call):
    """One fresh server: seconds to initialize answered (and to the first call answered, or None)."""
    d = tempfile.mkdtemp(dir=tmp)
    os.chmod(d, 0o711)
    ws = os.path.join(d, "ws")
    os.mkdir(ws)
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(d, "state"))
    argv = [java, *jvm, "-jar", jar, "--audit", os.path.join(d, "audit.jsonl"), "--workspace", ws]
    if NICE:
        argv = ["nice", "-n", str(NICE), *argv]
    if RT:
        argv = ["chrt", "--rr", "1", *argv]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": CLIENT}}
        proc.stdin.write((json.dumps(init) + "\n").encode())
        proc.stdin.flush()
        msg, buf = read_response(proc, 0, t0 + 60, b"")
        t_init = time.perf_counter() - t0
        cpu_init = cpu_ms(proc.pid)
        if "result" not in msg:
            raise RuntimeError("initialize failed: %s" % json.dumps(msg))
        t_call = None
        if first_call:
            proc.stdin.write((json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n").encode())
            call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "run_command", "arguments": {"command": "true"}}}
            proc.stdin.write((json.dumps(call) + "\n").encode())
            proc.stdin.flush()
            msg, buf = read_response(proc, 1, t0 + 60, buf)
            t_call = time.perf_counter() - t0
            status = msg.get("result", {}).get("structuredContent", {}).get("status")
            if status != "ok":
                raise RuntimeError("first call: %s" % json.dumps(msg)[:300])
        return t_init, t_call, cpu_init
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jar", required=True)
    ap.add_argument("--compare", action="append", default=[], metavar="LABEL=JAR",
                    help="another jar (e.g. before a change), started plainly on JDK 17 in the same rounds; repeatable")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the servers at this nice value (e.g. -10, as root) so that other load on the machine "
                         "weighs less on the figures; 0 leaves it")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--java17", default="java")
    ap.add_argument("--java25", default="/usr/lib/jvm/temurin-25-jdk-amd64/bin/java")
    ap.add_argument("--jsa", help="CDS archive for JDK 17 (default: warden.jsa beside the jar)")
    ap.add_argument("--aot", help="AOT cache for JDK 25 (default: warden.aot beside the jar)")
    ap.add_argument("--rt", action="store_true",
                    help="run the servers at the lowest real-time priority (chrt --rr 1, as root), so that a loaded "
                         "machine's other work waits while one starts: the figures then approach an idle machine's")
    ap.add_argument("--first-call", action="store_true", help="also time spawn -> first run_command answered")
    ap.add_argument("--out", help="write the results as JSON here")
    opts = ap.parse_args()

    global NICE
    NICE = opts.nice
    global RT
    RT = opts.rt
    quiet = ["-Xlog:disable", "-Xlog:all=warning:stderr"]
    jars = [(c.split("=", 1)[0] + ": ", os.path.abspath(c.split("=", 1)[1])) for c in opts.compare]
    jars.append(("", os.path.abspath(opts.jar)))
    variants = []
    for label, jar in jars:
        base = os.path.dirname(jar)
        jsa = opts.jsa or os.path.join(base, "warden.jsa")
        aot = opts.aot or os.path.join(base, "warden.aot")
        variants.append((label + "JDK 17", opts.java17, [], jar))
        if not label and os.path.exists(jsa):
            variants.append((label + "JDK 17 + CDS archive", opts.java17,
                             ["-XX:SharedArchiveFile=" + jsa, "-Xshare:auto", *quiet], jar))
        if not label and os.path.exists(opts.java25):
            variants.append((label + "JDK 25", opts.java25, [], jar))
            if os.path.exists(aot):
                variants.append((label + "JDK 25 + AOT cache", opts.java25, ["-XX:AOTCache=" + aot, *quiet], jar))

    tmp = tempfile.mkdtemp(prefix="warden-startup-")
    os.chmod(tmp, 0o711)
    samples = {v[0]: {"init": [], "call": [], "cpu": []} for v in variants}
    try:
        for v in variants:  # one unmeasured start each: the page cache holds the jar, the JDK, the archive
            one_start(v[1], v[2], v[3], tmp, False)
        for r in range(opts.rounds):
            for name, java, jvm, jar in variants:
                t_init, t_call, cpu = one_start(java, jvm, jar, tmp, opts.first_call)
                samples[name]["init"].append(t_init * 1000)
                samples[name]["cpu"].append(cpu)
                if t_call is not None:
                    samples[name]["call"].append(t_call * 1000)
            print("round %d/%d done" % (r + 1, opts.rounds), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    load = os.getloadavg()
    how = (" at nice %d" % NICE if NICE else "") + (", real-time priority (chrt --rr 1)" if RT else "")
    print("start -> initialize answered, stdio, %d rounds (variants interleaved)%s; load average %.1f %.1f %.1f, %d cores"
          % (opts.rounds, how, load[0], load[1], load[2], os.cpu_count()))
    header = ("| variant | median ms | p25 | p75 | min | CPU ms used by then, median |"
              + (" first call answered, median ms |" if opts.first_call else ""))
    print(header)
    print("|---|---|---|---|---|---|" + ("---|" if opts.first_call else ""))
    for name, _, _, _ in variants:
        xs = samples[name]["init"]
        row = "| %s | %.0f | %.0f | %.0f | %.0f | %.0f |" % (name, statistics.median(xs), pct(xs, 0.25), pct(xs, 0.75), min(xs),
                                                       statistics.median(samples[name]["cpu"]))
        if opts.first_call:
            row += " %.0f |" % statistics.median(samples[name]["call"])
        print(row)
    if opts.out:
        with open(opts.out, "w") as f:
            json.dump({"rounds": opts.rounds, "load": load, "samples_ms": samples}, f, indent=1)


if __name__ == "__main__":
    main()
