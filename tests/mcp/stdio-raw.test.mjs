// Raw newline-delimited JSON-RPC over the server's stdin/stdout, no SDK: malformed lines must be
// answered with JSON-RPC errors and must not end the session.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { jarPath, tempDir } from './lib/warden.mjs';

/** A Warden process over stdio with a line reader on its stdout. */
class RawServer {
  constructor(child) {
    this.child = child;
    this.lines = [];
    this.waiters = [];
    this.stderr = '';
    this.stdoutRaw = '';
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      this.stdoutRaw += d;
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        this.waiters.splice(0).forEach((w) => w());
      }
    });
    child.stderr.on('data', (d) => { this.stderr += d; });
  }

  write(data) {
    this.child.stdin.write(data);
  }

  send(msg) {
    this.write(`${JSON.stringify(msg)}\n`);
  }

  /** The next stdout line (parsed) for which pred holds; lines before it are kept for inspection. */
  async next(pred, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const idx = this.lines.findIndex((l) => {
        try {
          return pred(JSON.parse(l));
        } catch {
          return false;
        }
      });
      if (idx >= 0) {
        const [line] = this.lines.splice(idx, 1);
        return JSON.parse(line);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no matching line within ${timeoutMs} ms; stdout so far: ${this.stdoutRaw}\nstderr: ${this.stderr}`);
      }
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  byId(id) {
    return this.next((m) => m.id === id && ('result' in m || 'error' in m));
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

describe('stdio framing (raw JSON-RPC lines)', () => {
  const dir = tempDir('raw');
  let srv;

  before(async () => {
    const child = spawn('java', ['-jar', await jarPath(), '--audit', path.join(dir, 'audit.jsonl'),
      '--workspace', path.join(dir, 'ws')], { stdio: ['pipe', 'pipe', 'pipe'] });
    srv = new RawServer(child);
  });

  after(async () => {
    await srv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a malformed JSON line gets a -32700 parse error with id null', async () => {
    srv.write('{bad json\n');
    const err = await srv.next((m) => m.error);
    assert.equal(err.jsonrpc, '2.0');
    assert.equal(err.id, null);
    assert.equal(err.error.code, -32700);
    assert.equal(typeof err.error.message, 'string');
    assert.doesNotMatch(JSON.stringify(err), /Exception|at io\.|stackTrace/);
  });

  it('the server still answers initialize and tools/list after it', async () => {
    srv.send({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const init = await srv.byId(1);
    assert.equal(init.result.serverInfo.name, 'warden');
    srv.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    srv.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const list = await srv.byId(2);
    assert.deepEqual(list.result.tools.map((t) => t.name).sort(), ['create_workspace', 'delete_workspace', 'execute_code',
      'get_execution', 'list_executions', 'list_files', 'read_file', 'request_approval', 'run_command', 'send_input',
      'stop_execution', 'write_file']);
  });

  it('a malformed line in the middle of a session is answered and the session goes on', async () => {
    srv.write('{"jsonrpc":"2.0","id":3,"method":"tools/list"\n'); // truncated object
    const err = await srv.next((m) => m.error && m.error.code === -32700);
    assert.equal(err.id, null);
    srv.send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'run_command', arguments: { command: 'echo raw' } } });
    const res = await srv.byId(4);
    assert.equal(res.result.structuredContent.stdout, 'raw\n');
    assert.equal(res.result.isError, false);
  });

  it('bytes that are not UTF-8 get a -32700 parse error', async () => {
    srv.write(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]));
    const err = await srv.next((m) => m.error && m.error.code === -32700);
    assert.equal(err.id, null);
  });

  it('well-formed JSON that is not a JSON-RPC request gets -32600, keeping its id', async () => {
    srv.send({ jsonrpc: '1.0', id: 5, method: 'ping' });
    const bad = await srv.byId(5);
    assert.equal(bad.error.code, -32600);
    srv.write('[1,2]\n');
    const batch = await srv.next((m) => m.error && m.error.code === -32600 && m.id === null);
    assert.match(batch.error.message, /batch|object/i);
    srv.write('"just a string"\n');
    const str = await srv.next((m) => m.error && m.error.code === -32600 && m.id === null);
    assert.ok(str.error.message.length > 0);
  });

  it('an unknown method is -32601 and ping still works', async () => {
    srv.send({ jsonrpc: '2.0', id: 6, method: 'no/such/method' });
    const res = await srv.byId(6);
    assert.equal(res.error.code, -32601);
    srv.send({ jsonrpc: '2.0', id: 7, method: 'ping' });
    assert.deepEqual((await srv.byId(7)).result, {});
  });

  it('bad tool arguments over raw JSON-RPC are a tool result with status invalid, not a protocol error', async () => {
    srv.send({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'execute_code', arguments: { language: 'python', code: 1 } } });
    const res = await srv.byId(8);
    assert.equal(res.result.isError, true);
    assert.equal(res.result.structuredContent.status, 'invalid');
    assert.match(res.result.structuredContent.message, /code must be a string/);
  });

  it('nothing but JSON-RPC lines ever reached stdout (logs go to stderr)', async () => {
    srv.send({ jsonrpc: '2.0', id: 9, method: 'ping' });
    await srv.byId(9);
    const lines = srv.stdoutRaw.split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 8);
    for (const l of lines) {
      const m = JSON.parse(l);
      assert.equal(m.jsonrpc, '2.0', `not a JSON-RPC line: ${l}`);
    }
    assert.match(srv.stderr, /warden/i, 'the log went to stderr');
  });
});
