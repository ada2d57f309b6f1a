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

import {
  checkResult, httpClient, operatorCli, readAudit, sleep, startHttpServer, stdioClient, tempDir,
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

async function requestApproval(c, args, timeout = 60_000) {
  const res = await c.client.callTool({ name: 'request_approval', arguments: args }, undefined, { timeout });
  assert.ok(res.structuredContent, `no structuredContent in ${JSON.stringify(res)}`);
  assert.deepEqual(JSON.parse(res.content[0].text), res.structuredContent);
  assert.equal(res.isError === true, res.structuredContent.decision !== 'approved', 'isError unless approved');
  return res.structuredContent;
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

describe('a client that declines every elicitation itself, on_client_decline: operator (HTTP)', () => {
  const dir = tempDir('reach-op');
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const config = writeConfig(dir, { lines: ['approvals:', '  on_client_decline: operator'] });
  const asked = [];
  let answer = async () => ({ action: 'decline' });
  let server;
  let c;

  before(async () => {
    server = await startHttpServer({ audit, workspace, config, env: { WARDEN_TOKEN: CLIENT_TOKEN } });
    c = await httpClient(server, {
      headers: { Authorization: `Bearer ${CLIENT_TOKEN}` }, name: 'codex-like',
      onElicit: (params) => { asked.push(params); return answer(params); },
    });
  });

  after(async () => {
    await c?.close();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('decline: needs_approval with the execution id; the CLI approves and request_approval returns the run', async () => {
    asked.length = 0;
    answer = async () => ({ action: 'decline' });
    const sc = await c.call('run_command', { command: 'echo reached-the-operator', timeout_ms: LONG });
    assert.equal(asked.length, 1, 'the client was asked first');
    assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
    assert.equal(sc.tier, 'L4');
    assert.equal(sc.executor, 'none');
    assert.match(sc.execution_id, /^ex_[0-9a-f]{20}$/);
    assert.match(sc.message, /declined the approval request without a person's decision/);
    assert.match(sc.message, new RegExp(`request_approval with this execution_id`));
    assert.match(sc.message, new RegExp(sc.execution_id));
    assert.equal(sc.approval, undefined, 'nothing was decided');
    const id = sc.execution_id;
    assert.ok((await pendingIds(server.base)).includes(id), 'the operator sees it pending');
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

  it('every operator decision has its audit line', () => {
    const decisions = readAudit(audit).filter((l) => l.type === 'decision');
    assert.ok(decisions.some((d) => d.decision === 'approved' && d.channel === 'cli' && d.approver === 'alice'));
    assert.ok(decisions.some((d) => d.decision === 'denied' && d.channel === 'api'));
    const held = readAudit(audit).filter((l) => l.type === 'call' && l.status === 'needs_approval');
    assert.equal(held.length, 3, 'decline, cancel and error each answered needs_approval');
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
