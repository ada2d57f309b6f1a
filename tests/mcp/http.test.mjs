// The official TypeScript SDK client against Warden's Streamable HTTP transport (/mcp), plus raw
// HTTP requests for origin/host checks, session end and error bodies.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  JSON_HEADERS, assertAudited, connectAll, assertCleanErrorBody, assertOk, httpClient, initializeBody, rawRequest, sleep,
  startHttpServer, tempDir, workspaceDirs,
} from './lib/warden.mjs';
import {
  defineBadInputTests, defineBasicToolTests, defineFeatureTests, defineHandshakeTests, defineWorkspaceTests,
} from './lib/suites.mjs';

describe('Streamable HTTP transport (SDK StreamableHTTPClientTransport)', () => {
  const dir = tempDir('http');
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  let server;
  let a;
  let b;
  const ended = []; // execution ids of clients closed during the tests

  before(async () => {
    server = await startHttpServer({ audit, workspace });
    [a, b] = await connectAll([httpClient(server, { name: 'http-a' }), httpClient(server, { name: 'http-b' })]);
  });

  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('handshake', () => {
    defineHandshakeTests(() => a);
    it('each client got its own session id', () => {
      assert.ok(a.transport.sessionId && b.transport.sessionId);
      assert.notEqual(a.transport.sessionId, b.transport.sessionId);
    });
  });
  describe('tools', () => defineBasicToolTests(() => a));
  describe('workspace', () => defineWorkspaceTests(() => a, () => b));
  describe('arguments and outcomes', () => defineFeatureTests(() => a));
  describe('bad input', () => defineBadInputTests(() => b));

  describe('session end', () => {
    it('DELETE of the session removes its workspace, and the session id is dead afterwards', async () => {
      const c = await httpClient(server, { name: 'http-c' });
      const sid = c.transport.sessionId;
      const before_ = workspaceDirs(workspace);
      try {
        assertOk(await c.call('execute_code', { language: 'bash', code: 'echo data > kept.txt' }));
        const during = workspaceDirs(workspace);
        const added = during.filter((d) => !before_.includes(d));
        assert.equal(added.length, 1, `one new workspace for the new session: ${during}`);
        assert.ok(fs.existsSync(path.join(workspace, added[0], 'kept.txt')));
        await c.transport.terminateSession();
        const deadline = Date.now() + 5000;
        while (fs.existsSync(path.join(workspace, added[0])) && Date.now() < deadline) {
          await sleep(50);
        }
        assert.ok(!fs.existsSync(path.join(workspace, added[0])), 'workspace removed after DELETE');
        assert.deepEqual(workspaceDirs(workspace), before_, 'other sessions keep theirs');
      } finally {
        ended.push(...c.ids);
        await c.close();
      }
      const res = await rawRequest(server.url, {
        headers: { ...JSON_HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      assertCleanErrorBody(res, 404);
      // the other sessions still work
      assertOk(await a.call('run_command', { command: 'echo alive' }), 'alive\n');
    });
  });

  describe('origin and host checks', () => {
    it('a foreign Origin gets 403 with a JSON-RPC error body', async () => {
      const res = await rawRequest(server.url, {
        headers: { ...JSON_HEADERS, Origin: 'http://evil.example' }, body: initializeBody(),
      });
      const body = assertCleanErrorBody(res, 403);
      assert.match(body.error.message, /Origin/);
    });

    it('a foreign Origin is refused on an existing session too', async () => {
      const res = await rawRequest(server.url, {
        headers: { ...JSON_HEADERS, Origin: 'http://evil.example', 'mcp-session-id': a.transport.sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'run_command', arguments: { command: 'echo pwned' } } }),
      });
      assertCleanErrorBody(res, 403);
    });

    it('a foreign Host header is refused (DNS rebinding)', async () => {
      const res = await rawRequest(server.url, {
        headers: { ...JSON_HEADERS, Host: `evil.example:${server.port}` }, body: initializeBody(),
      });
      assert.ok([403, 421].includes(res.status), `status ${res.status}`);
      assertCleanErrorBody(res);
    });

    it('a loopback Origin is accepted', async () => {
      const res = await rawRequest(server.url, {
        headers: { ...JSON_HEADERS, Origin: `http://127.0.0.1:${server.port}` }, body: initializeBody(),
      });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.headers['mcp-session-id']);
      assert.match(res.text, /"name":"warden"/);
      const del = await rawRequest(server.url, { method: 'DELETE', headers: { 'mcp-session-id': res.headers['mcp-session-id'] } });
      assert.ok(del.status < 300, `DELETE ${del.status}`);
    });
  });

  describe('error bodies', () => {
    it('malformed JSON: 400 with a plain JSON-RPC error', async () => {
      const res = await rawRequest(server.url, { headers: JSON_HEADERS, body: '{bad json' });
      assertCleanErrorBody(res, 400);
    });

    it('malformed JSON: the error code is -32700 (parse error), as over stdio', async () => {
      const res = await rawRequest(server.url, { headers: JSON_HEADERS, body: '{bad json' });
      assert.equal(assertCleanErrorBody(res, 400).error.code, -32700);
    });

    it('an unknown session id: 404 with a plain JSON-RPC error', async () => {
      const res = await rawRequest(server.url, {
        headers: { ...JSON_HEADERS, 'mcp-session-id': 'no-such-session-0000' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
      });
      assertCleanErrorBody(res, 404);
    });

    it('a request without a session id: 400 with a plain JSON-RPC error', async () => {
      const res = await rawRequest(server.url, { headers: JSON_HEADERS, body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }) });
      assertCleanErrorBody(res, 400);
    });

    it('a JSON array body: 400 with a plain JSON-RPC error', async () => {
      const res = await rawRequest(server.url, { headers: JSON_HEADERS, body: '[1,2]' });
      assertCleanErrorBody(res, 400);
    });

    it('error bodies name no Java classes', async () => {
      const res = await rawRequest(server.url, { headers: JSON_HEADERS, body: '[1,2]' });
      assert.doesNotMatch(res.text, /java\.|JsonToken/);
    });

    it('a wrong Content-Type: 415 with a plain JSON-RPC error', async () => {
      const res = await rawRequest(server.url, {
        headers: { ...JSON_HEADERS, 'Content-Type': 'text/plain' }, body: initializeBody(),
      });
      assertCleanErrorBody(res, 415);
    });

    it('a body over max_request_bytes: 413 with a plain JSON-RPC error, and the server goes on', async () => {
      const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'a'.repeat(5 * 1024 * 1024) } });
      const res = await rawRequest(server.url, { headers: JSON_HEADERS, body: big });
      assertCleanErrorBody(res, 413);
      assertOk(await a.call('run_command', { command: 'echo after-big' }), 'after-big\n');
    });

    it('an unknown path: 404 with a plain JSON-RPC error', async () => {
      const res = await rawRequest(`${server.base}/nope`, { method: 'GET' });
      assertCleanErrorBody(res, 404);
    });

    it('none of that reached the log as a stack trace', () => {
      assert.doesNotMatch(server.log(), /\n\s+at (io|org|java|jdk|jakarta)\./, 'stack trace in the server log');
    });
  });

  describe('audit', () => {
    it('every execution_id the clients received is in the audit file, marked http, with its session', () => {
      const lines = assertAudited(audit, [...a.ids, ...b.ids, ...ended], 'http');
      const sessions = new Map(lines.map((l) => [l.execution_id, l.session]));
      for (const id of a.ids) assert.equal(sessions.get(id), a.transport.sessionId);
      for (const id of b.ids) assert.equal(sessions.get(id), b.transport.sessionId);
    });
  });
});
