// The fleet (issue 18), end to end on loopback with real components: Redis and PostgreSQL started by
// tools/fleet-services.sh, three Warden replicas (r1, r2, r3) sharing them, and Debian's haproxy in
// front with a config of the shape of deploy/haproxy/haproxy.cfg. The official MCP TypeScript client:
// sessions spread over the replicas and keep working through HAProxy; a session, a background
// execution and a durable workspace reached through another replica than their owner (proxied or
// forwarded to it); the replicas' internal endpoint refuses unsigned calls; replica 2 killed with
// kill -9: its sessions are refused with a clear error, its runs reported lost, the others keep
// answering, and when restarted it ends what it left.
// The executions index and held approvals across replicas are fleet-control's (the owner writes the rows).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { REPO, assertClearFailure, freePort, jarPath, operatorCli, sleep, startExpectingFailure, tempDir } from './lib/warden.mjs';

const execFileP = promisify(execFile);

const TOKEN = `fleet-client-token-${crypto.randomBytes(8).toString('hex')}`;
const SECRET = `fleet-secret-${crypto.randomBytes(12).toString('hex')}`;
const OPERATOR_TOKEN = `fleet-operator-token-${crypto.randomBytes(8).toString('hex')}`;
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const DEAD_AFTER_MS = 2500;
const LONG = 200_000; // a run_command timeout above max_timeout_ms: held for approval (request.long_timeout)

const dir = tempDir('fleet');
let env = {};
const replicas = {};
let haproxy = null;
let lbUrl = null;
const clients = [];

/** Shell lines KEY=VALUE of tools/fleet-services.sh's env file. */
function readEnv(file) {
  return Object.fromEntries(fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

async function services(cmd) {
  await execFileP(path.join(REPO, 'tools', 'fleet-services.sh'), [cmd, path.join(dir, 'services')], { timeout: 90_000 });
}

/** A SQL statement on the fleet's PostgreSQL; the rows as arrays of strings. */
async function sql(statement) {
  const { stdout } = await execFileP('psql', ['-h', '127.0.0.1', '-p', env.PG_PORT, '-U', env.PG_USER, '-d', 'warden',
    '-At', '-F', '\t', '-c', statement], { timeout: 10_000 });
  return stdout.trim() === '' ? [] : stdout.trim().split('\n').map((l) => l.split('\t'));
}

function configFor(id, port) {
  const d = path.join(dir, id);
  fs.mkdirSync(path.join(d, 'ws'), { recursive: true });
  const policy = path.join(d, 'policy.yaml');
  fs.writeFileSync(policy, 'approval:\n  timeout_s: 60\n');
  const config = path.join(d, 'warden.yaml');
  fs.writeFileSync(config, [
    'operator:',
    `  token: "${OPERATOR_TOKEN}"`,
    `  state_file: "${path.join(d, 'operator.json')}"`,
    'policy:',
    `  file: "${policy}"`,
    'fleet:',
    `  replica_id: "${id}"`,
    `  advertise_url: "http://127.0.0.1:${port}"`,
    `  secret: "${SECRET}"`,
    `  redis: "${env.REDIS_URL}"`,
    '  postgres:',
    `    url: "${env.PG_URL}"`,
    `    user: "${env.PG_USER}"`,
    '  heartbeat_ms: 500',
    `  dead_after_ms: ${DEAD_AFTER_MS}`,
  ].join('\n') + '\n');
  return { dir: d, config, audit: path.join(d, 'audit.jsonl'), workspace: path.join(d, 'ws') };
}

/** Starts replica `id` on `port` (java -jar WARDEN_JAR --http) and waits until it answers. */
async function startReplica(id, port) {
  const jar = await jarPath();
  const files = configFor(id, port);
  const child = spawn('java', ['-jar', jar, '--http', `127.0.0.1:${port}`, '--config', files.config, '--audit', files.audit,
    '--workspace', files.workspace], { env: { ...process.env, WARDEN_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
  const log = [];
  child.stderr.on('data', (d) => log.push(d.toString()));
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
  let gone = null;
  exited.then((e) => { gone = e; });
  const base = `http://127.0.0.1:${port}`;
  const r = { id, port, base, url: `${base}/mcp`, child, exited, files, log: () => log.join('') };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    assert.equal(gone, null, `replica ${id} exited ${JSON.stringify(gone)}:\n${r.log()}`);
    try {
      const res = await fetch(r.url, { headers: { Accept: 'text/event-stream', ...AUTH } });
      await res.body?.cancel();
      replicas[id] = r;
      return r;
    } catch {
      await sleep(150);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`replica ${id} did not start:\n${r.log()}`);
}

async function stopReplica(r, signal = 'SIGTERM') {
  if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill(signal);
  const t = setTimeout(() => r.child.kill('SIGKILL'), 8000);
  await r.exited;
  clearTimeout(t);
}

/** The HAProxy config of deploy/haproxy/haproxy.cfg, for these loopback ports. */
function haproxyConfig(port, servers) {
  const shipped = fs.readFileSync(path.join(REPO, 'deploy', 'haproxy', 'haproxy.cfg'), 'utf8');
  const lines = shipped.split('\n').filter((l) => !l.trim().startsWith('#') && !/^\s*server /.test(l));
  const out = lines.map((l) => (l.trim().startsWith('bind ') ? `    bind 127.0.0.1:${port}` : l));
  out.push(...servers.map((s) => `    server ${s.id} 127.0.0.1:${s.port} check`));
  return out.join('\n') + '\n';
}

async function startHaproxy(servers) {
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, haproxyConfig(port, servers));
  await execFileP('haproxy', ['-c', '-q', '-f', cfg]);
  const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log = [];
  child.stderr.on('data', (d) => log.push(d.toString()));
  const exited = new Promise((r) => child.on('exit', r));
  haproxy = { child, exited, log: () => log.join('') };
  lbUrl = `http://127.0.0.1:${port}/mcp`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(lbUrl, { headers: { Accept: 'text/event-stream', ...AUTH } });
      await res.body?.cancel();
      if (res.status < 500) return;
    } catch {
      // not yet
    }
    assert.ok(Date.now() < deadline, `haproxy did not start:\n${haproxy.log()}`);
    await sleep(100);
  }
}

/**
 * An official SDK client over Streamable HTTP to `url`; answers[] records the replica that answered
 * each HTTP request (the Warden-Replica header).
 */
async function connect(url, { sessionId, name = 'fleet-test' } = {}) {
  const answers = [];
  const vias = [];
  const recording = async (input, init) => {
    const res = await fetch(input, init);
    answers.push(res.headers.get('warden-replica'));
    vias.push(res.headers.get('warden-via'));
    return res;
  };
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: AUTH }, fetch: recording,
    ...(sessionId ? { sessionId } : {}) });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  const c = { client, transport, answers, vias, sessionId: () => transport.sessionId };
  c.call = async (tool, args) => {
    const res = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: 120_000 });
    assert.ok(res.structuredContent, JSON.stringify(res));
    return res.structuredContent;
  };
  clients.push(c);
  return c;
}

/** Ends every session opened so far (DELETE, so none counts against max_sessions_per_client) and closes its client. */
async function closeAll() {
  for (const c of clients.splice(0)) {
    if (c.transport?.terminateSession) await Promise.race([c.transport.terminateSession().catch(() => {}), sleep(3000)]);
    await c.client?.close().catch(() => {});
  }
}

/** A raw JSON-RPC tools/call in a session, as fetch sees it: { status, headers, text }. */
async function rawCall(url, sessionId, tool, args) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
      'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: tool, arguments: args } }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('fleet: three replicas behind HAProxy', { timeout: 230_000 }, () => {
  before(async () => {
    await services('start');
    env = readEnv(path.join(dir, 'services', 'env'));
    const ports = [await freePort(), await freePort(), await freePort()];
    // one at a time: the first migrates the schema, and two cores start three JVMs no faster at once
    await startReplica('r1', ports[0]);
    await Promise.all([startReplica('r2', ports[1]), startReplica('r3', ports[2])]);
    await startHaproxy(['r1', 'r2', 'r3'].map((id) => replicas[id]));
  });

  after(async () => {
    await closeAll();
    if (haproxy) {
      haproxy.child.kill('SIGTERM');
      await Promise.race([haproxy.exited, sleep(3000)]);
      haproxy.child.kill('SIGKILL');
    }
    await Promise.all(Object.values(replicas).map((r) => stopReplica(r)));
    await services('stop').catch((e) => console.error(`fleet-services stop: ${e.message}`));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sessions of several clients spread over the replicas, each keeps working through HAProxy', async () => {
    const six = [];
    for (let i = 0; i < 6; i++) {
      six.push(await connect(lbUrl, { name: `agent-${i}` }));
    }
    for (let round = 0; round < 3; round++) {
      await Promise.all(six.map(async (c, i) => {
        const r = await c.call('run_command', { command: `echo agent-${i}-round-${round}` });
        assert.equal(r.status, 'ok', JSON.stringify(r));
        assert.equal(r.stdout, `agent-${i}-round-${round}\n`);
      }));
    }
    const owners = six.map((c) => {
      const seen = new Set(c.answers.filter(Boolean));
      assert.equal(seen.size, 1, `one session, one replica: ${[...seen]}`);
      assert.ok(c.vias.every((v) => v === null), `HAProxy took each request to its session's replica: ${c.vias}`);
      return [...seen][0];
    });
    assert.deepEqual(new Set(owners), new Set(['r1', 'r2', 'r3']), `round robin: ${owners}`);
    // every session is in the shared table, owned by the replica that answered it
    for (const [i, c] of six.entries()) {
      const rows = await sql(`SELECT replica FROM sessions WHERE id = '${c.sessionId()}' AND ended_at IS NULL`);
      assert.deepEqual(rows, [[owners[i]]]);
    }
    // a session that ends (DELETE) is ended in the table too
    const last = six[5];
    const sid = last.sessionId();
    await last.transport.terminateSession();
    const deadline = Date.now() + 5000;
    while ((await sql(`SELECT 1 FROM sessions WHERE id = '${sid}' AND ended_at IS NULL`)).length) {
      assert.ok(Date.now() < deadline, 'the ended session is still open in the table');
      await sleep(100);
    }
  });

  it('a session named to another replica is proxied to its owner (streamed answers too)', async () => {
    const onR1 = await connect(replicas.r1.url);
    const sid = onR1.sessionId();
    // the same session through replica 3: the SDK sends no initialize, only the session id
    const viaR3 = await connect(replicas.r3.url, { sessionId: sid });
    const r = await viaR3.call('run_command', { command: 'echo proxied' });
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.equal(r.stdout, 'proxied\n');
    assert.ok(viaR3.answers.every((a) => a === 'r1'), `r1 answered through r3: ${viaR3.answers}`);
    assert.ok(viaR3.vias.every((v) => v === 'r3'), `through r3: ${viaR3.vias}`);
    // the legacy HTTP+SSE transport through HAProxy: /message is not sticky, the replicas proxy it
    const posts = [];
    const transport = new SSEClientTransport(new URL(lbUrl.replace(/\/mcp$/, '/sse')), { requestInit: { headers: AUTH },
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (init?.method === 'POST') posts.push(res.headers.get('warden-via'));
        return res;
      } });
    const sse = new Client({ name: 'legacy-sse', version: '1.0.0' });
    await sse.connect(transport);
    clients.push({ client: sse });
    for (let i = 0; i < 4; i++) {
      const res = await sse.callTool({ name: 'run_command', arguments: { command: `echo sse-${i}` } });
      assert.equal(res.structuredContent.stdout, `sse-${i}\n`, JSON.stringify(res.structuredContent));
    }
    assert.ok(posts.some((v) => v !== null), `round robin sent some /message POSTs to another replica, which proxied them: ${posts}`);
  });

  it('get_execution and stop_execution of a background run reach it through another replica', async () => {
    const owner = await connect(replicas.r1.url);
    const started = await owner.call('run_command', {
      command: "bash -c 'echo started; for i in $(seq 1 200); do echo tick $i; sleep 0.2; done'", background: true });
    assert.equal(started.status, 'running', JSON.stringify(started));
    const id = started.execution_id;
    assert.deepEqual(await sql(`SELECT replica FROM executions WHERE id = '${id}'`), [['r1']], 'the owner indexed it');
    const elsewhere = await connect(replicas.r3.url); // a new session of the same client, on replica 3
    const read = await elsewhere.call('get_execution', { execution_id: id, wait_ms: 3000 });
    assert.equal(read.status, 'running', JSON.stringify(read));
    assert.match(read.stdout, /^started\n/);
    assert.ok(elsewhere.answers.every((a) => a === 'r3'), 'replica 3 answered, replica 1 did the work');
    const stopped = await elsewhere.call('stop_execution', { execution_id: id });
    assert.equal(stopped.status, 'killed', JSON.stringify(stopped));
    assert.equal(stopped.execution_id, id);
    const after = await owner.call('get_execution', { execution_id: id });
    assert.equal(after.status, 'killed', 'the owner stopped it');
    // the owner audited both forwarded calls, as the same identity
    const lines = fs.readFileSync(replicas.r1.files.audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const forwarded = lines.filter((l) => (l.tool === 'get_execution' || l.tool === 'stop_execution')
      && JSON.stringify(l).includes(id));
    assert.ok(forwarded.length >= 2, `audited on r1: ${JSON.stringify(forwarded)}`);
  });

  it('a durable workspace of another replica: its calls are forwarded to the owner', async () => {
    const a = await connect(replicas.r2.url);
    const made = await a.call('create_workspace', { name: 'shared-analysis' });
    assert.equal(made.status, 'ok', JSON.stringify(made));
    const ws = made.workspace_id;
    assert.deepEqual(await sql(`SELECT replica FROM workspaces WHERE id = '${ws}' AND deleted_at IS NULL`), [['r2']]);
    const wrote = await a.call('write_file', { workspace: ws, path: 'notes.md', content: 'made on r2\n' });
    assert.equal(wrote.status, 'ok', JSON.stringify(wrote));
    const b = await connect(replicas.r1.url);
    const read = await b.call('read_file', { workspace: ws, path: 'notes.md' });
    assert.equal(read.status, 'ok', JSON.stringify(read));
    assert.equal(read.content, 'made on r2\n');
    const ran = await b.call('run_command', { workspace: ws, command: 'cat notes.md' });
    assert.equal(ran.stdout, 'made on r2\n', JSON.stringify(ran));
    // the workspace's files as resources too: read on r2 for a session of r1
    const res = await b.client.readResource({ uri: `warden://workspace/${ws}/notes.md` });
    assert.equal(res.contents[0].text, 'made on r2\n', JSON.stringify(res));
    assert.equal(res.contents[0].uri, `warden://workspace/${ws}/notes.md`);
    await assert.rejects(b.client.readResource({ uri: `warden://workspace/${ws}/absent.md` }),
      (e) => e.code === -32002, 'a missing file of it: not found, as on a single server');
    const gone = await b.call('delete_workspace', { workspace_id: ws });
    assert.equal(gone.status, 'ok', JSON.stringify(gone));
    assert.equal((await sql(`SELECT 1 FROM workspaces WHERE id = '${ws}' AND deleted_at IS NULL`)).length, 0);
  });

  /** One sessionless 2026-07-28 tools/call through HAProxy: { sc: structuredContent, replica: Warden-Replica }. */
  async function modernCall(tool, args, id) {
    const MODERN = '2026-07-28';
    const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
    const body = { jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args, _meta: meta } };
    const res = await fetch(lbUrl, { method: 'POST', body: JSON.stringify(body), headers: { ...AUTH,
      'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN,
      'Mcp-Method': 'tools/call', 'Mcp-Name': tool } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const msgs = (res.headers.get('content-type') ?? '').includes('text/event-stream')
      ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5))) : [JSON.parse(text)];
    const msg = msgs.filter((m) => m.id === id).pop();
    assert.ok(msg?.result?.structuredContent, JSON.stringify(msg));
    return { sc: msg.result.structuredContent, replica: res.headers.get('warden-replica') };
  }

  it('HAProxy sticks sessionless (2026-07-28) calls to one replica: by workspace handle (the owner does the work), else by identity', async () => {
    const a = await connect(replicas.r3.url);
    const made = await a.call('create_workspace', { name: 'modern-affinity' });
    const ws = made.workspace_id;
    await a.call('write_file', { workspace: ws, path: 'w.txt', content: 'on r3\n' });
    const byWorkspace = [];
    for (let i = 0; i < 6; i++) {
      const r = await modernCall('read_file', { workspace: ws, path: 'w.txt' }, i + 1);
      assert.equal(r.sc.content, 'on r3\n', JSON.stringify(r.sc));
      byWorkspace.push(r.replica);
    }
    assert.equal(new Set(byWorkspace).size, 1, `one replica for the workspace: ${byWorkspace}`);
    // no workspace: the identity's standing scratch workspace, on one replica, so what one call writes the next reads
    const wrote = await modernCall('write_file', { path: 'scratch.txt', content: 'kept\n' }, 100);
    assert.equal(wrote.sc.status, 'ok', JSON.stringify(wrote.sc));
    const byIdentity = [wrote.replica];
    for (let i = 0; i < 5; i++) {
      const r = await modernCall('read_file', { path: 'scratch.txt' }, 101 + i);
      assert.equal(r.sc.content, 'kept\n', `call ${i} on ${r.replica}: ${JSON.stringify(r.sc)}`);
      byIdentity.push(r.replica);
    }
    assert.equal(new Set(byIdentity).size, 1, `one replica for the identity: ${byIdentity}`);
  });

  it('the replicas\' internal endpoint refuses calls not signed with the fleet secret', async () => {
    const body = JSON.stringify({ tool: 'list_executions', arguments: {}, session: 's', identity: 'token:x' });
    const sign = (secret, t) => crypto.createHmac('sha256', secret).update(`${t}\n${body}`).digest('hex');
    const post = (headers) => fetch(`${replicas.r2.base}/fleet/call`, { method: 'POST', body,
      headers: { 'Content-Type': 'application/json', ...headers } });
    const now = Date.now();
    assert.equal((await post({})).status, 403, 'unsigned');
    assert.equal((await post({ 'Warden-Fleet-Time': `${now}`, 'Warden-Fleet-Signature': sign('another-secret-0123456789', now) })).status,
      403, 'another secret');
    const old = now - 120_000;
    assert.equal((await post({ 'Warden-Fleet-Time': `${old}`, 'Warden-Fleet-Signature': sign(SECRET, old) })).status, 403,
      'replayed two minutes later');
    const ok = await post({ 'Warden-Fleet-Time': `${now}`, 'Warden-Fleet-Signature': sign(SECRET, now) });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('warden-replica'), 'r2');
    assert.equal((await ok.json()).structuredContent.status, 'ok');
    const replay = await post({ 'Warden-Fleet-Time': `${now}`, 'Warden-Fleet-Signature': sign(SECRET, now) });
    assert.equal(replay.status, 403, 'the same signed request again: a replay');
  });

  it('a replica of a fleet on PostgreSQL without fleet.secret does not start, and says why', async () => {
    const port = await freePort();
    const files = configFor('r9', port);
    fs.writeFileSync(files.config, fs.readFileSync(files.config, 'utf8').replace(/^  secret: .*\n/m, ''));
    const r = await startExpectingFailure(['--http', `127.0.0.1:${port}`, '--config', files.config, '--audit', files.audit,
      '--workspace', files.workspace], { env: { WARDEN_TOKEN: TOKEN, WARDEN_FLEET_SECRET: '' } });
    assertClearFailure(r, /fleet\.secret needs at least 16 characters/);
  });

  it('a call held on replica 1 is approved through replica 3\'s CLI and its result returns', async () => {
    const c = await connect(replicas.r1.url);
    const held = await c.call('run_command', { command: 'echo approved-elsewhere', timeout_ms: LONG });
    assert.equal(held.status, 'needs_approval', JSON.stringify(held));
    const id = held.execution_id;
    const waiting = c.call('request_approval', { execution_id: id });
    await sleep(500);
    const done = await operatorCli(['approvals', 'approve', id, '--url', `${replicas.r3.base}/operator`, '--token',
      OPERATOR_TOKEN, '--as', 'carol']);
    assert.equal(done.code, 0, done.stderr);
    const r = await waiting;
    assert.equal(r.decision, 'approved', JSON.stringify(r));
    assert.equal(r.approver, 'carol');
    assert.equal(r.result.status, 'ok');
    assert.equal(r.result.stdout, 'approved-elsewhere\n');
  });

  it('200 concurrent calls over 18 sessions through HAProxy, a fifth cancelled: every call answered and audited once, no run left running', async () => {
    await closeAll(); // the earlier tests' sessions: a replica takes at most 8 live ones of a client
    const sessions = [];
    for (let i = 0; i < 18; i++) sessions.push(await connect(lbUrl, { name: `load-${i}` }));
    const t0 = Date.now();
    const calls = [];
    for (let i = 0; i < 200; i++) {
      const cancel = i % 5 === 4;
      const ac = new AbortController();
      const args = cancel ? { command: 'sleep 5; echo late' } : { command: `echo load-${i}` };
      const p = sessions[i % 18].client.callTool({ name: 'run_command', arguments: args }, undefined,
        { timeout: 120_000, signal: ac.signal });
      if (cancel) setTimeout(() => ac.abort('the test cancels it'), 300 + (i % 7) * 100);
      calls.push({ i, cancel, p });
    }
    const settled = await Promise.allSettled(calls.map((x) => x.p));
    const ms = Date.now() - t0;
    const ids = [];
    const counts = {};
    for (const [k, r] of settled.entries()) {
      const { i, cancel } = calls[k];
      if (cancel) {
        // cancelled: the SDK rejects it (or, rarely, the answer came first)
        if (r.status === 'fulfilled') assert.ok(r.value.structuredContent, JSON.stringify(r.value));
        continue;
      }
      assert.equal(r.status, 'fulfilled', `call ${i}: ${r.reason}`);
      const sc = r.value.structuredContent;
      assert.ok(sc, JSON.stringify(r.value));
      counts[sc.status] = (counts[sc.status] ?? 0) + 1;
      assert.ok(['ok', 'rate_limited'].includes(sc.status), `call ${i}: ${JSON.stringify(sc)}`);
      if (sc.status === 'ok') assert.equal(sc.stdout, `load-${i}\n`);
      ids.push(sc.execution_id);
    }
    console.log(`200 calls (40 cancelled) through HAProxy in ${ms} ms: ${JSON.stringify(counts)}`);
    // one client identity: each replica runs 8 of its calls at once and queues 32 more (rate_limits), so how many
    // are refused at once as rate_limited depends on timing; some must have run
    assert.ok((counts.ok ?? 0) >= 20, `calls ran: ${JSON.stringify(counts)}`);
    // every answered call has exactly one line, in the audit of the replica that ran it
    const lines = ['r1', 'r2', 'r3'].flatMap((id) => fs.readFileSync(replicas[id].files.audit, 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l)).filter((l) => l.type === 'call'));
    for (const id of ids) {
      const mine = lines.filter((l) => l.execution_id === id);
      assert.equal(mine.length, 1, `${id}: ${mine.length} audit lines`);
    }
    // the cancelled runs end too: nothing is left running in the shared index or on any replica
    const deadline = Date.now() + 20_000;
    for (;;) {
      const running = await sql("SELECT count(*) FROM executions WHERE status = 'running'");
      const busy = await Promise.all(['r1', 'r2', 'r3'].map(async (id) => {
        const res = await fetch(`${replicas[id].base}/operator/api/state`, { headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` } });
        return (await res.json()).running.filter((x) => !x.replica || x.replica === id).length;
      }));
      if (running[0][0] === '0' && busy.every((n) => n === 0)) break;
      assert.ok(Date.now() < deadline, `still running after the load: index ${running[0][0]}, replicas ${busy}`);
      await sleep(250);
    }
    // and every replica still answers
    for (const id of ['r1', 'r2', 'r3']) {
      const c = await connect(replicas[id].url);
      assert.equal((await c.call('run_command', { command: 'echo after' })).stdout, 'after\n');
    }
    await closeAll();
  });

  it('replica 2 killed with kill -9: its sessions get a clear error, its runs are lost, the others keep answering, and it cleans up when restarted', async () => {
    const onR2 = await connect(replicas.r2.url);
    const sid = onR2.sessionId();
    const run = await onR2.call('run_command', { command: 'sleep 120', background: true });
    assert.equal(run.status, 'running', JSON.stringify(run));
    const ws = (await onR2.call('create_workspace', {})).workspace_id;
    const survivors = [await connect(replicas.r1.url), await connect(replicas.r3.url)];
    const throughLb = [];
    for (let i = 0; i < 3; i++) throughLb.push(await connect(lbUrl));

    const killedAt = Date.now();
    replicas.r2.child.kill('SIGKILL');
    await replicas.r2.exited;

    // the others answer at once, through HAProxy too (a session stuck to r2 is refused, see below)
    const slowest = [];
    for (let round = 0; round < 3; round++) {
      for (const c of [...survivors, ...throughLb]) {
        const t0 = Date.now();
        try {
          const r = await c.call('run_command', { command: 'echo alive' });
          assert.equal(r.stdout, 'alive\n');
          slowest.push(Date.now() - t0);
        } catch (e) {
          assert.match(String(e.message), /belonged to replica r2/, 'only a session of r2 may fail');
        }
      }
    }
    assert.ok(slowest.length >= 9, `${slowest.length} answered`);
    assert.ok(Math.max(...slowest) < 3000, `nothing waits on the dead replica: ${slowest} ms`);

    // r2's session, named to a live replica: a 404 whose message names r2 and says to start again
    let refusedAt = null;
    let last = null;
    while (Date.now() - killedAt < DEAD_AFTER_MS * 4) {
      last = await rawCall(replicas.r1.url, sid, 'run_command', { command: 'echo x' });
      if (last.status === 404 && /which is gone/.test(last.text)) {
        refusedAt = Date.now();
        break;
      }
      assert.equal(last.status, 404, `${last.status} ${last.text}`); // "could not be reached" before r2 is dead
      assert.match(last.text, /belonged to replica r2/);
      await sleep(100);
    }
    assert.ok(refusedAt, `never refused as gone: ${last?.text}`);
    const err = JSON.parse(last.text);
    assert.equal(err.jsonrpc, '2.0');
    assert.match(err.error.message, /Session .* belonged to replica r2, which is gone.*start a new session/);
    console.log(`# r2 killed -> its sessions refused as gone after ${refusedAt - killedAt} ms (dead_after_ms ${DEAD_AFTER_MS})`);
    // the official client sees the same error on its next call
    await assert.rejects(connect(replicas.r3.url, { sessionId: sid }).then((c) => c.call('list_executions', {})),
      /belonged to replica r2/);

    // its run, asked through another replica: lost (and the result fits get_execution's outputSchema, which
    // the SDK client checks once it has listed the tools)
    await survivors[0].client.listTools();
    const lost = await survivors[0].call('get_execution', { execution_id: run.execution_id });
    assert.equal(lost.status, 'lost', JSON.stringify(lost));
    assert.equal(lost.execution_id, run.execution_id);
    assert.match(lost.message, /replica r2/);
    const stopLost = await survivors[1].call('stop_execution', { execution_id: run.execution_id });
    assert.equal(stopLost.status, 'lost', JSON.stringify(stopLost));
    // its durable workspace: a clear failure at once, naming r2
    const t0 = Date.now();
    const inWs = await survivors[0].call('read_file', { workspace: ws, path: 'x.txt' });
    assert.equal(inWs.status, 'failed', JSON.stringify(inWs));
    assert.match(inWs.message, /Workspace .* lives on replica r2, which is gone/);
    assert.ok(Date.now() - t0 < 2000, 'no wait on the dead replica');
    await assert.rejects(survivors[0].client.readResource({ uri: `warden://workspace/${ws}/x.txt` }),
      (e) => /lives on replica r2, which is gone/.test(e.message), 'resources/read of it says so too');

    // restarted (same id, same port): the sessions it left are ended, and it serves again
    const restarted = await startReplica('r2', replicas.r2.port);
    assert.equal((await sql("SELECT count(*) FROM sessions WHERE replica = 'r2' AND ended_at IS NULL"))[0][0], '0');
    const again = await rawCall(restarted.url, sid, 'run_command', { command: 'echo x' });
    assert.equal(again.status, 404);
    assert.match(again.text, /no longer open on replica r2/);
    const fresh = await connect(restarted.url);
    assert.equal((await fresh.call('run_command', { command: 'echo back' })).stdout, 'back\n');
  });
});
