// The fleet's control state across real replicas (issue 18, helper "control"): two or three Warden
// servers on one real PostgreSQL (tools/fleet-services.sh), no balancer. A call held on replica A is
// approved through replica B's CLI and its result returns on A; B's console and /metrics show the
// whole fleet; an operator's stop on B and the kill switch turned on B stops a run on A; a replica killed with kill -9 has its run
// reported lost by the others (an incident in their stream), and cleans up when it comes back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { REPO, httpClient, operatorCli, readAudit, requestApproval, sleep, startHttpServer, tempDir } from './lib/warden.mjs';

const OPERATOR_TOKEN = 'operator-token-for-fleet-0123456789';
const CLIENT_TOKEN = 'client-token-for-fleet-0123456789';
const LONG = 200_000; // run_command with a timeout above max_timeout_ms is held (request.long_timeout)
const SCRIPT = path.join(REPO, 'tools', 'fleet-services.sh');

function services(dir) {
  execFileSync('bash', [SCRIPT, 'start', dir], { stdio: 'ignore', timeout: 120_000 });
  const env = {};
  for (const line of fs.readFileSync(path.join(dir, 'env'), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** One replica's directory and config: its own audit, operator state file, and the shared fleet section. */
function replicaConfig(root, id, pg) {
  const dir = path.join(root, id);
  fs.mkdirSync(path.join(dir, 'ws'), { recursive: true });
  fs.chmodSync(dir, 0o711);
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, 'approval:\n  timeout_s: 60\n');
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, [
    'operator:', `  token: "${OPERATOR_TOKEN}"`, `  state_file: "${path.join(dir, 'operator.json')}"`,
    'policy:', `  file: "${policy}"`,
    'fleet:', `  replica_id: "${id}"`, '  secret: "fleet-control-test-secret-0123456789"', '  postgres:', `    url: "${pg.PG_URL}"`, `    user: "${pg.PG_USER}"`,
    '  heartbeat_ms: 200', '  dead_after_ms: 1500', ''].join('\n'));
  return { dir, config, audit: path.join(dir, 'audit.jsonl'), incidents: path.join(dir, 'incidents.jsonl'),
    workspace: path.join(dir, 'ws'), state: path.join(dir, 'operator.json') };
}

async function start(r) {
  return startHttpServer({ audit: r.audit, workspace: r.workspace, config: r.config,
    env: { WARDEN_TOKEN: CLIENT_TOKEN } });
}

async function api(server, method, urlPath) {
  const res = await fetch(`${server.base}/operator/api${urlPath}`, {
    method, headers: { Authorization: `Bearer ${OPERATOR_TOKEN}`, 'X-Warden-Operator': 'bob' },
  });
  return { status: res.status, body: await res.json() };
}

async function waitFor(what, pred, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await pred();
    if (v) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function lines(file) {
  return fs.existsSync(file) ? readAudit(file) : [];
}

describe('the fleet\'s control state across real replicas', () => {
  const root = tempDir('fleet-control');
  const svc = path.join(root, 'services');
  let pg;
  const rs = {};
  const servers = {};
  const clients = [];

  before(async () => {
    fs.mkdirSync(svc);
    pg = services(svc);
    for (const id of ['fa', 'fb']) {
      rs[id] = replicaConfig(root, id, pg);
    }
    [servers.fa, servers.fb] = await Promise.all([start(rs.fa), start(rs.fb)]);
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    for (const s of Object.values(servers)) await s?.stop();
    try { execFileSync('bash', [SCRIPT, 'stop', svc], { stdio: 'ignore', timeout: 60_000 }); } catch { /* gone */ }
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function client(server) {
    const c = await httpClient(server, { headers: { Authorization: `Bearer ${CLIENT_TOKEN}` } });
    clients.push(c);
    return c;
  }

  it('a call held on A is approved through B\'s CLI, and its result returns on A', async () => {
    const c = await client(servers.fa);
    const sc = await c.call('run_command', { command: 'echo approved-across-replicas', timeout_ms: LONG });
    assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
    const id = sc.execution_id;
    // B's console (its API, and its CLI) lists it, held on fa
    const state = await waitFor('B shows the held call', async () => {
      const { body } = await api(servers.fb, 'GET', '/state');
      return body.pending.find((p) => p.execution_id === id) ? body : null;
    });
    const entry = state.pending.find((p) => p.execution_id === id);
    assert.equal(entry.replica, 'fa');
    assert.equal(entry.subject, 'echo approved-across-replicas');
    assert.deepEqual(state.replicas.map((r) => r.id).sort(), ['fa', 'fb']);
    assert.ok(state.replicas.every((r) => r.state === 'live'));
    const listed = await operatorCli(['approvals', 'list', '--state', rs.fb.state]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(id));
    assert.match(listed.stdout, /replica: fa/);

    const waiting = requestApproval(c, { execution_id: id });
    await sleep(200);
    const t0 = Date.now();
    const done = await operatorCli(['approvals', 'approve', id, '--state', rs.fb.state, '--as', 'alice']);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout + done.stderr, /held on replica fa/);
    const r = await waiting;
    const ms = Date.now() - t0;
    assert.equal(r.decision, 'approved');
    assert.equal(r.approver, 'alice');
    assert.equal(r.channel, 'cli');
    assert.equal(r.result.status, 'ok');
    assert.equal(r.result.stdout, 'approved-across-replicas\n');
    console.log(`approved on fb's CLI, result on fa ${ms} ms after the CLI started (a JVM start included)`);
    // every line of each replica's audit names it; the decision is in the holder's audit
    await waitFor('fa\'s audit has the decision', () => lines(rs.fa.audit).some((l) => l.execution_id === id
      && l.type === 'decision'), 5000).catch(() => {});
    assert.ok(lines(rs.fa.audit).length > 0 && lines(rs.fa.audit).every((l) => l.replica === 'fa'));
    assert.ok(lines(rs.fb.audit).every((l) => l.replica === 'fb'));
  });

  it('B\'s /metrics shows the fleet, and the kill switch turned on B stops a run on A', async () => {
    const c = await client(servers.fa);
    const bg = await c.call('run_command', { command: 'sleep 60', background: true });
    assert.equal(bg.status, 'running', JSON.stringify(bg));
    const { body } = await api(servers.fb, 'GET', '/state');
    const run = body.running.find((x) => x.execution_id === bg.execution_id);
    assert.ok(run, 'B lists A\'s run');
    assert.equal(run.replica, 'fa');
    const metrics = await waitFor('fleet gauges', async () => {
      const res = await fetch(`${servers.fb.base}/metrics`, { headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` } });
      const text = await res.text();
      return /warden_fleet_executions_running\{replica="fa"\} 1/.test(text) ? text : null;
    });
    assert.match(metrics, /warden_fleet_replicas\{state="live"\} 2/);
    // an operator's stop on B of a run on A
    const other = await c.call('run_command', { command: 'sleep 60', background: true });
    const stop = await api(servers.fb, 'POST', `/executions/${other.execution_id}/stop`);
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    assert.match(stop.body.message, /on replica fa/);
    const stopped = await waitFor('A\'s other run stopped', async () => {
      const r = await c.call('get_execution', { execution_id: other.execution_id });
      return r.status === 'killed' ? r : null;
    }, 5000);
    assert.match(stopped.message, /bob/);

    const t0 = Date.now();
    const on = await api(servers.fb, 'POST', '/kill-switch?on=true');
    assert.equal(on.status, 200, JSON.stringify(on.body));
    const ended = await waitFor('A\'s run stopped', async () => {
      const r = await c.call('get_execution', { execution_id: bg.execution_id });
      return r.status === 'killed' ? r : null;
    }, 5000);
    console.log(`kill switch on fb stopped the run on fa within ${Date.now() - t0} ms`);
    assert.match(ended.message, /kill switch/);
    const refused = await c.call('run_command', { command: 'echo no' });
    assert.equal(refused.status, 'denied');
    const off = await api(servers.fa, 'POST', '/kill-switch?on=false');
    assert.equal(off.status, 200);
    await waitFor('fb released too', async () => {
      const { body: s } = await api(servers.fb, 'GET', '/state');
      return s.kill_switch.on === false;
    }, 5000);
    const again = await c.call('run_command', { command: 'echo yes' });
    assert.equal(again.status, 'ok', JSON.stringify(again));
  });

  it('a replica frozen (SIGSTOP) in the middle of a streamed answer: the call proxied through the other replica ends with an error once it is declared dead', async () => {
    const cb = await client(servers.fb);
    const sid = cb.transport.sessionId;
    assert.ok(sid);
    // fb's session, reached through fa (proxied); a progress token makes the answer stream from the start
    const res = await fetch(servers.fa.url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${CLIENT_TOKEN}`, 'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream', 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 41, method: 'tools/call',
        params: { name: 'run_command', arguments: { command: 'sleep 40', timeout_ms: 55_000 }, _meta: { progressToken: 'p41' } } }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('warden-replica'), 'fb');
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('notifications/progress')) {
      const { value, done } = await reader.read();
      assert.ok(!done, `the stream ended before any progress: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    // frozen: its kernel keeps the connection open, so only its missing heartbeat tells
    servers.fb.child.kill('SIGSTOP');
    const t0 = Date.now();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      const ms = Date.now() - t0;
      console.log(`the frozen owner's streamed answer ended ${ms} ms after SIGSTOP (dead_after_ms 1500)`);
      assert.ok(ms < 15_000, `${ms} ms`);
      const events = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
      const answer = events.find((e) => e.id === 41);
      assert.ok(answer?.error, `the request's answer is an error: ${text}`);
      assert.match(answer.error.message, /stopped answering in the middle of this answer/);
    }
    finally {
      servers.fb.child.kill('SIGCONT');
    }
  });

  it('a replica killed with kill -9 has its run reported lost by the others, and cleans up when it comes back', async () => {
    const cb = await client(servers.fb);
    const bg = await cb.call('run_command', { command: 'sleep 60', background: true });
    assert.equal(bg.status, 'running', JSON.stringify(bg));
    servers.fb.child.kill('SIGKILL');
    const t0 = Date.now();
    const lost = await waitFor('fa reports fb\'s run lost', () => lines(rs.fa.incidents).find((l) =>
      l.event === 'fleet.execution_lost' && l.execution_id === bg.execution_id), 15_000);
    console.log(`fb's death reported by fa ${Date.now() - t0} ms after kill -9 (dead_after_ms 1500)`);
    assert.equal(lost.replica, 'fa');
    assert.equal(lost.of_replica, 'fb');
    assert.match(lost.message, /^replica fb stopped answering at .*; the outcome of this run is unknown$/);
    assert.ok(lines(rs.fa.incidents).some((l) => l.event === 'fleet.replica_dead' && l.dead_replica === 'fb'));
    const { body } = await api(servers.fa, 'GET', '/state');
    assert.equal(body.replicas.find((r) => r.id === 'fb').state, 'dead');
    assert.ok(!body.running.some((x) => x.execution_id === bg.execution_id), 'no longer listed as running');
    // A keeps answering
    const ca = await client(servers.fa);
    assert.equal((await ca.call('run_command', { command: 'echo still-here' })).status, 'ok');
    // B comes back under the same id: live again
    servers.fb = await start(rs.fb);
    await waitFor('fb live again', async () => {
      const { body: s } = await api(servers.fa, 'GET', '/state');
      return s.replicas.find((r) => r.id === 'fb')?.state === 'live';
    }, 10_000);
  });
});
