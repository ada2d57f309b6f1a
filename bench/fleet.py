#!/usr/bin/python3
"""The fleet benchmark (bench/fleet.sh starts Redis and PostgreSQL and calls this).

For 1, 2, then 3 replicas (java -jar warden.jar --http, fleet section on, replica ids r1..r3) behind HAProxy
(round robin, affinity on Mcp-Session-Id, health on /readyz): several concurrent MCP clients over Streamable
HTTP, each its own session, make trivial calls (run_command `true`, an L1 inline run) through HAProxy; prints
calls/s, p50 and p99 per replica count. Then: one session on each replica, replica r2 killed with kill -9, and
the time until another replica (and HAProxy) refuse that session's next call.

Standard library only. Writes bench/out/fleet.md and fleet.json.
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "fleet-bench-token-0123456789abcdef"
SECRET = "fleet-bench-secret-0123456789abcdef"
PROTOCOL = "2025-11-25"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Mcp:
    """One MCP session over Streamable HTTP on one keep-alive connection."""

    def __init__(self, port, timeout=60):
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.session = None
        self.rid = 0

    def headers(self):
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
             "Authorization": "Bearer " + TOKEN}
        if self.session:
            h["Mcp-Session-Id"] = self.session
            h["MCP-Protocol-Version"] = PROTOCOL
        return h

    def post(self, body):
        """(status, headers, parsed JSON-RPC answer or None, raw text)."""
        data = json.dumps(body).encode()
        for attempt in (0, 1):
            try:
                self.conn.request("POST", "/mcp", data, self.headers())
                r = self.conn.getresponse()
                raw = r.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, ConnectionError, socket.timeout, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt:
                    raise
        msg = None
        if "event-stream" in (r.getheader("Content-Type") or ""):
            for line in raw.splitlines():
                if line.startswith("data:"):
                    m = json.loads(line[5:].strip())
                    if m.get("id") == body.get("id"):
                        msg = m
        elif raw.strip().startswith("{"):
            msg = json.loads(raw)
        return r.status, r, msg, raw

    def initialize(self):
        self.rid += 1
        status, r, msg, raw = self.post({"jsonrpc": "2.0", "id": self.rid, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "fleet-bench", "version": "1"}}})
        if status != 200 or not msg or "result" not in msg:
            raise RuntimeError("initialize failed: %s %s" % (status, raw[:200]))
        self.session = r.getheader("Mcp-Session-Id")
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    def call(self, command="true"):
        """(status, structuredContent or None, raw)."""
        self.rid += 1
        status, _, msg, raw = self.post({"jsonrpc": "2.0", "id": self.rid, "method": "tools/call", "params": {
            "name": "run_command", "arguments": {"command": command}}})
        sc = None
        if msg and "result" in msg:
            sc = msg["result"].get("structuredContent")
        return status, sc, raw

    def close(self):
        self.conn.close()


class Replica:
    def __init__(self, rid, jar, java, workdir, services):
        self.rid = rid
        self.port = free_port()
        self.dir = os.path.join(workdir, rid)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o711)
        self.config = os.path.join(self.dir, "warden.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(rid=rid, port=self.port, secret=SECRET, redis=services["REDIS_URL"],
                                  pg=services["PG_URL"], pg_user=services["PG_USER"]))
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        ws = os.path.join(self.dir, "ws")
        os.makedirs(ws, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_") and k != "NODE_EXTRA_CA_CERTS"}
        self.proc = subprocess.Popen([java, "-jar", jar, "--http", "127.0.0.1:%d" % self.port, "--config", self.config,
                                      "--name", "fleet-bench-" + rid, "--workspace", ws,
                                      "--audit", os.path.join(self.dir, "audit.jsonl")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log, env=env)

    def ready(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/readyz")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status == 200
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


CONFIG = """\
server:
  log_format: text
rate_limits:
  # counted (in Redis once the fleet's limits are in), never reached: the benchmark measures the road, not the refusal
  per_client: {{capacity: 10000000, refill_per_minute: 10000000}}
  per_tier:
    L1: {{capacity: 10000000, refill_per_minute: 10000000}}
    L2: {{capacity: 10000000, refill_per_minute: 10000000}}
  max_concurrent_per_client: 16
  max_calls_per_client: 128
limits:
  disk_mb: 0
sandbox:
  slots: 4
  warm_max: 2
fleet:
  replica_id: {rid}
  advertise_url: http://127.0.0.1:{port}
  secret: {secret}
  redis: {redis}
  postgres:
    url: {pg}
    user: {pg_user}
  heartbeat_ms: 500
  dead_after_ms: 2000
"""

HAPROXY = """\
global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
frontend mcp
  bind 127.0.0.1:{port}
  monitor-uri /healthz
  default_backend warden
backend warden
  balance roundrobin
  stick-table type string len 128 size 100k expire 1h
  stick on req.hdr(Mcp-Session-Id)
  stick store-response res.hdr(Mcp-Session-Id)
  # a session whose replica is down goes to another one (which forwards it or refuses it clearly), not to a 503
  option redispatch
  retries 2
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1
{servers}
"""


class Haproxy:
    def __init__(self, replicas, workdir):
        self.port = free_port()
        self.cfg = os.path.join(workdir, "haproxy-%d.cfg" % len(replicas))
        servers = "\n".join("  server %s 127.0.0.1:%d check" % (r.rid, r.port) for r in replicas)
        with open(self.cfg, "w") as f:
            f.write(HAPROXY.format(port=self.port, servers=servers))
        subprocess.run(["haproxy", "-c", "-q", "-f", self.cfg], check=True)
        self.log = open(self.cfg + ".log", "w")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.cfg], stdout=self.log, stderr=self.log)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def wait_until(pred, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for " + what)


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def drive(port, clients, seconds, warmup):
    """Each client: its own session through HAProxy, calls back to back for `seconds` after a warm-up."""
    lat, failures, per_client = [], [], []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    go = threading.Event()
    stop_at = [0.0]

    def client(i):
        m = Mcp(port).initialize()
        for _ in range(warmup):
            m.call()
        mine, bad = [], 0
        start_gate.wait()
        go.wait()
        while time.time() < stop_at[0]:
            t0 = time.perf_counter()
            status, sc, raw = m.call()
            dt = time.perf_counter() - t0
            if status == 200 and sc and sc.get("status") == "ok":
                mine.append(dt)
            else:
                bad += 1
                with lock:
                    if len(failures) < 5:
                        failures.append((status, raw[:200]))
        m.close()
        with lock:
            lat.extend(mine)
            per_client.append(len(mine) + bad)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    start_gate.wait()  # every client has its session and is warmed up
    t0 = time.time()
    stop_at[0] = t0 + seconds
    go.set()
    for t in threads:
        t.join(seconds + 120)
    wall = time.time() - t0
    return {"calls": len(lat), "failed": sum(per_client) - len(lat), "wall_s": wall,
            "calls_per_s": len(lat) / wall if wall else 0.0,
            "p50_ms": pct(lat, 50) * 1000, "p99_ms": pct(lat, 99) * 1000,
            "mean_ms": statistics.mean(lat) * 1000 if lat else float("nan"), "failures": failures}


def sessions_per_replica(replicas):
    """Sessions each replica's audit names (a rough look at the spread)."""
    out = {}
    for r in replicas:
        s = set()
        try:
            with open(os.path.join(r.dir, "audit.jsonl")) as f:
                for line in f:
                    try:
                        s.add(json.loads(line).get("session"))
                    except ValueError:
                        pass
        except OSError:
            pass
        out[r.rid] = len(s - {None})
    return out


def death(replicas, hap, refusal, limit_s):
    """A session of r2 opened through HAProxy; r2 killed with kill -9; time until r1 directly, and HAProxy, refuse it."""
    victim = replicas[1]
    other = replicas[0]
    # a session opened through HAProxy (so its stick table knows it) that landed on r2, told by r2's audit
    sid = None
    for _ in range(12):
        m = Mcp(hap.port).initialize()
        status, sc, _ = m.call()
        assert status == 200 and sc and sc.get("status") == "ok", "a call before the death"
        m.close()
        if m.session in open(os.path.join(victim.dir, "audit.jsonl")).read():
            sid = m.session
            break
    assert sid, "no session through HAProxy landed on " + victim.rid
    victim.stop(signal.SIGKILL)
    t_kill = time.perf_counter()
    result = {}

    def probe(name, port):
        """Sends the dead replica's session's call to `port` until it is refused, timing from the kill."""
        first_answer, refused, last = None, None, None
        while time.perf_counter() - t_kill < limit_s:
            c = Mcp(port, timeout=5)
            c.session = sid
            try:
                status, sc, raw = c.call()
            except OSError as e:
                status, sc, raw = None, None, str(e)
            c.close()
            now = time.perf_counter() - t_kill
            last = (status, raw[:160])
            if status is not None and first_answer is None:
                first_answer = (now, status)
            ok = status == 200 and sc and sc.get("status") == "ok"
            # Warden's refusal is a JSON-RPC answer (an error, or a result that says so); a balancer's own error page
            # (HAProxy's 503 "No server is available") is not one
            if not ok and status is not None and (raw or "").lstrip().startswith(("{", "id:", "event:", "data:")) \
                    and re.search(refusal, raw):
                refused = now
                break
            time.sleep(0.05)
        result[name] = {"first_answer_s": first_answer[0] if first_answer else None,
                        "first_status": first_answer[1] if first_answer else None,
                        "refused_s": refused, "last": last}

    # both at once, each timed from the kill
    probes = [threading.Thread(target=probe, args=(name, port)) for name, port in
              (("other replica", other.port), ("haproxy", hap.port))]
    for t in probes:
        t.start()
    for t in probes:
        t.join(limit_s + 15)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jar", required=True)
    ap.add_argument("--java", default="java")
    ap.add_argument("--env", required=True, help="the env file of tools/fleet-services.sh")
    ap.add_argument("--replicas", default="1,2,3")
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--refusal", default=os.environ.get("FLEET_BENCH_REFUSAL", r"(?i)dead|lost|no longer|gone|unavailable|not live"),
                    help="what a refusal of a dead replica's session says (regex on the answer)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    services = {}
    with open(a.env) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                services[k] = v
    work = tempfile.mkdtemp(prefix="warden-fleet-bench-")
    os.chmod(work, 0o711)
    counts = [int(x) for x in a.replicas.split(",")]
    rows, death_result = [], None
    for n in counts:
        replicas = [Replica("r%d" % (i + 1), a.jar, a.java, work + "/n%d" % n, services) for i in range(n)]
        hap = None
        try:
            for r in replicas:
                wait_until(lambda r=r: r.proc.poll() is not None or r.ready(), 120, r.rid + " ready")
                if r.proc.poll() is not None:
                    raise RuntimeError(r.rid + " exited: see " + r.dir + "/server.log")
            hap = Haproxy(replicas, work)
            wait_until(lambda: all_up(hap, n), 30, "haproxy sees %d servers up" % n)
            print("bench: %d replica(s) ready, %d clients for %.0f s ..." % (n, a.clients, a.seconds), file=sys.stderr)
            res = drive(hap.port, a.clients, a.seconds, a.warmup)
            res["replicas"] = n
            res["sessions"] = sessions_per_replica(replicas)
            rows.append(res)
            print("bench: %(replicas)d replica(s): %(calls_per_s).1f calls/s, p50 %(p50_ms).1f ms, p99 %(p99_ms).1f ms, "
                  "%(failed)d failed" % res, file=sys.stderr)
            if n >= 2 and n == max(counts):
                death_result = death(replicas, hap, a.refusal, 30)
        finally:
            if hap:
                hap.stop()
            for r in replicas:
                r.stop()
    report = render(rows, death_result, a)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "fleet.md"), "w") as f:
        f.write(report)
    with open(os.path.join(a.out, "fleet.json"), "w") as f:
        json.dump({"rows": rows, "death": death_result, "clients": a.clients, "seconds": a.seconds}, f, indent=2)
    print(report)
    subprocess.run(["rm", "-rf", work])
    return 0 if all(r["failed"] == 0 for r in rows) else 1


def all_up(hap, n):
    """HAProxy's own view: n servers UP (its stats are not enabled; a request to each would be a session each)."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", hap.port, timeout=2)
        c.request("GET", "/healthz")
        ok = c.getresponse().status == 200
        c.close()
    except OSError:
        return False
    # give the health checks (inter 500ms, rise 1) time to mark every server up
    time.sleep(1.2)
    return ok


def render(rows, death_result, a):
    out = ["# Fleet benchmark", "",
           "%d concurrent MCP clients (Streamable HTTP, one session each, keep-alive), run_command `true` (L1 inline) "
           "back to back for %.0f s after %d warm-up calls each, through HAProxy (round robin, affinity on "
           "Mcp-Session-Id). Load average at the end: %s." % (a.clients, a.seconds, a.warmup,
                                                                open("/proc/loadavg").read().split()[0]), "",
           "| replicas | calls/s | p50 ms | p99 ms | mean ms | calls | failed | sessions per replica |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| %d | %.1f | %.1f | %.1f | %.1f | %d | %d | %s |" % (
            r["replicas"], r["calls_per_s"], r["p50_ms"], r["p99_ms"], r["mean_ms"], r["calls"], r["failed"],
            ", ".join("%s %d" % kv for kv in sorted(r["sessions"].items()))))
    if death_result:
        out += ["", "Replica r2 killed with kill -9; a call of its session sent again and again (every 50 ms):", "",
                "| sent to | first answer after | its HTTP status | refused (answer matching /%s/) after |" % a.refusal,
                "|---|---|---|---|"]
        for k, v in death_result.items():
            out.append("| %s | %s | %s | %s |" % (k, fmt_s(v["first_answer_s"]), v["first_status"], fmt_s(v["refused_s"])))
        out += ["", "Last answers: " + "; ".join("%s: %s" % (k, v["last"]) for k, v in death_result.items())]
    return "\n".join(out) + "\n"


def fmt_s(x):
    return "never (30 s)" if x is None else "%.0f ms" % (x * 1000)


if __name__ == "__main__":
    sys.exit(main())
