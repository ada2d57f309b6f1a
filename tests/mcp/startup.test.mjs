// Start-up failures are one or two lines on stderr, exit status non-zero, no stack trace; started
// as an ordinary user, or without bubblewrap, the server serves and every call says why it cannot run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { assertClearFailure, checkResult, freePort, jarPath, startExpectingFailure, stdioClient, tempDir }
  from './lib/warden.mjs';

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

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

// With a Docker engine, a server without bubblewrap runs its calls in containers (docker-only mode,
// dockeronly.test.mjs); here it has no engine either.
describe('without bubblewrap and without a Docker engine', () => {
  const dir = tempDir('nobwrap');
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, 'sandbox:\n  bwrap: /nonexistent/bwrap\ncontainer:\n  docker_host: unix:///nonexistent/docker.sock\n');
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
      assert.match(sc.message, /no Docker engine is reachable at unix:\/\/\/nonexistent\/docker\.sock/);
    }
    assert.doesNotMatch(c.serverLog(), /\tat |Exception/);
  });
});
