// Several servers on one host, and start-up failures. Each running server has its own directory
// STATE/instances/ID (lock, operator.json, audit files); the CLI finds the one running server, or
// asks which when several run. Every start-up failure is one or two lines on stderr, exit status
// non-zero, no stack trace; started as an ordinary user, every call says Warden needs root.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { checkResult, freePort, httpClient, jarPath, readAudit, startHttpServer, stdioClient, tempDir }
  from './lib/warden.mjs';

const run = promisify(execFile);
const LONG = 200_000; // above max_timeout_ms: held by request.long_timeout
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

async function cli(args, env) {
  const jar = await jarPath();
  try {
    const { stdout, stderr } = await run('java', ['-jar', jar, ...args], { env: { ...process.env, ...env },
      timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs the server with these arguments until it exits (it should, at once); returns { code, stderr }. */
async function startExpectingFailure(args, { env = {}, command = 'java', prefix = [] } = {}) {
  const jar = await jarPath();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, 'java', '-jar', jar, ...args].slice(command === 'java' ? 1 : 0),
      { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'], cwd: '/' });
    const err = [];
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`still running: ${Buffer.concat(err)}`)); },
      60_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr: Buffer.concat(err).toString() }); });
  });
}

/** One or two lines, each starting "warden:" or continuing it, with nothing of a Java stack trace. */
function assertClearFailure(r, pattern) {
  assert.notEqual(r.code, 0, `exit status must be non-zero; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length >= 1 && lines.length <= 2, `one or two lines, got ${lines.length}:\n${r.stderr}`);
  assert.match(lines[0], /^warden: /);
  for (const bad of [/\tat /, /Exception/, /Caused by/, /\.java:\d+/]) {
    assert.doesNotMatch(r.stderr, bad, `stderr has a stack trace:\n${r.stderr}`);
  }
  assert.match(r.stderr, pattern);
}

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

  before(async () => {
    a = await startHttpServer({ env, config, startMs: 120_000 });
    b = await startHttpServer({ env, startMs: 120_000 });
    ca = await httpClient(a);
    cb = await httpClient(b);
    stdio = await stdioClient({ env: { ...env, PATH: process.env.PATH } });
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

  it('each server has its own directory with operator.json (0600), audit and incident files', async () => {
    await listed([`http-${a.port}`, `http-${b.port}`, 'stdio-1']);
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

  it('instances list shows id, transport, address, pid and start time of each', async () => {
    const r = await listed([`http-${a.port}`, `http-${b.port}`, 'stdio-1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ID\s+MCP\s+ADDRESS\s+PID\s+STARTED\s+CONSOLE/);
    const rowA = r.stdout.split('\n').find((l) => l.startsWith(`http-${a.port} `));
    assert.match(rowA, new RegExp(`http\\s+127\\.0\\.0\\.1:${a.port}\\s+${a.child.pid}\\s+\\d{4}-\\d\\d-\\d\\dT`));
    assert.match(r.stdout, /^stdio-1\s+stdio\s+-\s+\d+/m);
  });

  it('with several running, approvals list names them and asks for --instance', async () => {
    await listed([`http-${a.port}`, `http-${b.port}`, 'stdio-1']);
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
    const wrong = await cli(['approvals', 'approve', sc.execution_id, '--instance', `http-${b.port}`], env);
    assert.equal(wrong.code, 1, 'B does not know A\'s call');
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

describe('start-up failures are one or two lines, never a stack trace', () => {
  const dir = tempDir('startup');
  const env = { XDG_STATE_HOME: path.join(dir, 'state') };
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a misspelt config key names its path and the key meant', async () => {
    const config = path.join(dir, 'typo.yaml');
    fs.writeFileSync(config, 'limits:\n  memroy_mb: 256\n');
    const r = await startExpectingFailure(['--config', config], { env });
    assertClearFailure(r, /limits\.memroy_mb: unknown key; did you mean limits\.memory_mb\?/);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    const typed = path.join(dir, 'typed.yaml');
    fs.writeFileSync(typed, 'audit:\n  fsync: sometimes\n');
    assertClearFailure(await startExpectingFailure(['--config', typed], { env }),
      /audit\.fsync: expected true or false, got "sometimes"/);
  });

  it('an HTTP port in use says so', async () => {
    const port = await freePort();
    const holder = net.createServer();
    await new Promise((r) => holder.listen(port, '127.0.0.1', r));
    try {
      const r = await startExpectingFailure(['--http', `127.0.0.1:${port}`], { env });
      assertClearFailure(r, new RegExp(`cannot serve HTTP on 127\\.0\\.0\\.1:${port}: the port is in use`));
    } finally {
      holder.close();
    }
  });

  it('an audit file that cannot be written says which and how to fix it', async () => {
    const r = await startExpectingFailure(['--audit', '/proc/warden-audit/audit.jsonl'], { env });
    assertClearFailure(r, /cannot write the audit log \/proc\/warden-audit\/audit\.jsonl.*\n.*--audit FILE/);
  });

  it('a workspace root the sandbox\'s uids cannot traverse is refused at start', async () => {
    const closed = path.join(dir, 'closed');
    fs.mkdirSync(closed, { mode: 0o700 });
    fs.chmodSync(closed, 0o700);
    const r = await startExpectingFailure(['--workspace', path.join(closed, 'ws')], { env });
    assertClearFailure(r, new RegExp(`cannot be reached by the sandbox's uids: ${closed} has mode 0700.*\\n.*chmod o\\+x`));
  });

  it('as an ordinary user with an unwritable HOME: one clear error', async () => {
    const r = await startExpectingFailure([], { command: 'setpriv', prefix: NOBODY,
      env: { HOME: '/nonexistent', XDG_STATE_HOME: '' } });
    assertClearFailure(r, /cannot create the state directory \/nonexistent\/\.local\/state\/warden\/instances \(permission denied, as uid 65534/);
    assert.match(r.stderr, /Set HOME or XDG_STATE_HOME to a directory this user can write/);
  });
});

describe('started as an ordinary user with a writable HOME', () => {
  const dir = tempDir('nobody');
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  fs.chownSync(home, 65534, 65534);
  let client;
  let log = [];

  before(async () => {
    const jar = await jarPath();
    const transport = new StdioClientTransport({ command: 'setpriv', args: [...NOBODY, 'java', '-jar', jar],
      env: { HOME: home, PATH: process.env.PATH }, stderr: 'pipe', cwd: '/' });
    transport.stderr?.on('data', (d) => log.push(d.toString()));
    client = new Client({ name: 'nobody-test', version: '1.0.0' });
    await client.connect(transport);
    await client.listTools();
  });

  after(async () => {
    await client?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves, and every call answers that Warden\'s sandbox needs root, not "internal error"', async () => {
    for (const [name, args] of [['run_command', { command: 'echo hi' }],
      ['execute_code', { language: 'python', code: 'print(1)' }],
      ['execute_code', { language: 'bash', code: 'echo hi | cat' }]]) {
      const res = await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 });
      const sc = checkResult(res);
      assert.notEqual(sc.status, 'ok');
      assert.match(sc.message, /Warden's sandbox needs root: this server runs as uid 65534/, JSON.stringify(sc));
      assert.doesNotMatch(sc.message, /internal error/);
    }
    const stderr = log.join('');
    assert.match(stderr, /Warden's sandbox needs root/);
    assert.doesNotMatch(stderr, /\tat |Exception/, `stack trace on stderr:\n${stderr}`);
    assert.ok(fs.existsSync(path.join(home, '.local', 'state', 'warden', 'instances', 'stdio-1', 'audit.jsonl')));
  });
});

describe('without bubblewrap', () => {
  const dir = tempDir('nobwrap');
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, 'sandbox:\n  bwrap: /nonexistent/bwrap\n');
  let c;
  before(async () => {
    c = await stdioClient({ config, audit: path.join(dir, 'audit.jsonl'),
      env: { XDG_STATE_HOME: path.join(dir, 'state'), PATH: process.env.PATH } });
  });
  after(async () => {
    await c?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves, and every run is refused saying bubblewrap is missing, not "internal error"', async () => {
    for (const [name, args] of [['run_command', { command: 'echo hi' }],
      ['execute_code', { language: 'python', code: 'print(1)' }]]) {
      const sc = await c.call(name, args);
      assert.notEqual(sc.status, 'ok');
      assert.match(sc.message, /bubblewrap is not installed at \/nonexistent\/bwrap \(apt-get install bubblewrap\)/,
        JSON.stringify(sc));
    }
    assert.doesNotMatch(c.serverLog(), /\tat |Exception/);
  });
});
