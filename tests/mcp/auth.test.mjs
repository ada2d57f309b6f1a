// Bearer tokens: with WARDEN_TOKEN set, every HTTP endpoint wants `Authorization: Bearer <token>`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  JSON_HEADERS, assertAudited, assertCleanErrorBody, assertOk, freePort, httpClient, initializeBody, jarPath,
  rawRequest, sseClient, startHttpServer, tempDir,
} from './lib/warden.mjs';

describe('bearer token (WARDEN_TOKEN)', () => {
  const dir = tempDir('auth');
  const audit = path.join(dir, 'audit.jsonl');
  const token = `tok-${crypto.randomBytes(16).toString('hex')}`;
  const auth = { Authorization: `Bearer ${token}` };
  let server;
  const clients = [];

  before(async () => {
    server = await startHttpServer({ audit, env: { WARDEN_TOKEN: token } });
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function assertUnauthorized(res) {
    const body = assertCleanErrorBody(res, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    assert.ok(!res.text.includes(token));
    return body;
  }

  it('POST /mcp without Authorization: 401', async () => {
    assertUnauthorized(await rawRequest(server.url, { headers: JSON_HEADERS, body: initializeBody() }));
  });

  it('POST /mcp with a wrong token: 401', async () => {
    assertUnauthorized(await rawRequest(server.url, {
      headers: { ...JSON_HEADERS, Authorization: `Bearer ${token}x` }, body: initializeBody(),
    }));
    assertUnauthorized(await rawRequest(server.url, {
      headers: { ...JSON_HEADERS, Authorization: `Bearer ${token.slice(0, -1)}` }, body: initializeBody(),
    }));
  });

  it('POST /mcp with the token in another scheme: 401', async () => {
    assertUnauthorized(await rawRequest(server.url, {
      headers: { ...JSON_HEADERS, Authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` },
      body: initializeBody(),
    }));
  });

  it('GET /sse and POST /message without Authorization: 401', async () => {
    assertUnauthorized(await rawRequest(server.sseUrl, { method: 'GET', headers: { Accept: 'text/event-stream' }, readMs: 1000 }));
    assertUnauthorized(await rawRequest(`${server.base}/message?sessionId=x`, {
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    }));
  });

  it('POST /mcp with the token: 200 and a session', async () => {
    const res = await rawRequest(server.url, { headers: { ...JSON_HEADERS, ...auth }, body: initializeBody() });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.headers['mcp-session-id']);
    assert.match(res.text, /"name":"warden"/);
  });

  it('the SDK client without a token cannot connect', async () => {
    await assert.rejects(httpClient(server), /401|nauthorized/);
  });

  it('the SDK client with the token works over Streamable HTTP, and needs it on every request', async () => {
    const c = await httpClient(server, { headers: auth, name: 'auth-http' });
    clients.push(c);
    assertOk(await c.call('run_command', { command: 'echo authed' }), 'authed\n');
    assertOk(await c.call('execute_code', { language: 'python', code: 'print(2+2)' }), '4\n');
    // the live session id alone is not enough
    const res = await rawRequest(server.url, {
      headers: { ...JSON_HEADERS, 'mcp-session-id': c.transport.sessionId, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'run_command', arguments: { command: 'echo sneaky' } } }),
    });
    assertUnauthorized(res);
  });

  it('the SDK client with the token works over HTTP+SSE', async () => {
    const c = await sseClient(server, { headers: auth, name: 'auth-sse' });
    clients.push(c);
    assertOk(await c.call('run_command', { command: 'echo authed-sse' }), 'authed-sse\n');
  });

  it('the SDK SSE client without a token cannot connect', async () => {
    await assert.rejects(sseClient(server), /401|nauthorized/);
  });

  it('a program that prints the token gets it redacted, and the audit file never holds it', async () => {
    const c = clients[0];
    const sc = await c.call('execute_code', { language: 'python', code: `print("token=" + ${JSON.stringify(token)})` });
    assert.equal(sc.status, 'ok');
    assert.ok(!sc.stdout.includes(token), `token leaked in stdout: ${sc.stdout}`);
    assert.match(sc.stdout, /^token=/);
    assert.ok(sc.redactions >= 1, `redactions ${sc.redactions}`);
    assert.ok(!fs.readFileSync(audit, 'utf8').includes(token), 'token in the audit file');
  });

  it('every execution_id is in the audit file', () => {
    assertAudited(audit, clients.flatMap((c) => c.ids));
  });
});

describe('WARDEN_TOKEN shorter than 16 characters', () => {
  it('the server refuses to start (exit 2) and says why', async () => {
    const port = await freePort();
    const child = spawn('java', ['-jar', await jarPath(), '--http', `127.0.0.1:${port}`], {
      env: { ...process.env, WARDEN_TOKEN: 'short-token' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise((r) => child.on('exit', (c) => r(c)));
    clearTimeout(timer);
    assert.equal(code, 2, `exit ${code}: ${stderr}`);
    assert.match(stderr, /16/);
    assert.ok(!stderr.includes('short-token'), 'the rejected token is not echoed');
  });
});
