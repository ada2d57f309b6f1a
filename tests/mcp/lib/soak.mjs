// The soak: many clients over stdio and Streamable HTTP make a mixed stream of calls while the
// host misbehaves (the Docker engine stops, the audit filesystem fills, the servers are killed with
// kill -9 and started again on the same state), then everything is checked: every call answered or
// refused with a reason, every answered execution_id in the audit exactly once, nothing left
// behind, the servers' memory flat. One implementation with a size knob: tests/mcp/soak.test.mjs
// runs it short (~1,000 calls), bench/soak.sh long (10,000 calls, 8 clients) and prints figures.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { McpError } from '@modelcontextprotocol/sdk/types.js';

import { auditFs, engineFault, l3Available, removeCgroupTree, removeContainersOf, rssKb, scanLeaks, unmountBelow } from './faults.mjs';
import { REPO, checkResult, httpClient, readAudit, sleep, startHttpServer, stdioClient, tempDir } from './warden.mjs';

// The servers' heap is fixed and touched in full at start, so the RSS measured over the second half
// grows only with what lives outside the heap (threads, buffers, mapped files, native memory); a
// JVM growing its heap towards the machine's default maximum would otherwise look like a leak.
// A leak inside the heap shows as an OutOfMemoryError, i.e. as failed calls and a dead server.
// SOAK_JVM_EXTRA adds options for a diagnosis, e.g. -XX:NativeMemoryTracking=summary.
const SOAK_JVM = ['-Xms320m', '-Xmx320m', '-XX:+AlwaysPreTouch', ...(process.env.SOAK_JVM_EXTRA ?? '').split(' ').filter(Boolean)];

/** Seeded PRNG (mulberry32): the same seed gives the same mix of calls. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The policy corpus's commands: [{decision, command}] (a tab-led line continues the previous one). */
export function policyCorpus() {
  const file = path.join(REPO, 'src', 'test', 'resources', 'policy-corpus.tsv');
  const out = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('\t')) {
      if (out.length) out[out.length - 1].command += `\n${line.slice(1)}`;
    } else if (line.trim() && !line.startsWith('#')) {
      const tab = line.indexOf('\t');
      if (tab > 0) out.push({ decision: line.slice(0, tab), command: line.slice(tab + 1) });
    }
  }
  return out;
}

function readOr(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A refusal the server may give while it cannot write its audit trail (fail closed). */
function auditRefusal(sc) {
  return sc.status !== 'ok' && /audit/i.test(sc.message ?? '');
}

const MIX = [
  ['run_true', 14], ['run_echo', 14], ['python', 14], ['bash', 12], ['javascript', 10], ['l3', 3],
  ['hostile', 10], ['cancel', 5], ['invalid', 3], ['bad_protocol', 1],
];
const BURST = 40;

/**
 * Runs the soak. Options (all optional):
 *   calls            planned calls in all (bursts and the fault probes come on top of the mix)
 *   stdioClients     clients over stdio (each starts its own server)
 *   httpClients      clients over Streamable HTTP to one server, each with its own bearer token
 *   concurrency      calls in flight per HTTP client; stdioConcurrency per stdio client (one
 *                    stdio connection carries many concurrent requests: what loses answers there)
 *   dockerFault      'engine' (stop the machine's dockerd), 'socket' (cut only this soak's path to
 *                    it), 'off'
 *   seed, maxMinutes (no new call after it), callTimeoutMs, sampleMs, log (progress lines)
 * Returns { problems: [string], summary: string, figures: {...} }.
 */
export async function runSoak(options = {}) {
  const o = {
    calls: 1000, stdioClients: 2, httpClients: 4, concurrency: 3, stdioConcurrency: 6, dockerFault: 'socket', maxMinutes: 12,
    callTimeoutMs: 60_000, l3TimeoutMs: 150_000, sampleMs: 1000, auditMb: 0, log: () => {},
    seed: Number(process.env.SOAK_SEED ?? crypto.randomInt(1, 2 ** 31)), ...options,
  };
  if (process.getuid?.() !== 0) throw new Error('the soak needs root (tmpfs mount, sandbox, Docker)');
  const log = o.log;
  const rnd = prng(o.seed);
  const problems = [];
  const notes = [];
  const t0 = Date.now();
  const since = () => ((Date.now() - t0) / 1000).toFixed(1);

  // ---- the state every server lives on
  const root = tempDir('soak');
  const wsRoot = path.join(root, 'ws');
  fs.mkdirSync(wsRoot, { mode: 0o711 });
  fs.chmodSync(wsRoot, 0o711);
  const auditMb = o.auditMb || Math.max(32, Math.ceil(o.calls / 100) * 2 + 16);
  const afs = auditFs(path.join(root, 'audit'), auditMb);
  const l3 = l3Available(['c', 'go']);
  const dockerMode = l3.ok ? o.dockerFault : 'off';
  if (!l3.ok) notes.push(`L3 is not in the mix and the engine fault is skipped: ${l3.why}`);
  const engine = dockerMode !== 'off' ? await engineFault(dockerMode, root) : null;
  const cgroupName = `warden-soak-${process.pid}-${o.seed % 100000}`;
  const canary = `soak-canary-${crypto.randomBytes(8).toString('hex')}`;
  const secret = `SOAK-HOST-SECRET-${crypto.randomBytes(6).toString('hex')}`;
  const secretFile = path.join(root, 'host-secret.txt');
  fs.writeFileSync(secretFile, secret, { mode: 0o644 });
  const allPids = [];
  const tokens = Array.from({ length: o.httpClients }, (_, i) => `soak-token-${i}-${crypto.randomBytes(12).toString('hex')}`);
  const config = path.join(root, 'warden.yaml');
  fs.writeFileSync(config, [
    'http:',
    `  tokens: [${tokens.map((t) => `"${t}"`).join(', ')}]`,
    'operator:',
    '  listen: "off"',
    `  state_file: "${path.join(root, 'operator.json')}"`,
    'rate_limits:',
    // a burst of 40 from one client goes over it; the steady mix stays under
    '  per_client: {capacity: 30, refill_per_minute: 120}',
    'sandbox:',
    `  cgroup_name: ${cgroupName}`,
    ...(engine ? ['container:', `  docker_host: "${engine.dockerHost}"`] : []),
    '',
  ].join('\n'));

  // killed from outside (the test runner's timeout, ^C): no server, mount or tmpfs outlives us
  const emergency = () => {
    for (const pid of allPids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    for (const pid of allPids) removeContainersOf(pid);
    try { unmountBelow(wsRoot); afs.unmount(); fs.rmSync(root, { recursive: true, force: true }); removeCgroupTree(cgroupName); } catch { /* best effort */ }
    process.exit(130);
  };
  process.once('SIGTERM', emergency);
  process.once('SIGINT', emergency);

  // a host listener no sandboxed run may reach
  let hostConnections = 0;
  const listener = net.createServer((s) => { hostConnections++; s.destroy(); });
  await new Promise((r) => listener.listen(0, '127.0.0.1', r));
  const listenerPort = listener.address().port;

  // ---- servers and clients
  const servers = [];
  const clients = [];
  const markers = [];
  const writeMarkers = [];

  function serverState(label, kind) {
    const dir = path.join(afs.dir, label);
    fs.mkdirSync(dir, { recursive: true });
    const workspace = path.join(wsRoot, label);
    fs.mkdirSync(workspace, { mode: 0o711, recursive: true });
    fs.chmodSync(workspace, 0o711);
    const s = { label, kind, audit: path.join(dir, 'audit.jsonl'), workspace, gen: 0, kills: 0, pid: null, handle: null, logs: [] };
    s.keepLog = () => { if (s.handle) s.logs.push(s.kind === 'http' ? s.handle.log() : s.handle.serverLog()); };
    servers.push(s);
    return s;
  }

  async function startHttp(s) {
    s.handle = await startHttpServer({ audit: s.audit, workspace: s.workspace, config, env: { SOAK_CANARY: canary }, jvm: SOAK_JVM });
    s.pid = s.handle.child.pid;
    s.gen++;
    allPids.push(s.pid);
  }

  async function connect(c) {
    if (c.kind === 'http') {
      c.conn = await httpClient(c.server.handle, { headers: { Authorization: `Bearer ${c.token}` }, name: c.label });
    } else {
      const s = c.server;
      c.conn = await stdioClient({ audit: s.audit, workspace: s.workspace, config, name: c.label, env: { SOAK_CANARY: canary }, jvm: SOAK_JVM });
      s.pid = c.conn.pid;
      s.gen++;
      s.handle = c.conn;
      allPids.push(s.pid);
    }
    await c.conn.client.listTools(); // the SDK then checks structuredContent against each outputSchema
    c.gen = c.server.gen;
  }

  const records = [];
  const faultLog = [];
  const windows = []; // {name, from, to} in ms since t0, to null while open
  let done = 0;
  let stopIssuing = false;
  let samplesTimer = null;
  const samples = [];

  try {
    const httpServer = serverState('http', 'http');
    await startHttp(httpServer);
    for (let i = 0; i < o.stdioClients; i++) {
      const s = serverState(`stdio${i}`, 'stdio');
      clients.push({ label: `stdio${i}`, kind: 'stdio', server: s, ready: Promise.resolve(), queue: [] });
    }
    for (let i = 0; i < o.httpClients; i++) {
      clients.push({ label: `http${i}`, kind: 'http', server: httpServer, token: tokens[i], ready: Promise.resolve(), queue: [] });
    }
    await Promise.all(clients.map(connect));
    log(`soak: seed ${o.seed}; ${o.stdioClients} stdio + ${o.httpClients} http clients; ${o.calls} calls planned; `
      + `docker fault: ${dockerMode}; audit tmpfs ${auditMb} MB at ${afs.dir}`);

    samplesTimer = setInterval(() => {
      for (const s of servers) {
        if (!s.pid) continue;
        const kb = rssKb(s.pid);
        if (kb !== null) samples.push({ t: Date.now() - t0, progress: done / o.calls, server: s.label, gen: s.gen, pid: s.pid, kb });
      }
    }, o.sampleMs);

    // ---- the plan
    const corpus = policyCorpus();
    const blocks = corpus.filter((c) => c.decision === 'block');
    const holds = corpus.filter((c) => c.decision === 'approve');
    const mix = MIX.filter(([k]) => k !== 'l3' || l3.ok);
    const weight = mix.reduce((a, [, w]) => a + w, 0);
    const bursts = Math.max(1, Math.round(o.calls / 250));
    const singles = Math.max(0, o.calls - bursts * BURST);
    let n = 0;
    const plan = [];
    for (let i = 0; i < singles; i++) {
      let r = rnd() * weight;
      let kind = mix[0][0];
      for (const [k, w] of mix) {
        if ((r -= w) < 0) { kind = k; break; }
      }
      plan.push(makeCall(kind, ++n));
    }
    // spread over the clients round robin; the bursts (40 calls at once on one connection: over
    // the rate limit, and many answers to send at once) go to stdio and HTTP clients in turn
    plan.forEach((item, i) => clients[i % clients.length].queue.push(item));
    const burstClients = [];
    for (let i = 0; i < Math.max(o.stdioClients, o.httpClients); i++) {
      if (i < o.httpClients) burstClients.push(clients.find((c) => c.label === `http${i}`));
      if (i < o.stdioClients) burstClients.push(clients.find((c) => c.label === `stdio${i}`));
    }
    for (let b = 0; b < bursts; b++) {
      const bc = burstClients[b % burstClients.length];
      const at = Math.floor(((b + 0.5) / bursts) * bc.queue.length);
      bc.queue.splice(at, 0, { kind: 'burst', n: ++n });
    }

    function makeCall(kind, num) {
      const hostile = () => {
        const pick = rnd();
        if (pick < 0.45 && blocks.length) {
          const c = blocks[Math.floor(rnd() * blocks.length)];
          return { kind, what: 'corpus block', tool: 'run_command', args: { command: c.command },
            check: (sc) => (sc.status === 'blocked' ? null : `a corpus "block" line was not blocked: ${JSON.stringify(c.command)} → ${sc.status}`) };
        }
        if (pick < 0.55 && holds.length) {
          const c = holds[Math.floor(rnd() * holds.length)];
          return { kind, what: 'corpus hold', tool: 'run_command', args: { command: c.command },
            check: (sc) => (['needs_approval', 'denied', 'blocked'].includes(sc.status) ? null
              : `a corpus "approve" line was not held: ${JSON.stringify(c.command)} → ${sc.status}`) };
        }
        const m = `${o.seed % 1000}${num}`;
        const escapes = [
          () => ({ what: 'read host file', tool: 'execute_code', args: { language: 'bash',
            code: `cat ${secretFile} /etc/shadow /root/.bashrc 2>&1; ls / /home 2>&1; echo done` },
          check: (sc) => ((sc.stdout + sc.stderr).includes(secret) ? 'a run read a host file outside its workspace' : null) }),
          () => {
            const mk = `soak-escape-${m}`;
            writeMarkers.push(mk);
            return { what: 'write outside', tool: 'execute_code', args: { language: 'bash',
              code: `echo x > /tmp/${mk}; echo x > /usr/${mk} 2>&1; echo x > /${mk} 2>&1; echo x > /workspace/../${mk} 2>&1; mkdir /etc/${mk} 2>&1; true` } };
          },
          () => ({ what: 'fork bomb', tool: 'execute_code', args: { language: 'bash', code: 'bomb() { bomb | bomb & }; bomb; sleep 60', timeout_ms: 5000 } }),
          () => ({ what: 'memory bomb', tool: 'execute_code', args: { language: 'python',
            code: 'b = []\nwhile True: b.append(bytearray(64 * 1024 * 1024))', timeout_ms: 20000 },
          check: (sc) => (sc.status === 'ok' ? 'a memory bomb ended ok' : null) }),
          () => ({ what: 'endless loop', tool: 'execute_code', args: { language: 'python', code: 'while True: pass', timeout_ms: 1000 },
            check: (sc) => (sc.status === 'ok' ? 'an endless loop ended ok' : null) }),
          () => ({ what: 'output flood', tool: 'execute_code', args: { language: 'python',
            code: "import sys\nchunk = b'x' * 1048576\nfor _ in range(50): sys.stdout.buffer.write(chunk)" },
          check: (sc) => (sc.status === 'ok' && !sc.stdout_truncated ? '50 MB of output came back uncut' : null) }),
          () => {
            const mk = `31${m}`;
            markers.push(`sleep ${mk}`);
            return { what: 'daemonize', tool: 'execute_code', args: { language: 'bash',
              code: `(setsid sleep ${mk} > /dev/null 2>&1 &); nohup sleep ${mk}1 > /dev/null 2>&1 & disown; echo started` } };
          },
          () => ({ what: 'kill the server', tool: 'execute_code', args: { language: 'bash',
            code: `for p in ${allPids.slice(-3).join(' ')}; do kill -9 $p 2>&1; done; kill -9 -1 2>&1; echo tried` } }),
          () => ({ what: 'reach a host port', tool: 'execute_code', args: { language: 'python',
            code: `import socket\ntry:\n    socket.create_connection(("127.0.0.1", ${listenerPort}), timeout=2).close()\n    print("connected")\nexcept OSError as e:\n    print("refused", e)` } }),
          () => ({ what: 'read the environment', tool: 'execute_code', args: { language: 'bash', code: 'env; cat /proc/1/environ 2>&1 | tr "\\0" "\\n"' },
            check: (sc) => ((sc.stdout + sc.stderr).includes(canary) ? "the server's environment reached a run" : null) }),
          () => ({ what: 'setuid root', tool: 'execute_code', args: { language: 'bash', code: 'su -c id root 2>&1; unshare -U true 2>&1; echo end' },
            check: (sc) => (/uid=0\(/.test(sc.stdout) ? 'a run became root' : null) }),
        ];
        return { kind, ...escapes[Math.floor(rnd() * escapes.length)]() };
      };
      switch (kind) {
        case 'run_true': return { kind, tool: 'run_command', args: { command: 'true' }, stdout: '' };
        case 'run_echo': return { kind, tool: 'run_command', args: { command: `echo soak-${num}` }, stdout: `soak-${num}\n` };
        case 'python': return { kind, tool: 'execute_code', args: { language: 'python', code: `print(${num} * 2)` }, stdout: `${num * 2}\n` };
        case 'bash': return { kind, tool: 'execute_code', args: { language: 'bash', code: `x=${num}; echo "bash-$x"` }, stdout: `bash-${num}\n` };
        case 'javascript': return { kind, tool: 'execute_code', args: { language: 'javascript', code: `console.log("js-" + ${num})` }, stdout: `js-${num}\n` };
        case 'l3': return rnd() < 0.5
          ? { kind, tool: 'execute_code', args: { language: 'c', code: `#include <stdio.h>\nint main(void){printf("c-%d\\n", ${num});return 0;}\n` }, stdout: `c-${num}\n`, timeout: o.l3TimeoutMs }
          : { kind, tool: 'execute_code', args: { language: 'go', code: `package main\nimport "fmt"\nfunc main() { fmt.Println("go-${num}") }\n` }, stdout: `go-${num}\n`, timeout: o.l3TimeoutMs };
        case 'hostile': return hostile();
        case 'cancel': {
          const mk = `${o.seed % 1000}${num}`;
          return { kind, tool: 'execute_code', args: { language: 'bash', code: `sleep 5.${mk}; echo never`, timeout_ms: 30000 },
            cancelAfterMs: 300 + Math.floor(rnd() * 1200), marker: `5.${mk}` };
        }
        case 'invalid': return { kind, tool: 'execute_code', args: { language: 'cobol', code: 'DISPLAY "x".' },
          check: (sc) => (sc.status === 'invalid' ? null : `an unknown language gave ${sc.status}, not invalid`) };
        case 'bad_protocol': return { kind, tool: 'no_such_tool_soak', args: { x: 1 } };
        default: throw new Error(kind);
      }
    }

    // ---- one call
    function activeWindows(from, to) {
      return windows.filter((w) => w.from <= to && (w.to === null || w.to >= from)).map((w) => w.name);
    }

    async function call(c, item, { probe } = {}) {
      await c.ready;
      const rec = { client: c.label, server: c.server.label, kind: probe ?? item.kind, what: item.what, tool: item.tool,
        args: item.args, gen: c.gen, kills: c.server.kills, start: Date.now() - t0 };
      records.push(rec);
      const conn = c.conn;
      const opts = { timeout: item.timeout ?? o.callTimeoutMs, resetTimeoutOnProgress: false };
      let abort = null;
      if (item.cancelAfterMs) {
        const ac = new AbortController();
        opts.signal = ac.signal;
        abort = setTimeout(() => ac.abort('the soak cancels this call'), item.cancelAfterMs);
      }
      try {
        const res = await conn.client.callTool({ name: item.tool, arguments: item.args }, undefined, opts);
        rec.end = Date.now() - t0;
        if (item.kind === 'bad_protocol') {
          rec.outcome = res.isError ? 'error_result' : 'contract';
          if (!res.isError) rec.problem = `an unknown tool got a result without isError: ${JSON.stringify(res).slice(0, 300)}`;
          return rec;
        }
        let sc;
        try {
          sc = checkResult(res);
        } catch (e) {
          rec.outcome = 'contract';
          rec.problem = `result breaks the contract: ${e.message.split('\n')[0]} :: ${JSON.stringify(res).slice(0, 300)}`;
          return rec;
        }
        rec.outcome = 'answered';
        rec.status = sc.status;
        rec.id = sc.execution_id;
        rec.message = sc.message;
        rec.retryAfterMs = sc.retry_after_ms;
        rec.auditRefusal = auditRefusal(sc);
        if (sc.status === 'ok' && item.stdout !== undefined && sc.stdout !== item.stdout) {
          rec.problem = `ok but stdout ${JSON.stringify(sc.stdout.slice(0, 80))}, expected ${JSON.stringify(item.stdout)} (an answer for another call?)`;
        } else if (item.check && sc.status !== 'rate_limited' && !rec.auditRefusal) {
          const p = item.check(sc);
          if (p) rec.problem = p;
        }
      } catch (e) {
        rec.end = Date.now() - t0;
        rec.error = `${e.name}: ${String(e.message).slice(0, 200)}`;
        if (opts.signal?.aborted) {
          rec.outcome = 'cancelled';
        } else if (e instanceof McpError && e.code === -32001) {
          rec.outcome = 'timeout';
        } else if (e instanceof McpError && e.code !== -32000 && item.kind === 'bad_protocol') {
          rec.outcome = 'protocol_error';
        } else if (e instanceof McpError && e.code !== -32000) {
          rec.outcome = 'protocol_error';
          rec.problem = `a JSON-RPC error for a well-formed call: ${rec.error}`;
        } else {
          rec.outcome = 'transport';
        }
      } finally {
        if (abort) clearTimeout(abort);
        if (!probe) done++;
      }
      // a call cut off by the kill of its server is excused; any other call with no answer is lost
      if (rec.outcome === 'timeout' || rec.outcome === 'transport') {
        if (c.server.kills !== rec.kills) {
          rec.outcome = 'cut_by_kill';
        } else {
          rec.problem = `no answer (${rec.outcome}: ${rec.error}) after ${rec.end - rec.start} ms`;
        }
      }
      return rec;
    }

    // ---- the clients' loops (bounded: each works through its own queue once)
    const deadline = t0 + o.maxMinutes * 60_000;
    async function worker(c) {
      for (;;) {
        const item = c.queue.shift();
        if (!item) return;
        if (stopIssuing || Date.now() > deadline) {
          stopIssuing = true;
          records.push({ client: c.label, server: c.server.label, kind: item.kind, outcome: 'not_issued' });
          continue;
        }
        if (item.kind === 'burst') {
          await c.ready;
          const all = [];
          for (let i = 0; i < BURST; i++) {
            all.push(call(c, { kind: 'burst', tool: 'run_command', args: { command: 'true' }, stdout: '' }));
          }
          await Promise.all(all);
        } else {
          await call(c, item);
        }
      }
    }

    // ---- the faults, in order, each when the mix has got that far
    const loops = clients.flatMap((c) => Array.from({ length: c.kind === 'stdio' ? o.stdioConcurrency : o.concurrency }, () => worker(c)));
    let allDone = false;
    const workersDone = Promise.all(loops).then(() => { allDone = true; });
    async function at(fraction) {
      while (!allDone && done < fraction * o.calls) await sleep(100);
    }
    function openWindow(name) {
      const w = { name, from: Date.now() - t0, to: null };
      windows.push(w);
      return w;
    }
    function fault(line) {
      faultLog.push(`${since()} s: ${line}`);
      log(`soak: ${since()} s, ${done}/${o.calls} calls: ${line}`);
    }
    const httpProbe = clients.find((c) => c.kind === 'http') ?? clients[0];
    const pendingProbes = [];

    async function killAndRestart() {
      const victims = [httpServer, ...servers.filter((s) => s.kind === 'stdio').slice(0, 1)];
      // both at once, each restarted as soon as it is gone
      await Promise.all(victims.map(async (s) => {
        const w = openWindow(`kill -9 ${s.label}`);
        const mine = clients.filter((c) => c.server === s);
        let release;
        const gate = new Promise((r) => { release = r; });
        for (const c of mine) c.ready = gate;
        const pid = s.pid;
        s.kills++;
        process.kill(pid, 'SIGKILL');
        for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}/status`) && !/State:\s+Z/.test(readOr(`/proc/${pid}/status`)); i++) {
          await sleep(100);
        }
        fault(`kill -9 ${s.label} server (pid ${pid})`);
        // the clients of the dead server: their calls in flight end now (connection closed)
        await Promise.allSettled(mine.map((c) => c.conn.close()));
        s.keepLog();
        try {
          if (s.kind === 'http') await startHttp(s);
          await Promise.all(mine.map(connect));
        } finally {
          release();
          w.to = Date.now() - t0;
        }
        fault(`${s.label} server started again on the same audit file and workspace root (pid ${s.pid}); ${mine.length} client(s) reconnected`);
      }));
    }

    async function engineDownAndUp() {
      const w = openWindow('engine down');
      let how;
      try {
        how = await engine.stop(allPids);
      } catch (e) {
        w.to = Date.now() - t0;
        problems.push(`could not stop the Docker engine: ${e.message}`);
        return;
      }
      fault(`Docker engine stopped (${how})`);
      await sleep(500);
      // while it is down, an L3 call is refused with a reason (never run elsewhere); a probe whose
      // answer does not come holds the schedule up for 30 s at most (it is reported as lost)
      const probes = [httpProbe, clients.find((x) => x.kind === 'stdio')].filter(Boolean).map(async (c) => {
        const r = await call(c, { kind: 'l3', tool: 'execute_code', args: { language: 'c', code: 'int main(void){return 0;}\n' }, timeout: o.l3TimeoutMs }, { probe: 'l3_engine_down' });
        if (r.outcome === 'answered' && r.status === 'ok') r.problem = 'an L3 call ran ok while the engine was down';
        fault(`L3 probe on ${c.label} while down: ${r.outcome} ${r.status ?? ''} ${r.message ?? r.error ?? ''}`);
      });
      pendingProbes.push(...probes);
      await Promise.race([Promise.all(probes), sleep(30_000)]);
      await at(0.45);
      try {
        how = await engine.start();
      } catch (e) {
        w.to = Date.now() - t0;
        problems.push(`could not start the Docker engine again: ${e.message}`);
        return;
      }
      w.to = Date.now() - t0;
      fault(`Docker engine back (${how})`);
      // L3 must come back by itself (bounded: 30 tries, 3 s apart)
      let back = false;
      for (let i = 0; i < 30 && !back; i++) {
        const r = await call(httpProbe, { kind: 'l3', tool: 'execute_code', args: { language: 'c', code: '#include <stdio.h>\nint main(void){puts("back");return 0;}\n' },
          stdout: 'back\n', timeout: o.l3TimeoutMs }, { probe: 'l3_engine_back' });
        back = r.outcome === 'answered' && r.status === 'ok';
        if (!back) await sleep(3000);
      }
      if (back) fault('L3 answers ok again');
      else problems.push('L3 calls still refused 90 s after the Docker engine came back');
    }

    async function auditFullAndFree() {
      const w = openWindow('audit full');
      const bytes = afs.fill();
      fault(`audit filesystem filled (${(bytes / 1048576).toFixed(1)} MB written, ${afs.available()} bytes left)`);
      const probeClients = [httpProbe, clients.find((x) => x.kind === 'stdio')].filter(Boolean);
      // several each: the first lines may still fit in the audit file's last, partly used page;
      // probes whose answers do not come hold the schedule up for 30 s at most
      const probes = probeClients.map(async (c) => {
        const seen = {};
        for (let i = 0; i < 6; i++) {
          const r = await call(c, { kind: 'run_echo', tool: 'run_command', args: { command: `echo audit-full-${i}` }, stdout: `audit-full-${i}\n` }, { probe: 'audit_full' });
          const k = `${r.outcome} ${r.status ?? ''} ${r.message ?? r.error ?? ''}`.trim();
          seen[k] = (seen[k] ?? 0) + 1;
        }
        fault(`6 probes on ${c.label} with the audit full: ${Object.entries(seen).map(([k, v]) => `${v}× ${k}`).join('; ')}`);
      });
      pendingProbes.push(...probes);
      await Promise.race([Promise.all(probes), sleep(30_000)]);
      await at(0.65);
      afs.free();
      w.to = Date.now() - t0;
      fault(`audit filesystem freed (${(afs.available() / 1048576).toFixed(1)} MB free)`);
      for (const c of probeClients) {
        // the client's own traffic goes on meanwhile and may hold it over its rate limit: a
        // rate_limited answer is a right one, so the probe waits as told and asks again
        let r;
        for (let attempt = 0; attempt < 20; attempt++) {
          r = await call(c, { kind: 'run_echo', tool: 'run_command', args: { command: 'echo audit-back' }, stdout: 'audit-back\n' }, { probe: 'audit_back' });
          if (!(r.outcome === 'answered' && r.status === 'rate_limited')) break;
          await sleep(Math.max(250, r.retryAfterMs ?? 0));
        }
        if (!(r.outcome === 'answered' && r.status === 'ok')) {
          r.problem ??= `after the audit filesystem was freed, a call on ${c.label} got ${r.outcome} ${r.status ?? ''}: ${r.message ?? r.error ?? ''}`;
        }
      }
    }

    const faults = (async () => {
      await at(0.15);
      await killAndRestart();
      if (engine) {
        await at(0.35);
        await engineDownAndUp();
      }
      await at(0.55);
      await auditFullAndFree();
    })().catch((e) => problems.push(`a fault could not be run: ${e.stack}`));

    await workersDone;
    await faults;
    await Promise.allSettled(pendingProbes); // each bounded by its call timeout
    const trafficEnd = Date.now();
    clearInterval(samplesTimer);
    samplesTimer = null;
    log(`soak: ${since()} s: traffic done; checking`);

    // ---- cancelled calls leave an audit line (killed by the client) unless a fault was in the way
    await sleep(2000);
    const auditLines = [];
    const torn = [];
    function loadAudits() {
      auditLines.length = 0;
      torn.length = 0;
      for (const s of servers) {
        if (!fs.existsSync(s.audit)) continue;
        fs.readFileSync(s.audit, 'utf8').split('\n').forEach((l, i) => {
          if (!l.trim()) return;
          try {
            auditLines.push({ ...JSON.parse(l), _server: s.label });
          } catch {
            torn.push(`${s.label} audit line ${i + 1}: ${l.slice(0, 120)}`);
          }
        });
      }
    }

    // ---- stop everything
    await Promise.allSettled(clients.map((c) => c.conn?.close()));
    // a clean stop clears the server's cgroups and containers; SIGKILL would leave them for a next start
    // that never comes, so it gets as long as the leak scan below waits
    await httpServer.handle?.stop(30_000);
    for (const s of servers) s.keepLog();
    const stopDeadline = Date.now() + 15_000;
    while (allPids.some((p) => rssKb(p) !== null) && Date.now() < stopDeadline) await sleep(200);
    loadAudits();

    // ---- the audit: every answered id exactly once
    const calls = auditLines.filter((l) => l.type === 'call');
    const count = new Map();
    for (const l of calls) count.set(l.execution_id, (count.get(l.execution_id) ?? 0) + 1);
    const seenIds = new Map();
    for (const r of records.filter((x) => x.outcome === 'answered')) {
      if (seenIds.has(r.id)) r.problem ??= `execution_id ${r.id} was given to two calls (also ${seenIds.get(r.id)})`;
      seenIds.set(r.id, `${r.client}@${r.start}ms`);
      const k = count.get(r.id) ?? 0;
      if (k === 1) continue;
      if (k === 0 && r.auditRefusal) continue;
      r.problem ??= k === 0
        ? `answered ${r.status} (${r.id}) but not in the audit file${r.status === 'ok' ? ': an ok call with no audit line' : ''}`
        : `${r.id} is in the audit file ${k} times`;
    }
    for (const r of records.filter((x) => x.outcome === 'cancelled')) {
      const hit = calls.find((l) => JSON.stringify(l.arguments ?? {}).includes(`sleep ${r.args?.code?.match(/sleep (\S+);/)?.[1]}`));
      const excused = activeWindows(r.start, r.end + 15_000).length > 0;
      if (!hit && !excused) r.problem = `a call cancelled by the client has no audit line (${r.args.code})`;
    }
    if (torn.length) problems.push(`${torn.length} audit line(s) are not JSON (torn writes): ${torn.slice(0, 5).join(' | ')}`);

    // ---- leaks, once the servers are gone (they may take a moment to reap)
    let leaks = [];
    const leakDeadline = Date.now() + 20_000;
    for (;;) {
      leaks = scanLeaks({ pids: allPids, roots: [wsRoot], cgroupName, markers });
      if (!leaks.length || Date.now() > leakDeadline) break;
      await sleep(1000);
    }
    for (const l of leaks) problems.push(`left behind: ${l}`);
    for (const mk of writeMarkers) {
      for (const p of [`/tmp/${mk}`, `/usr/${mk}`, `/${mk}`, `/etc/${mk}`, path.join(wsRoot, mk)]) {
        if (fs.existsSync(p)) problems.push(`a sandboxed write reached the host: ${p}`);
      }
    }
    if (hostConnections) problems.push(`${hostConnections} connection(s) from a run reached a host loopback listener`);

    // ---- memory over the second half, per server process that lived through it
    const rss = [];
    const byProc = new Map();
    for (const s of samples) {
      const key = `${s.server}#${s.gen}`;
      if (!byProc.has(key)) byProc.set(key, []);
      byProc.get(key).push(s);
    }
    const mean = (xs) => xs.reduce((a, x) => a + x.kb, 0) / xs.length;
    const span = trafficEnd - t0;
    for (const [key, xs] of byProc) {
      // the second half of this process's own life under traffic: a server started again half way
      // spends the run's second half warming up (classes, compiled code), which is not a leak
      const born = xs[0].t;
      const life = span - born;
      const first = xs.filter((x) => x.t >= born + 0.5 * life && x.t < born + 0.6 * life);
      const last = xs.filter((x) => x.t >= born + 0.9 * life);
      const lived = life >= 0.4 * span && xs[xs.length - 1].t >= span - 0.05 * life - 2 * o.sampleMs;
      const entry = { proc: key, samples: xs.length, startKb: xs[0].kb, peakKb: Math.max(...xs.map((x) => x.kb)), endKb: xs[xs.length - 1].kb };
      if (lived && first.length && last.length) {
        entry.growth = mean(last) / mean(first) - 1;
        if (entry.growth >= 0.10) {
          problems.push(`RSS of the ${key} server grew ${(entry.growth * 100).toFixed(1)}% over the second half `
            + `(${Math.round(mean(first) / 1024)} MB at 50–60% of its time under traffic → ${Math.round(mean(last) / 1024)} MB at 90–100%)`);
        }
      }
      rss.push(entry);
    }

    // ---- per-call problems, grouped so a failure names the ids
    const bad = records.filter((r) => r.problem);
    const groups = new Map();
    for (const r of bad) {
      const g = r.problem.replace(/\d+ ms|ex_[\w-]+|[0-9a-f]{8}-[0-9a-f-]{27}|\d+/g, '#').slice(0, 100);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(r);
    }
    for (const [, rs] of groups) {
      const show = rs.slice(0, 8).map((r) => `  [${r.client} ${r.kind}${r.what ? `/${r.what}` : ''} at ${(r.start / 1000).toFixed(1)} s`
        + `${r.id ? ` id ${r.id}` : ''}${activeWindows(r.start, r.end ?? r.start).length ? `; faults meanwhile: ${activeWindows(r.start, r.end ?? r.start).join(', ')}` : ''}`
        + ` args ${JSON.stringify(r.args ?? {}).slice(0, 100)}] ${r.problem}`);
      problems.push(`${rs.length} call(s): ${rs[0].problem}\n${show.join('\n')}${rs.length > 8 ? `\n  … and ${rs.length - 8} more` : ''}`);
    }
    const notIssued = records.filter((r) => r.outcome === 'not_issued').length;
    if (notIssued) problems.push(`${notIssued} planned call(s) were never made: the soak ran out of its ${o.maxMinutes} min`);
    if (!records.some((r) => r.status === 'rate_limited')) notes.push('no call went over the rate limit this time (the bursts arrived too slowly)');
    for (const s of servers) {
      const text = s.logs.join('');
      const traces = (text.match(/^\s+at (io|org|java|jdk|jakarta|dev)\./gm) ?? []).length;
      if (traces) notes.push(`the ${s.label} server logged ${traces} stack trace line(s)`);
      const lost = (text.match(/Failed to enqueue message/g) ?? []).length;
      if (lost) {
        const at = text.indexOf('Failed to enqueue message');
        problems.push(`the ${s.label} server logged "Failed to enqueue message" ${lost} time(s): the SDK's stdio transport dropped a message it was to send (an answer, unless it was a notification); first:\n  `
          + text.slice(Math.max(0, text.lastIndexOf('\n', at) + 1), at + 600).split('\n').slice(0, 6).join('\n  '));
      }
    }

    const summary = report({ o, records, samples, rss, faultLog, notes, problems, seconds: (trafficEnd - t0) / 1000, dockerMode });
    return { problems, summary, records, samples, rss, faults: faultLog };
  } finally {
    process.removeListener('SIGTERM', emergency);
    process.removeListener('SIGINT', emergency);
    if (samplesTimer) clearInterval(samplesTimer);
    await Promise.allSettled(clients.map((c) => c.conn?.close()));
    for (const s of servers) if (s.kind === 'http') await s.handle?.stop().catch(() => {});
    listener.close();
    await engine?.close();
    unmountBelow(wsRoot);
    afs.unmount();
    removeCgroupTree(cgroupName); // recorded above if the servers left it
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** The figures, as text. */
function report({ o, records, samples, rss, faultLog, notes, problems, seconds, dockerMode }) {
  const lines = [];
  const made = records.filter((r) => r.outcome !== 'not_issued');
  lines.push(`soak: ${made.length} calls (${o.calls} planned + bursts/probes) from ${o.stdioClients} stdio + ${o.httpClients} http clients `
    + `in ${seconds.toFixed(1)} s = ${(made.length / seconds).toFixed(1)} calls/s; seed ${o.seed}; docker fault ${dockerMode}`);
  const by = (f) => {
    const m = {};
    for (const r of made) { const k = f(r); m[k] = (m[k] ?? 0) + 1; }
    return Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  };
  lines.push(`outcomes: ${by((r) => (r.outcome === 'answered' ? r.status : r.outcome))}`);
  lines.push('');
  lines.push('| kind | calls | ok | refused (status: n) | not answered | p50 ms | p99 ms |');
  lines.push('|---|---|---|---|---|---|---|');
  const kinds = [...new Set(made.map((r) => r.kind))];
  for (const k of kinds) {
    const rs = made.filter((r) => r.kind === k);
    const ans = rs.filter((r) => r.outcome === 'answered');
    const lat = ans.map((r) => r.end - r.start).sort((a, b) => a - b);
    const refused = {};
    for (const r of ans.filter((x) => x.status !== 'ok')) refused[r.status] = (refused[r.status] ?? 0) + 1;
    const other = {};
    for (const r of rs.filter((x) => x.outcome !== 'answered')) other[r.outcome] = (other[r.outcome] ?? 0) + 1;
    lines.push(`| ${k} | ${rs.length} | ${ans.filter((r) => r.status === 'ok').length} | ${Object.entries(refused).map(([s, v]) => `${s}: ${v}`).join(', ')} `
      + `| ${Object.entries(other).map(([s, v]) => `${s}: ${v}`).join(', ')} | ${pct(lat, 50) ?? '-'} | ${pct(lat, 99) ?? '-'} |`);
  }
  lines.push('');
  lines.push('faults:');
  for (const f of faultLog) lines.push(`  ${f}`);
  lines.push('RSS per server process (MB): start → peak → end; growth over the second half where it lived through it');
  for (const e of rss) {
    const curve = samples.filter((s) => `${s.server}#${s.gen}` === e.proc);
    const step = Math.max(1, Math.floor(curve.length / 12));
    const pts = curve.filter((_, i) => i % step === 0).map((s) => `${(s.t / 1000).toFixed(0)}s:${Math.round(s.kb / 1024)}`);
    lines.push(`  ${e.proc}: ${Math.round(e.startKb / 1024)} → ${Math.round(e.peakKb / 1024)} → ${Math.round(e.endKb / 1024)}`
      + `${e.growth !== undefined ? `, second half ${e.growth >= 0 ? '+' : ''}${(e.growth * 100).toFixed(1)}%` : ''}  [${pts.join(' ')}]`);
  }
  for (const n of notes) lines.push(`note: ${n}`);
  lines.push(problems.length ? `PROBLEMS (${problems.length}):` : 'no problems');
  for (const p of problems) lines.push(`- ${p}`);
  return lines.join('\n');
}
