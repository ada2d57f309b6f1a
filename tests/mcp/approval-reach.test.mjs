// Approvals that reach a person in every client: a client that declares elicitation and declines
// every request itself (as Codex does) with approvals.on_client_decline: operator leaves the held
// call to the operator (needs_approval, then the CLI or the operator API decides and
// request_approval returns the run's result); with deny, or with no operator console, the same
// decline denies. Also URL-mode elicitation and the signed webhook.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

import {
  checkResult, httpClient, requestApproval, operatorCli, readAudit, sleep, startHttpServer, stdioClient, tempDir,
} from './lib/warden.mjs';

const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';
const CLIENT_TOKEN = 'client-token-for-tests-0123456789';
// run_command with a timeout above max_timeout_ms is held by request.long_timeout (approve)
const LONG = 200_000;

/** A config with a known operator token, an approval timeout and more; returns its path. */
function writeConfig(dir, { timeoutS = 20, lines = [] } = {}) {
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, `approval:\n  timeout_s: ${timeoutS}\n`);
  const config = path.join(dir, 'warden.yaml');
  const operatorLines = lines.filter((l) => l.startsWith('operator.')).map((l) => `  ${l.slice('operator.'.length)}`);
  const rest = lines.filter((l) => !l.startsWith('operator.'));
  fs.writeFileSync(config, [
    'operator:',
    `  token: "${OPERATOR_TOKEN}"`,
    `  state_file: "${path.join(dir, 'operator.json')}"`,
    ...operatorLines,
    'policy:',
    `  file: "${policy}"`,
    ...rest,
  ].join('\n') + '\n');
  return config;
}

async function operatorApi(base, method, urlPath) {
  const res = await fetch(`${base}/operator/api${urlPath}`, {
    method, headers: { Authorization: `Bearer ${OPERATOR_TOKEN}`, 'X-Warden-Operator': 'bob' },
  });
  return { status: res.status, body: await res.json() };
}

async function pendingIds(base) {
  const { body } = await operatorApi(base, 'GET', '/state');
  return body.pending.map((p) => p.execution_id);
}

const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123456789';

/** What a receiver does: HMAC-SHA256 over `${timestamp}.${body}`, compared in constant time, recent timestamps only. */
function verify(secret, timestamp, rawBody, signature) {
  if (!/^[0-9]{1,12}$/.test(timestamp ?? '') || typeof signature !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = 'sha256=' + crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
  const a = Buffer.from(expected);
  const b = Buffer.from(signature);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** A loopback receiver keeping every POST (headers and raw body); answers 204. */
async function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, raw: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { got, port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

async function waitFor(what, pred, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = pred();
    if (v) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a client that declines every elicitation itself, on_client_decline: operator (HTTP), and the webhook', () => {
  const dir = tempDir('reach-op');
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const asked = [];
  let answer = async () => ({ action: 'decline' });
  let server;
  let c;
  let receiver;

  before(async () => {
    receiver = await startReceiver();
    const config = writeConfig(dir, { lines: [
      'operator.public_url: "https://warden.example.org/operator"',
      'operator.webhook:',
      `operator.  url: "http://127.0.0.1:${receiver.port}/hook/path-secret"`,
      `operator.  secret: "${WEBHOOK_SECRET}"`,
      'operator.  timeout_ms: 2000',
      'operator.  retries: 1',
      'approvals:', '  on_client_decline: operator', '  elicitation: url'] });
    server = await startHttpServer({ audit, workspace, config, env: { WARDEN_TOKEN: CLIENT_TOKEN } });
    c = await httpClient(server, {
      headers: { Authorization: `Bearer ${CLIENT_TOKEN}` }, name: 'codex-like',
      onElicit: (params) => { asked.push(params); return answer(params); },
    });
  });

  after(async () => {
    await c?.close();
    await server?.stop();
    await receiver?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('decline: needs_approval with the execution id; the CLI approves and request_approval returns the run', async () => {
    asked.length = 0;
    answer = async () => ({ action: 'decline' });
    const sc = await c.call('run_command', { command: 'echo reached-the-operator', timeout_ms: LONG });
    assert.equal(asked.length, 1, 'the client was asked first');
    assert.ok(asked[0].mode === undefined || asked[0].mode === 'form', 'a client without URL mode gets the form');
    assert.deepEqual(asked[0].requestedSchema.properties.decision.enum, ['approve_once', 'approve_session', 'deny']);
    assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
    assert.equal(sc.tier, 'L4');
    assert.equal(sc.executor, 'none');
    assert.match(sc.execution_id, /^ex_[0-9a-f]{20}$/);
    assert.match(sc.message, /declined the approval request without a person's decision/);
    assert.match(sc.message, new RegExp(`request_approval with this execution_id`));
    assert.match(sc.message, new RegExp(sc.execution_id));
    assert.equal(sc.approval, undefined, 'nothing was decided');
    const id = sc.execution_id;
    const { body: state } = await operatorApi(server.base, 'GET', '/state');
    const entry = state.pending.find((p) => p.execution_id === id);
    assert.ok(entry, 'the operator sees it pending');
    assert.match(entry.client_declined, /the client declined the approval request without a person's decision/);
    const waiting = requestApproval(c, { execution_id: id });
    const done = await operatorCli(['approvals', 'approve', id, '--state', path.join(dir, 'operator.json'), '--as', 'alice']);
    assert.equal(done.code, 0, done.stderr);
    const r = await waiting;
    assert.equal(r.decision, 'approved');
    assert.equal(r.approver, 'alice');
    assert.equal(r.channel, 'cli');
    assert.equal(r.execution_id, id);
    checkResult({ structuredContent: r.result, content: [{ type: 'text', text: JSON.stringify(r.result) }],
      isError: r.result.status !== 'ok' });
    assert.equal(r.result.status, 'ok');
    assert.equal(r.result.stdout, 'reached-the-operator\n');
    assert.equal(r.result.message, undefined, 'status ok carries no message');
  });

  it('cancel and an error answer fall through too; the operator API decides (deny and approve)', async () => {
    answer = async () => ({ action: 'cancel' });
    const cancelled = await c.call('run_command', { command: 'echo after-cancel', timeout_ms: LONG });
    assert.equal(cancelled.status, 'needs_approval', JSON.stringify(cancelled));
    assert.match(cancelled.message, /cancelled the approval request/);
    answer = async () => { throw new Error('this client cannot show forms'); };
    const failed = await c.call('run_command', { command: 'echo after-error', timeout_ms: LONG });
    assert.equal(failed.status, 'needs_approval', JSON.stringify(failed));
    assert.match(failed.message, /could not show the approval request/);
    assert.equal((await operatorApi(server.base, 'POST', `/approvals/${cancelled.execution_id}/deny`)).status, 200);
    const denied = await requestApproval(c, { execution_id: cancelled.execution_id });
    assert.equal(denied.decision, 'denied');
    assert.equal(denied.channel, 'api');
    assert.equal(denied.result, undefined);
    assert.equal((await operatorApi(server.base, 'POST', `/approvals/${failed.execution_id}/approve`)).status, 200);
    const approved = await requestApproval(c, { execution_id: failed.execution_id });
    assert.equal(approved.decision, 'approved');
    assert.equal(approved.approver, 'bob');
    assert.equal(approved.result.stdout, 'after-error\n');
  });

  it('a person\'s accept with deny is still a denial, and an accept without a decision too', async () => {
    answer = async () => ({ action: 'accept', content: { decision: 'deny' } });
    const sc = await c.call('run_command', { command: 'echo no', timeout_ms: LONG });
    assert.equal(sc.status, 'denied', JSON.stringify(sc));
    assert.equal(sc.approval.decision, 'denied');
    assert.equal(sc.approval.channel, 'elicitation');
    assert.ok(!(await pendingIds(server.base)).includes(sc.execution_id));
    answer = async () => ({ action: 'accept', content: {} });
    const empty = await c.call('run_command', { command: 'echo empty', timeout_ms: LONG });
    assert.equal(empty.status, 'denied', JSON.stringify(empty));
    assert.match(empty.message, /without a decision/);
  });

  it('the webhook: approval_pending, approval_decided and kill_switch reach the receiver, signed; a tampered body fails', async () => {
    const id = (await waitFor('a decided approval on the receiver', () => receiver.got.find((g) =>
      g.headers['warden-event'] === 'approval_decided' && JSON.parse(g.raw).approval.approver === 'alice'))).raw;
    const decided = JSON.parse(id);
    const execId = decided.approval.execution_id;
    const pending = receiver.got.find((g) => g.headers['warden-event'] === 'approval_pending'
      && JSON.parse(g.raw).approval.execution_id === execId);
    assert.ok(pending, 'approval_pending came for the same call');
    const p = JSON.parse(pending.raw);
    assert.equal(p.event, 'approval_pending');
    assert.match(p.delivery, /^wh_[0-9a-f]{20}$/);
    assert.equal(p.approval.kind, 'run_command');
    assert.match(p.approval.subject, /echo reached-the-operator/);
    assert.equal(p.approval.url, `https://warden.example.org/operator?approval=${execId}#approval-${execId}`);
    assert.doesNotMatch(pending.raw.toString(), new RegExp(OPERATOR_TOKEN), 'the operator token never travels');
    assert.equal(decided.approval.decision, 'approved');
    assert.equal(decided.approval.channel, 'cli');
    assert.equal(pending.path, '/hook/path-secret');
    for (const g of [pending, receiver.got.find((x) => x.raw.equals(Buffer.from(id)))]) {
      assert.equal(g.headers['content-type'], 'application/json');
      assert.ok(verify(WEBHOOK_SECRET, g.headers['warden-timestamp'], g.raw, g.headers['warden-signature']),
        `signature of ${g.headers['warden-event']}`);
    }
    // what a receiver must refuse: the body changed, the wrong secret, a replayed old timestamp
    const tampered = Buffer.from(pending.raw.toString().replace('echo reached-the-operator', 'rm -rf /'));
    assert.notDeepEqual(tampered, pending.raw);
    assert.equal(verify(WEBHOOK_SECRET, pending.headers['warden-timestamp'], tampered, pending.headers['warden-signature']), false);
    assert.equal(verify('another-secret-0123456789', pending.headers['warden-timestamp'], pending.raw,
      pending.headers['warden-signature']), false);
    assert.equal(verify(WEBHOOK_SECRET, String(Number(pending.headers['warden-timestamp']) - 3600), pending.raw,
      pending.headers['warden-signature']), false);

    const on = await fetch(`${server.base}/operator/api/kill-switch?on=true`, { method: 'POST',
      headers: { Authorization: `Bearer ${OPERATOR_TOKEN}`, 'X-Warden-Operator': 'carol' } });
    assert.equal(on.status, 200, await on.text());
    const off = await fetch(`${server.base}/operator/api/kill-switch?on=false`, { method: 'POST',
      headers: { Authorization: `Bearer ${OPERATOR_TOKEN}`, 'X-Warden-Operator': 'carol' } });
    assert.equal(off.status, 200);
    const kills = await waitFor('both kill_switch events', () => {
      const k = receiver.got.filter((g) => g.headers['warden-event'] === 'kill_switch');
      return k.length >= 2 ? k : null;
    });
    const states = kills.map((k) => JSON.parse(k.raw).kill_switch);
    assert.deepEqual(states.map((k) => k.on).sort(), [false, true]);
    assert.ok(states.every((k) => k.by === 'carol'), JSON.stringify(states));
    assert.ok(kills.every((k) => verify(WEBHOOK_SECRET, k.headers['warden-timestamp'], k.raw, k.headers['warden-signature'])));
    // each delivery has its audit line, without the receiver's path
    const lines = await waitFor('webhook audit lines', () => {
      const l = readAudit(audit).filter((x) => x.type === 'webhook');
      return l.length >= receiver.got.length ? l : null;
    });
    assert.ok(lines.every((l) => l.outcome === 'delivered' && l.http_status === 204), JSON.stringify(lines));
    assert.ok(lines.every((l) => l.receiver === `http://127.0.0.1:${receiver.port}`));
    assert.ok(!fs.readFileSync(audit, 'utf8').includes('path-secret'));
  });

  it('URL mode: a client that declares it is sent to the approval\'s entry on the operator page, which decides', async () => {
    const urlAsked = [];
    const client = new Client({ name: 'url-mode-client', version: '1.0.0' },
      { capabilities: { elicitation: { form: {}, url: {} } } });
    client.setRequestHandler(ElicitRequestSchema, (req) => { urlAsked.push(req.params); return { action: 'accept' }; });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url),
      { requestInit: { headers: { Authorization: `Bearer ${CLIENT_TOKEN}` } } }));
    try {
      const call = client.callTool({ name: 'run_command', arguments: { command: 'echo via-the-page', timeout_ms: LONG } },
        undefined, { timeout: 60_000 });
      const asked1 = await waitFor('the URL-mode elicitation', () => urlAsked[0]);
      assert.equal(asked1.mode, 'url');
      const m = /^https:\/\/warden\.example\.org\/operator\?approval=(ex_[0-9a-f]{20})#approval-(ex_[0-9a-f]{20})$/
        .exec(asked1.url);
      assert.ok(m, `the URL is the approval's entry on the operator page: ${asked1.url}`);
      assert.equal(m[1], m[2]);
      const id = m[1];
      assert.ok(asked1.elicitationId.startsWith(id), asked1.elicitationId);
      assert.match(asked1.message, new RegExp(`execution ${id}`));
      for (const secret of [OPERATOR_TOKEN, CLIENT_TOKEN]) {
        assert.ok(!JSON.stringify(asked1).includes(secret), 'no token travels to the client');
      }
      assert.equal(asked1.requestedSchema, undefined);
      // the accept only opened the page: the call still waits, pending for the operator
      assert.ok((await pendingIds(server.base)).includes(id));
      // the same entry on this server's page: the login leads back to it, and it is there to decide on
      const entry = `${server.base}/operator?approval=${id}`;
      const loginPage = await (await fetch(entry)).text();
      assert.match(loginPage, new RegExp(`name="approval" value="${id}"`), 'the login keeps the entry');
      const login = await fetch(`${server.base}/operator/login`, { method: 'POST', redirect: 'manual',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `token=${OPERATOR_TOKEN}&approval=${id}` });
      assert.equal(login.status, 303);
      assert.equal(login.headers.get('location'), `/operator?approval=${id}#approval-${id}`);
      const cookie = login.headers.get('set-cookie').split(';')[0];
      const page = await (await fetch(entry, { headers: { Cookie: cookie } })).text();
      assert.match(page, new RegExp(`id="approval-${id}"`));
      assert.match(page, /echo via-the-page/);
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)[1];
      const approve = await fetch(`${server.base}/operator/approve`, { method: 'POST', redirect: 'manual',
        headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `csrf=${encodeURIComponent(csrf)}&scope=once&id=${id}` });
      assert.equal(approve.status, 303);
      const res = await call;
      const sc = res.structuredContent;
      assert.equal(sc.status, 'ok', JSON.stringify(sc));
      assert.equal(sc.stdout, 'via-the-page\n');
      assert.equal(sc.execution_id, id);
      assert.equal(sc.approval.channel, 'operator');
      assert.equal(sc.approval.approver, 'operator');
      const after = await (await fetch(entry, { headers: { Cookie: cookie } })).text();
      assert.match(after, new RegExp(`${id} is no longer pending`));
      // a decline of the link is no person's decision either: it falls through like the form's
      urlAsked.length = 0;
      client.setRequestHandler(ElicitRequestSchema, (req) => { urlAsked.push(req.params); return { action: 'decline' }; });
      const declined = (await client.callTool({ name: 'run_command', arguments: { command: 'echo x', timeout_ms: LONG } },
        undefined, { timeout: 60_000 })).structuredContent;
      assert.equal(urlAsked[0].mode, 'url');
      assert.equal(declined.status, 'needs_approval', JSON.stringify(declined));
      assert.equal((await operatorApi(server.base, 'POST', `/approvals/${declined.execution_id}/deny`)).status, 200);
    } finally {
      await client.close();
    }
  });

  it('every operator decision has its audit line', () => {
    const decisions = readAudit(audit).filter((l) => l.type === 'decision');
    assert.ok(decisions.some((d) => d.decision === 'approved' && d.channel === 'cli' && d.approver === 'alice'));
    assert.ok(decisions.some((d) => d.decision === 'denied' && d.channel === 'api'));
    const held = readAudit(audit).filter((l) => l.type === 'call' && l.status === 'needs_approval');
    assert.equal(held.length, 4, 'decline, cancel, error and the URL-mode decline each answered needs_approval');
  });
});

describe('the same decline denies with on_client_decline: deny, and with no operator console (stdio)', () => {
  const dir = tempDir('reach-deny');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const clients = [];

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function declined(sub, lines) {
    fs.mkdirSync(path.join(dir, sub));
    const config = writeConfig(path.join(dir, sub), { lines });
    const c = await stdioClient({ audit: path.join(dir, sub, 'audit.jsonl'), workspace, config,
      onElicit: async () => ({ action: 'decline' }) });
    clients.push(c);
    return c.call('run_command', { command: 'echo x', timeout_ms: LONG });
  }

  it('deny (the default): status denied, the message says the client declined', async () => {
    const sc = await declined('default', []);
    assert.equal(sc.status, 'denied', JSON.stringify(sc));
    assert.match(sc.message, /declined or cancelled/);
    assert.doesNotMatch(sc.message, /operator console/);
    assert.equal(sc.approval.decision, 'denied');
  });

  it('operator, but operator.listen off: denied, and the message says no operator console is live', async () => {
    const sc = await declined('off', ['operator.listen: "off"', 'approvals:', '  on_client_decline: operator']);
    assert.equal(sc.status, 'denied', JSON.stringify(sc));
    assert.match(sc.message, /no operator console is live/);
  });

  it('operator under stdio with its loopback console: needs_approval', async () => {
    const sc = await declined('on', ['approvals:', '  on_client_decline: operator']);
    assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
    const listed = await operatorCli(['approvals', 'list', '--state', path.join(dir, 'on', 'operator.json')]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(sc.execution_id));
  });
});
