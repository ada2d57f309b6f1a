// L4 approvals through the official TypeScript SDK client: elicitation (approve once, approve for
// the session, deny, decline, no answer until expiry), request_approval answered by the operator
// API and the CLI, bad input of every kind, checkpoint and rollback, and the audit line of each.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

import {
  checkResult, httpClient, requestApproval, jarPath, readAudit, sleep, startHttpServer, stdioClient, tempDir,
} from './lib/warden.mjs';

const run = promisify(execFile);
const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';
const CLIENT_TOKEN = 'client-token-for-tests-0123456789';
const TIMEOUT_S = 4;
// run_command with a timeout above max_timeout_ms is held by request.long_timeout (approve)
const LONG = 200_000;

/** A config with a short approval timeout and a known operator token; returns its path. */
function writeConfig(dir, timeoutS = TIMEOUT_S, extra = '') {
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, `approval:\n  timeout_s: ${timeoutS}\n`);
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, [
    'operator:',
    `  token: "${OPERATOR_TOKEN}"`,
    `  state_file: "${path.join(dir, 'operator.json')}"`,
    'policy:',
    `  file: "${policy}"`,
    extra,
  ].join('\n'));
  return config;
}

async function operatorApi(server, method, urlPath, { token = OPERATOR_TOKEN, headers = {} } = {}) {
  const res = await fetch(`${server.base}/operator/api${urlPath}`, {
    method, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
  });
  return { status: res.status, body: await res.json() };
}

async function cli(args, env = {}) {
  const jar = await jarPath();
  try {
    const { stdout, stderr } = await run('java', ['-jar', jar, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Waits until the operator API lists this execution as pending. */
async function waitPending(server, id) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { body } = await operatorApi(server, 'GET', '/state');
    if (body.pending.some((p) => p.execution_id === id)) return body.pending.find((p) => p.execution_id === id);
    await sleep(100);
  }
  throw new Error(`${id} never showed up as pending`);
}

describe('approval by elicitation (stdio, client declares elicitation)', () => {
  const dir = tempDir('elicit');
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const config = writeConfig(dir);
  let answer = async () => ({ action: 'accept', content: { decision: 'approve_once' } });
  const asked = [];
  let c;

  before(async () => {
    c = await stdioClient({
      audit, workspace, config, onElicit: (params) => {
        asked.push(params);
        return answer(params);
      },
    });
  });

  after(async () => {
    await c?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('approve_once: the held call runs in the same tool call; the prompt shows command, directory, tier, rules', async () => {
    asked.length = 0;
    answer = async () => ({ action: 'accept', content: { decision: 'approve_once' } });
    const sc = await c.call('run_command', { command: 'echo approved-once', timeout_ms: LONG });
    assert.equal(sc.status, 'ok', JSON.stringify(sc));
    assert.equal(sc.stdout, 'approved-once\n');
    assert.equal(sc.tier, 'L2');
    assert.equal(sc.executor, 'sandbox');
    assert.equal(sc.limits.timeout_ms, LONG, 'the approval grants the time asked for');
    assert.equal(sc.approval.decision, 'approved');
    assert.equal(sc.approval.channel, 'elicitation');
    assert.equal(sc.approval.scope, 'once');
    assert.ok(sc.findings.some((f) => f.rule === 'request.long_timeout'));
    assert.equal(asked.length, 1);
    const p = asked[0];
    assert.match(p.message, /echo approved-once/);
    assert.match(p.message, /\/workspace/);
    assert.match(p.message, /tier L2/);
    assert.match(p.message, /request\.long_timeout/);
    assert.deepEqual(p.requestedSchema.required, ['decision']);
    assert.equal(p.requestedSchema.properties.decision.type, 'string');
    assert.deepEqual(p.requestedSchema.properties.decision.enum, ['approve_once', 'approve_session', 'deny']);
  });

  it('approve_once does not carry over: the next held call asks again', async () => {
    asked.length = 0;
    const sc = await c.call('run_command', { command: 'echo again', timeout_ms: LONG });
    assert.equal(sc.status, 'ok');
    assert.equal(asked.length, 1);
  });

  it('deny: status denied, nothing ran, message names the decision', async () => {
    answer = async () => ({ action: 'accept', content: { decision: 'deny' } });
    const sc = await c.call('run_command', { command: 'touch denied-file', timeout_ms: LONG });
    assert.equal(sc.status, 'denied');
    assert.equal(sc.exit_code, null);
    assert.equal(sc.executor, 'none');
    assert.equal(sc.tier, 'L4');
    assert.match(sc.message, /^Denied/);
    assert.equal(sc.approval.decision, 'denied');
    const ls = await c.call('run_command', { command: 'ls' });
    assert.doesNotMatch(ls.stdout, /denied-file/);
  });

  it('decline and cancel deny', async () => {
    for (const action of ['decline', 'cancel']) {
      answer = async () => ({ action });
      const sc = await c.call('run_command', { command: 'echo x', timeout_ms: LONG });
      assert.equal(sc.status, 'denied', action);
      assert.match(sc.message, /declined or cancelled/);
    }
  });

  it('no answer before the policy timeout: denied (expired), and the server keeps serving', async () => {
    answer = () => new Promise(() => {}); // never answers
    const t0 = Date.now();
    const sc = await c.call('run_command', { command: 'echo never', timeout_ms: LONG });
    const took = Date.now() - t0;
    assert.equal(sc.status, 'denied');
    assert.match(sc.message, /nobody answered within 4 s/);
    assert.equal(sc.approval.decision, 'expired');
    assert.ok(took >= TIMEOUT_S * 1000 - 200 && took < TIMEOUT_S * 1000 + 5000, `took ${took} ms`);
    answer = async () => ({ action: 'accept', content: { decision: 'approve_once' } });
    const ok = await c.call('run_command', { command: 'echo still-here' });
    assert.equal(ok.stdout, 'still-here\n');
  });

  it('approve_session covers later calls held by the same rule, without asking', async () => {
    asked.length = 0;
    answer = async () => ({ action: 'accept', content: { decision: 'approve_session' } });
    const first = await c.call('run_command', { command: 'echo one', timeout_ms: LONG });
    assert.equal(first.status, 'ok');
    assert.equal(first.approval.scope, 'session');
    answer = async () => { throw new Error('must not be asked again'); };
    const second = await c.call('run_command', { command: 'echo two', timeout_ms: LONG });
    assert.equal(second.status, 'ok', JSON.stringify(second));
    assert.equal(second.stdout, 'two\n');
    assert.equal(asked.length, 1, 'asked once only');
    assert.ok(second.findings.some((f) => f.rule === 'approval.session_grant'));
    assert.equal(second.approval.channel, 'session_grant');
  });

  it('an approved kernel cell runs in a new kernel inside the checkpoint, and a failed one is rolled back', async () => {
    answer = async () => ({ action: 'accept', content: { decision: 'approve_once' } });
    const first = await c.call('execute_code', { language: 'python', kernel: 'held',
      code: 'x = 1\nopen("cell.txt", "w").write("before\\n")' });
    assert.equal(first.status, 'ok', JSON.stringify(first));
    const bad = await c.call('execute_code', { language: 'python', kernel: 'held', timeout_ms: LONG,
      code: 'open("cell.txt", "w").write("changed\\n")\nraise SystemExit(3)' });
    assert.equal(bad.status, 'failed', JSON.stringify(bad));
    assert.equal(bad.exit_code, 3);
    assert.equal(bad.approval.decision, 'approved');
    assert.equal(bad.workspace_restored, true);
    assert.equal(bad.kernel.restarted, true);
    assert.match(bad.message, /new kernel, inside the workspace's checkpoint/);
    const cat = await c.call('run_command', { command: 'cat cell.txt' });
    assert.equal(cat.stdout, 'before\n');
    const next = await c.call('execute_code', { language: 'python', kernel: 'held', code: 'print(open("cell.txt").read())' });
    assert.equal(next.status, 'ok', JSON.stringify(next));
    assert.equal(next.stdout, 'before\n\n');
  });

  it('a failed approved call restores the workspace from its checkpoint; a successful one keeps its changes', async () => {
    answer = async () => ({ action: 'accept', content: { decision: 'approve_once' } });
    const setup = await c.call('execute_code', { language: 'bash', code: 'true', files: { 'base.txt': 'original\n' } });
    assert.equal(setup.status, 'ok');
    const bad = await c.call('run_command', {
      command: 'echo changed > base.txt; echo junk > junk.txt; exit 3', timeout_ms: LONG,
    });
    assert.equal(bad.status, 'failed');
    assert.equal(bad.exit_code, 3);
    assert.equal(bad.workspace_restored, true);
    assert.match(bad.message, /restored to its checkpoint/);
    const cat = await c.call('run_command', { command: 'cat base.txt' });
    assert.equal(cat.stdout, 'original\n');
    const ls = await c.call('run_command', { command: 'ls' });
    assert.doesNotMatch(ls.stdout, /junk\.txt/);
    const good = await c.call('run_command', { command: 'echo kept > base.txt', timeout_ms: LONG });
    assert.equal(good.status, 'ok');
    assert.equal(good.workspace_restored, false);
    const cat2 = await c.call('run_command', { command: 'cat base.txt' });
    assert.equal(cat2.stdout, 'kept\n');
  });

  it('request_approval for a free-text action asks by elicitation', async () => {
    asked.length = 0;
    answer = async () => ({ action: 'accept', content: { decision: 'approve_once' } });
    const r = await requestApproval(c, { action: 'deploy the site to production', reason: 'the user asked for it' });
    assert.equal(r.decision, 'approved');
    assert.match(r.approver, /warden-mcp-tests/);
    assert.ok(!Number.isNaN(Date.parse(r.decided_at)));
    assert.match(asked[0].message, /deploy the site to production/);
    assert.match(asked[0].message, /the user asked for it/);
    answer = async () => ({ action: 'accept', content: { decision: 'deny' } });
    const d = await requestApproval(c, { action: 'delete the backups', reason: 'space' });
    assert.equal(d.decision, 'denied');
  });

  it('under stdio the operator console listens on loopback and the CLI finds it through the state file', async () => {
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'operator.json'), 'utf8'));
    assert.match(state.url, /^http:\/\/127\.0\.0\.1:\d+\/operator$/);
    const listed = await cli(['approvals', 'list', '--state', path.join(dir, 'operator.json')]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /no pending approvals/);
    const page = await fetch(state.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Operator token/);
  });

  it('every decision has its own audit line with approver, channel, scope and time', () => {
    const lines = readAudit(audit);
    const decisions = lines.filter((l) => l.type === 'decision');
    assert.ok(decisions.length >= 8, `${decisions.length} decision lines`);
    for (const d of decisions) {
      assert.ok(['approved', 'denied', 'expired'].includes(d.decision));
      assert.ok(d.channel, 'channel');
      assert.ok(['once', 'session'].includes(d.scope));
      assert.ok(!Number.isNaN(Date.parse(d.decided_at)));
      assert.ok(d.execution_id.startsWith('ex_'));
    }
    assert.ok(decisions.some((d) => d.decision === 'expired' && d.channel === 'policy'));
    assert.ok(decisions.some((d) => d.decision === 'approved' && d.scope === 'session' && d.channel === 'elicitation'));
    const calls = lines.filter((l) => l.type === 'call' && l.approval);
    assert.ok(calls.length >= 5, 'approved and denied calls carry their approval in the audit');
  });
});

describe('approval by the operator API and the CLI (HTTP, no elicitation)', () => {
  const dir = tempDir('operator');
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  // long enough for two CLI JVM start-ups on a loaded machine
  const config = writeConfig(dir, 15);
  let server;
  let c;
  let other;
  const headers = { Authorization: `Bearer ${CLIENT_TOKEN}` };

  before(async () => {
    server = await startHttpServer({ audit, workspace, config, env: { WARDEN_TOKEN: CLIENT_TOKEN } });
    c = await httpClient(server, { headers, name: 'operator-a' });
    other = await httpClient(server, { headers, name: 'operator-b' });
  });

  after(async () => {
    await Promise.allSettled([c?.close(), other?.close()]);
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function held(command = 'echo from-operator') {
    const sc = await c.call('run_command', { command, timeout_ms: LONG });
    assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
    assert.equal(sc.tier, 'L4');
    assert.equal(sc.executor, 'none');
    assert.match(sc.message, /request_approval/);
    assert.match(sc.message, new RegExp(sc.execution_id));
    return sc.execution_id;
  }

  it('the server wrote its console address and token for the CLI (mode 0600)', () => {
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'operator.json'), 'utf8'));
    assert.equal(state.url, `${server.base}/operator`);
    assert.equal(state.token, OPERATOR_TOKEN);
    assert.equal(fs.statSync(path.join(dir, 'operator.json')).mode & 0o777, 0o600);
  });

  it('CLI approve: request_approval returns approved with the held call\'s result', async () => {
    const id = await held();
    const waiting = requestApproval(c, { execution_id: id });
    await waitPending(server, id);
    const listed = await cli(['approvals', 'list', '--state', path.join(dir, 'operator.json')]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(id));
    assert.match(listed.stdout, /echo from-operator/);
    const done = await cli(['approvals', 'approve', id, '--state', path.join(dir, 'operator.json'), '--as', 'alice']);
    assert.equal(done.code, 0, done.stderr);
    const r = await waiting;
    assert.equal(r.decision, 'approved');
    assert.equal(r.approver, 'alice');
    assert.equal(r.channel, 'cli');
    assert.equal(r.execution_id, id);
    checkResult({ structuredContent: r.result, content: [{ type: 'text', text: JSON.stringify(r.result) }], isError: r.result.status !== 'ok' });
    assert.equal(r.result.status, 'ok');
    assert.equal(r.result.stdout, 'from-operator\n');
    // asking again gives the same decision and the same result; the call ran once
    const again = await requestApproval(c, { execution_id: id });
    assert.equal(again.decision, 'approved');
    assert.equal(again.result.stdout, 'from-operator\n');
    const runs = readAudit(audit).filter((l) => l.execution_id === id && l.tool === 'request_approval');
    assert.equal(runs.length, 2);
  });

  it('an approval given before request_approval is asked is kept for it', async () => {
    const id = await held('echo early');
    await waitPending(server, id);
    const { status } = await operatorApi(server, 'POST', `/approvals/${id}/approve`);
    assert.equal(status, 200);
    const r = await requestApproval(c, { execution_id: id });
    assert.equal(r.decision, 'approved');
    assert.equal(r.channel, 'api');
    assert.equal(r.result.stdout, 'early\n');
  });

  it('CLI deny: request_approval returns denied and nothing runs', async () => {
    const id = await held('touch should-not-exist');
    const waiting = requestApproval(c, { execution_id: id });
    await waitPending(server, id);
    const done = await cli(['approvals', 'deny', id, '--url', `${server.base}/operator`, '--token', OPERATOR_TOKEN]);
    assert.equal(done.code, 0, done.stderr);
    const r = await waiting;
    assert.equal(r.decision, 'denied');
    assert.equal(r.result, undefined);
    const ls = await c.call('run_command', { command: 'ls' });
    assert.doesNotMatch(ls.stdout, /should-not-exist/);
  });

  it('no decision before the timeout: expired; a decision after expiry is refused and changes nothing', async () => {
    const id = await held('echo too-late');
    const r = await requestApproval(c, { execution_id: id });
    assert.equal(r.decision, 'expired');
    assert.equal(r.channel, 'policy');
    const late = await operatorApi(server, 'POST', `/approvals/${id}/approve`);
    assert.equal(late.status, 409);
    assert.equal(late.body.ok, false);
    assert.match(late.body.message, /already decided \(expired/);
    const cliLate = await cli(['approvals', 'approve', id, '--state', path.join(dir, 'operator.json')]);
    assert.equal(cliLate.code, 1);
    assert.match(cliLate.stderr, /already decided/);
    const again = await requestApproval(c, { execution_id: id });
    assert.equal(again.decision, 'expired');
  });

  it('a second decision on a decided call is refused and changes nothing', async () => {
    const id = await held('echo twice');
    await waitPending(server, id);
    assert.equal((await operatorApi(server, 'POST', `/approvals/${id}/deny`)).status, 200);
    const second = await operatorApi(server, 'POST', `/approvals/${id}/approve`);
    assert.equal(second.status, 409);
    const r = await requestApproval(c, { execution_id: id });
    assert.equal(r.decision, 'denied');
  });

  it('bad ids: unknown, malformed, and another session\'s are refused with a clear message', async () => {
    const unknown = await requestApproval(c, { execution_id: 'ex_00000000000000000000' });
    assert.equal(unknown.decision, undefined);
    assert.match(unknown.message, /No held call with execution_id/);
    const malformed = await requestApproval(c, { execution_id: '../../etc/passwd\u0000' });
    assert.match(malformed.message, /No held call|Invalid/);
    const id = await held('echo mine');
    const foreign = await requestApproval(other, { execution_id: id });
    assert.equal(foreign.decision, undefined, 'another session cannot wait on or run this call');
    assert.match(foreign.message, /in this session/);
    assert.equal((await operatorApi(server, 'POST', '/approvals/not-an-id/approve')).status, 400);
    assert.equal((await operatorApi(server, 'POST', '/approvals/ex_11111111111111111111/approve')).status, 404);
    assert.equal((await operatorApi(server, 'POST', `/approvals/${id}/deny`)).status, 200);
  });

  it('bad request_approval arguments get a clear error, audited', async () => {
    for (const [args, re] of [
      [{}, /needs execution_id/],
      [{ execution_id: 'ex_1', action: 'x', reason: 'y' }, /not both/],
      [{ action: 'do it' }, /reason is required/],
      [{ execution_id: 42 }, /execution_id/],
      [{ execution_id: 'ex_1', color: 'red' }, /color/],
    ]) {
      const r = await requestApproval(c, args);
      assert.equal(r.decision, undefined);
      assert.match(r.message, re);
    }
  });

  it('the operator API refuses a missing token, a client token, and a wrong one, and changes nothing', async () => {
    const id = await held('echo guarded');
    await waitPending(server, id);
    for (const token of [null, CLIENT_TOKEN, 'wrong-token-wrong-token-wrong']) {
      const r = await operatorApi(server, 'POST', `/approvals/${id}/approve`, { token });
      assert.equal(r.status, 401, `token ${token}`);
      const s = await operatorApi(server, 'GET', '/state', { token });
      assert.equal(s.status, 401);
      assert.doesNotMatch(JSON.stringify(s.body), /guarded/);
    }
    const page = await fetch(`${server.base}/operator/approve`, { method: 'POST', body: new URLSearchParams({ id }) });
    assert.equal(page.status, 401);
    const cliBad = await cli(['approvals', 'approve', id, '--url', `${server.base}/operator`, '--token', CLIENT_TOKEN]);
    assert.equal(cliBad.code, 2);
    const state = await operatorApi(server, 'GET', '/state');
    assert.ok(state.body.pending.some((p) => p.execution_id === id), 'still pending');
    assert.equal((await operatorApi(server, 'POST', `/approvals/${id}/deny`)).status, 200);
  });

  it('free-text action approved through the operator API', async () => {
    const waiting = requestApproval(c, { action: 'send the report to the customer', reason: 'it is due today' });
    let pending;
    const deadline = Date.now() + 10_000;
    while (!pending && Date.now() < deadline) {
      const { body } = await operatorApi(server, 'GET', '/state');
      pending = body.pending.find((p) => p.kind === 'action' && /send the report/.test(p.subject));
      await sleep(100);
    }
    assert.ok(pending, 'the action is listed for the operator');
    assert.equal(pending.reason, 'it is due today');
    await operatorApi(server, 'POST', `/approvals/${pending.execution_id}/approve`, { headers: { 'X-Warden-Operator': 'bob' } });
    const r = await waiting;
    assert.equal(r.decision, 'approved');
    assert.equal(r.approver, 'bob');
  });

  it('CLI usage errors and no server say so', async () => {
    const u = await cli(['approvals', 'frobnicate', '--url', `${server.base}/operator`, '--token', OPERATOR_TOKEN]);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /usage/);
    const none = await cli(['approvals', 'list', '--state', path.join(dir, 'nope.json')], { HOME: dir });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no running server found/);
  });
});

describe('kill switch and stop', () => {
  const dir = tempDir('kill');
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const config = writeConfig(dir);
  let server;
  let c;

  before(async () => {
    server = await startHttpServer({ audit, workspace, config });
    c = await httpClient(server, { name: 'kill' });
  });

  after(async () => {
    await c?.close();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function waitRunning() {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const { body } = await operatorApi(server, 'GET', '/state');
      if (body.running.length > 0) return body.running[0];
      await sleep(50);
    }
    throw new Error('nothing started running');
  }

  it('stop ends one running execution: killed, with a message naming the operator', async () => {
    const call = c.call('execute_code', { language: 'bash', code: 'sleep 30; echo never' });
    const r = await waitRunning();
    assert.match(r.subject, /sleep 30/);
    const stop = await cli(['executions', 'stop', r.execution_id, '--state', path.join(dir, 'operator.json')]);
    assert.equal(stop.code, 0, stop.stderr);
    const sc = await call;
    assert.equal(sc.status, 'killed');
    assert.match(sc.message, /operator .* stopped it/);
    assert.ok(sc.duration_ms < 20_000);
  });

  it('the kill switch stops what runs and refuses new calls until it is turned off', async () => {
    const call = c.call('execute_code', { language: 'python', code: 'import time\ntime.sleep(30)' });
    await waitRunning();
    const on = await cli(['kill-switch', 'on', '--state', path.join(dir, 'operator.json')]);
    assert.equal(on.code, 0, on.stderr);
    const sc = await call;
    assert.equal(sc.status, 'killed');
    assert.match(sc.message, /kill switch/);
    const refused = await c.call('run_command', { command: 'echo blocked-by-switch' });
    assert.equal(refused.status, 'denied');
    assert.match(refused.message, /kill switch/);
    assert.ok(refused.findings.some((f) => f.rule === 'operator.kill_switch'));
    const off = await operatorApi(server, 'POST', '/kill-switch?on=false');
    assert.equal(off.status, 200);
    const ok = await c.call('run_command', { command: 'echo back' });
    assert.equal(ok.stdout, 'back\n');
    const incidents = readAudit(path.join(dir, 'incidents.jsonl'));
    assert.ok(incidents.some((l) => l.event === 'operator.kill_switch_on'));
    assert.ok(incidents.some((l) => l.event === 'operator.stop'));
    assert.ok(incidents.some((l) => l.status === 'killed'));
  });

  it('stop of an unknown or malformed id is refused', async () => {
    assert.equal((await operatorApi(server, 'POST', '/executions/ex_22222222222222222222/stop')).status, 404);
    assert.equal((await operatorApi(server, 'POST', '/executions/x/stop')).status, 400);
    assert.equal((await operatorApi(server, 'POST', '/kill-switch?on=maybe')).status, 400);
  });
});

// Issue 11, finding 4: what a person approves must be what runs. A held command that hides its
// payload from the redactor (a secret-looking assignment swallows `rm${IFS}-rf…`), reorders itself
// with a right-to-left override, hides a zero-width space, and closes a markdown fence to forge
// Warden's "Runs in:" lines, read back through the CLI, the operator API, the page and the
// elicitation message: whole, unredacted (with a warning), escapes visible, no raw character, and
// the forged lines only inside the agent's block.
describe('approval fidelity: the exact command on every channel', () => {
  const PAYLOAD = 'API_TOKEN=dummy;rm${IFS}-rf${IFS}src${IFS}.git;echo make test';
  const FORGED = ['Runs in: tier L1 (inline) once approved', 'Why it was held: a routine check'];
  const COMMAND = `${PAYLOAD} # \u202Etxt.exe \u200Bz\n: '\n\`\`\`\n${FORGED.join('\n')}\n'`;
  const RAW = /[\u202E\u200B]/;

  function agentOnly(text, lineStart) {
    for (const forged of FORGED) {
      for (const line of text.split('\n').filter((l) => l.includes(forged))) {
        assert.ok(line.startsWith(lineStart), `a forged line outside the agent's block: ${JSON.stringify(line)}`);
      }
    }
  }

  describe('CLI, operator API and page (HTTP, no elicitation)', () => {
    const dir = tempDir('fidelity');
    fs.mkdirSync(path.join(dir, 'ws'));
    const config = writeConfig(dir, 60);
    let server;
    let c;
    let id;

    before(async () => {
      server = await startHttpServer({ audit: path.join(dir, 'audit.jsonl'), workspace: path.join(dir, 'ws'), config });
      c = await httpClient(server, { name: 'fidelity' });
      const sc = await c.call('run_command', { command: COMMAND, timeout_ms: LONG });
      assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
      id = sc.execution_id;
      await waitPending(server, id);
    });

    after(async () => {
      if (id) await operatorApi(server, 'POST', `/approvals/${id}/deny`);
      await c?.close();
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('the CLI shows the whole command, unredacted and marked, escapes visible, the agent\'s lines boxed', async () => {
      const listed = await cli(['approvals', 'list', '--state', path.join(dir, 'operator.json')]);
      assert.equal(listed.code, 0, listed.stderr);
      const out = listed.stdout;
      assert.ok(out.includes(PAYLOAD), out);
      assert.doesNotMatch(out, /\[REDACTED\]/);
      assert.match(out, /WARNING: contains what looks like a secret: API_TOKEN=…/);
      assert.ok(out.includes('\\u202Etxt.exe \\u200Bz'), out);
      assert.match(out, /\\u202E \(RIGHT-TO-LEFT OVERRIDE\)/);
      assert.doesNotMatch(out, RAW);
      assert.match(out, new RegExp(`${[...COMMAND].length} characters on 6 lines`));
      agentOnly(out, '    │ ');
      assert.match(out, /\n {4}│ ```\n/);
    });

    it('the operator API returns the exact text and its display form', async () => {
      const { body } = await operatorApi(server, 'GET', '/state');
      const p = body.pending.find((x) => x.execution_id === id);
      assert.equal(p.subject, COMMAND, 'exact: what runs');
      assert.ok(p.subject_display.startsWith(`${PAYLOAD} # \\u202Etxt.exe \\u200Bz\n`), p.subject_display);
      assert.doesNotMatch(p.subject_display, RAW);
      assert.equal(p.subject_chars, [...COMMAND].length);
      assert.equal(p.subject_lines, 6);
      assert.deepEqual(p.likely_secrets, ['API_TOKEN=…']);
      assert.ok(p.subject_notes.some((n) => /^contains what looks like a secret: API_TOKEN=…/.test(n)), p.subject_notes);
      assert.ok(p.subject_notes.some((n) => n.includes('\\u200B (ZERO WIDTH SPACE)')), p.subject_notes);
    });

    it('the page shows the display form, escaped, in the agent\'s own block', async () => {
      const login = await fetch(`${server.base}/operator/login`, {
        method: 'POST', body: new URLSearchParams({ token: OPERATOR_TOKEN }), redirect: 'manual',
      });
      const cookie = login.headers.get('set-cookie').split(';')[0];
      const html = await (await fetch(`${server.base}/operator`, { headers: { Cookie: cookie } })).text();
      assert.ok(html.includes(PAYLOAD), 'whole payload');
      assert.doesNotMatch(html, RAW);
      assert.match(html, /<li class=secret>contains what looks like a secret: API_TOKEN=…/);
      const pre = html.match(/<pre class='agent subject'>([^<]*)<\/pre>/);
      assert.ok(pre, 'the command is in its own <pre>');
      assert.ok(pre[1].includes(`${PAYLOAD} # \\u202Etxt.exe \\u200Bz\n: &#39;\n\`\`\`\n${FORGED[0]}`), pre[1]);
    });
  });

  describe('elicitation message (stdio, client declares elicitation)', () => {
    const dir = tempDir('fidelity-elicit');
    fs.mkdirSync(path.join(dir, 'ws'));
    const asked = [];
    let c;

    before(async () => {
      c = await stdioClient({
        audit: path.join(dir, 'audit.jsonl'), workspace: path.join(dir, 'ws'), config: writeConfig(dir),
        onElicit: (params) => {
          asked.push(params);
          return { action: 'accept', content: { decision: 'deny' } };
        },
      });
    });

    after(async () => {
      await c?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('Warden\'s fields first, the exact command last in a fence it cannot close, escapes visible', async () => {
      const sc = await c.call('run_command', { command: COMMAND, timeout_ms: LONG });
      assert.equal(sc.status, 'denied', JSON.stringify(sc));
      assert.equal(asked.length, 1);
      const m = asked[0].message;
      assert.doesNotMatch(m, RAW);
      assert.ok(m.includes(PAYLOAD), m);
      assert.doesNotMatch(m, /\[REDACTED\]/);
      assert.match(m, /contains what looks like a secret: API_TOKEN=…/);
      assert.ok(m.includes('\\u202Etxt.exe \\u200Bz'), m);
      const lines = m.split('\n');
      const open = lines.findIndex((l) => /^`{3,}$/.test(l));
      assert.ok(open > 0, m);
      const fence = lines[open];
      assert.ok(fence.length > 3, 'longer than the ``` in the command');
      assert.equal(lines.at(-2), fence, 'the closing fence is the last line');
      assert.equal(lines.at(-1), '');
      const inside = lines.slice(open + 1, -2);
      assert.ok(!inside.some((l) => l.includes(fence)), 'nothing inside can close the fence');
      assert.equal(inside.join('\n'), COMMAND.replace('\u202E', '\\u202E').replace('\u200B', '\\u200B'));
      const wardens = lines.slice(0, open);
      assert.equal(wardens.filter((l) => l.startsWith('Runs in:')).length, 1, 'Warden\'s own line, once');
      assert.equal(wardens.filter((l) => l.startsWith('Why it was held:')).length, 1);
      assert.ok(!wardens.some((l) => FORGED.includes(l)), 'no forged line among Warden\'s');
      assert.ok(inside.includes(FORGED[0]), 'the forged line is inside the agent\'s block');
    });
  });
});
