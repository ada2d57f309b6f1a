// Several servers on one host: each running server has its own directory STATE/instances/ID
// (lock, operator.json, audit files); the CLI finds the one running server, or asks which when
// several run, and reaches each with --instance.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { assertClearFailure, httpClient, operatorCli as cli, readAudit, startExpectingFailure, startHttpServer,
  stdioClient, tempDir } from './lib/warden.mjs';

const LONG = 200_000; // above max_timeout_ms: held by request.long_timeout

describe('two servers side by side: each its own instance directory, the CLI reaches each', () => {
  const dir = tempDir('instances');
  const state = path.join(dir, 'state');
  const env = { XDG_STATE_HOME: state };
  // a held call must outlive several CLI runs (a JVM start each) on a loaded machine
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, 'approval:\n  timeout_s: 600\n');
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, `policy:\n  file: "${policy}"\n`);
  let a;
  let b;
  let ca;
  let cb;
  let stdio;
  let listing;

  before(async () => {
    a = await startHttpServer({ env, config, startMs: 120_000 });
    b = await startHttpServer({ env, startMs: 120_000 });
    ca = await httpClient(a);
    cb = await httpClient(b);
    stdio = await stdioClient({ env: { ...env, PATH: process.env.PATH } });
    listing = await listed([`http-${a.port}`, `http-${b.port}`, 'stdio-1']);
  });

  after(async () => {
    await Promise.allSettled([ca?.close(), cb?.close(), stdio?.close()]);
    await Promise.allSettled([a?.stop(), b?.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until `instances list` shows every id with its console (written once the console is up). */
  async function listed(ids) {
    const deadline = Date.now() + 30_000;
    let r;
    while (Date.now() < deadline) {
      r = await cli(['instances', 'list'], env);
      const rows = r.stdout.split('\n').filter((l) => ids.some((id) => l.startsWith(`${id} `)));
      if (rows.length === ids.length && rows.every((l) => /http:\/\/127\.0\.0\.1:\d+\/operator/.test(l))) {
        return r;
      }
      await new Promise((res) => setTimeout(res, 300));
    }
    assert.fail(`instances list never showed ${ids.join(', ')} with their consoles:\n${r?.stdout}${r?.stderr}`);
  }

  it('each server has its own directory with operator.json (0600), audit and incident files', () => {
    for (const id of [`http-${a.port}`, `http-${b.port}`, 'stdio-1']) {
      const d = path.join(state, 'warden', 'instances', id);
      const op = JSON.parse(fs.readFileSync(path.join(d, 'operator.json'), 'utf8'));
      assert.equal(op.id, id);
      assert.match(op.token, /^[0-9a-f]{48}$/);
      assert.equal(fs.statSync(path.join(d, 'operator.json')).mode & 0o777, 0o600);
      assert.ok(fs.existsSync(path.join(d, 'audit.jsonl')), `${id}: audit.jsonl`);
      assert.ok(fs.existsSync(path.join(d, 'incidents.jsonl')), `${id}: incidents.jsonl`);
    }
    const opA = JSON.parse(fs.readFileSync(path.join(state, 'warden', 'instances', `http-${a.port}`, 'operator.json'), 'utf8'));
    assert.equal(opA.url, `${a.base}/operator`);
    assert.equal(opA.transport, 'http');
    assert.equal(opA.address, `127.0.0.1:${a.port}`);
  });

  it('instances list shows id, transport, address, pid and start time of each', () => {
    const r = listing;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ID\s+MCP\s+ADDRESS\s+PID\s+STARTED\s+CONSOLE/);
    const rowA = r.stdout.split('\n').find((l) => l.startsWith(`http-${a.port} `));
    assert.match(rowA, new RegExp(`http\\s+127\\.0\\.0\\.1:${a.port}\\s+${a.child.pid}\\s+\\d{4}-\\d\\d-\\d\\dT`));
    assert.match(r.stdout, /^stdio-1\s+stdio\s+-\s+\d+/m);
  });

  it('with several running, approvals list names them and asks for --instance', async () => {
    const r = await cli(['approvals', 'list'], env);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /3 Warden servers are running; say which with --instance ID/);
    assert.match(r.stderr, new RegExp(`http-${a.port}`));
    assert.match(r.stderr, new RegExp(`http-${b.port}`));
    assert.match(r.stderr, /stdio-1/);
  });

  it('--instance reaches the server it names: a call held on A is listed by A only and approved there', async () => {
    const sc = await ca.call('run_command', { command: 'echo held-on-a', timeout_ms: LONG });
    assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
    const onA = await cli(['approvals', 'list', '--instance', `http-${a.port}`], env);
    assert.equal(onA.code, 0, onA.stderr);
    assert.match(onA.stdout, new RegExp(sc.execution_id));
    const onB = await cli(['approvals', 'list', '--instance', `http-${b.port}`], env);
    assert.equal(onB.code, 0, onB.stderr);
    assert.doesNotMatch(onB.stdout, new RegExp(sc.execution_id));
    assert.match(onB.stdout, /no pending approvals/);
    const onStdio = await cli(['executions', 'list', '--instance', 'stdio-1'], env);
    assert.equal(onStdio.code, 0, onStdio.stderr);
    assert.match(onStdio.stdout, /no running executions/);
    const done = await cli(['approvals', 'deny', sc.execution_id, '--instance', `http-${a.port}`], env);
    assert.equal(done.code, 0, done.stderr);
    const missing = await cli(['approvals', 'list', '--instance', 'no-such'], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no Warden instance no-such is running.*running: http-/);
  });

  it('each server audits to its own file', async () => {
    const sa = await ca.call('run_command', { command: 'echo only-a' });
    const sb = await cb.call('run_command', { command: 'echo only-b' });
    const auditOf = (id) => readAudit(path.join(state, 'warden', 'instances', id, 'audit.jsonl'))
      .map((l) => l.execution_id);
    assert.ok(auditOf(`http-${a.port}`).includes(sa.execution_id));
    assert.ok(!auditOf(`http-${a.port}`).includes(sb.execution_id));
    assert.ok(auditOf(`http-${b.port}`).includes(sb.execution_id));
    assert.ok(!auditOf(`http-${b.port}`).includes(sa.execution_id));
  });

  it('a second server asking for a running one\'s port or name is refused in one line', async () => {
    const port = await startExpectingFailure(['--http', `127.0.0.1:${a.port}`], { env });
    assertClearFailure(port, new RegExp(`another Warden \\(pid ${a.child.pid}, instance http-${a.port}\\) serves it`));
    const name = await startExpectingFailure(['--name', 'stdio-1'], { env });
    assertClearFailure(name, /already running as instance stdio-1: stop it, or give this server another --name/);
  });

  it('once the others stop, the CLI needs no --instance and ignores the directories they left', async () => {
    await cb.close();
    await b.stop();
    await stdio.close();
    const deadline = Date.now() + 20_000;
    let r;
    do {
      r = await cli(['executions', 'list'], env);
    } while (r.code !== 0 && Date.now() < deadline);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no running executions/);
    assert.ok(fs.existsSync(path.join(state, 'warden', 'instances', `http-${b.port}`, 'audit.jsonl')),
      'a stopped server\'s audit file stays');
    const list = await cli(['instances', 'list'], env);
    assert.doesNotMatch(list.stdout, new RegExp(`http-${b.port}`));
  });
});

