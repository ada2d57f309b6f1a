// The official TypeScript SDK client against Warden's legacy HTTP+SSE transport (/sse + /message).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  JSON_HEADERS, assertAudited, connectAll, assertCleanErrorBody, assertOk, httpClient, rawRequest, sleep, sseClient,
  startHttpServer, tempDir, workspaceDirs,
} from './lib/warden.mjs';
import {
  defineBadInputTests, defineBasicToolTests, defineFeatureTests, defineHandshakeTests, defineWorkspaceTests,
} from './lib/suites.mjs';

describe('HTTP+SSE transport (SDK SSEClientTransport)', () => {
  const dir = tempDir('sse');
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  let server;
  let a;
  let b;
  let h; // a Streamable HTTP session on the same server
  const ended = [];

  before(async () => {
    server = await startHttpServer({ audit, workspace });
    [a, b, h] = await connectAll([
      sseClient(server, { name: 'sse-a' }), sseClient(server, { name: 'sse-b' }), httpClient(server, { name: 'http-h' }),
    ]);
  });

  after(async () => {
    await Promise.allSettled([a?.close(), b?.close(), h?.close()]);
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('handshake', () => defineHandshakeTests(() => a));
  describe('tools', () => defineBasicToolTests(() => a));
  describe('workspace: two SSE sessions', () => defineWorkspaceTests(() => a, () => b));
  describe('workspace: SSE and Streamable HTTP sessions on one server', () => {
    defineWorkspaceTests(() => h, () => a, 'from-http.txt');
    defineWorkspaceTests(() => b, () => h, 'from-sse.txt');
  });
  describe('arguments and outcomes', () => defineFeatureTests(() => a));
  describe('bad input', () => defineBadInputTests(() => b));

  describe('session start', () => {
    // the SDK client posts initialize as soon as the endpoint event arrives: the session must be
    // known by then (it once was registered only after the GET's filter returned: a race)
    it('a new SSE session\'s first message is never refused as unknown (30 in a row)', async () => {
      const refused = [];
      for (let i = 0; i < 30; i++) {
        let c;
        try {
          c = await sseClient(server, { name: `sse-start-${i}` });
        } catch (e) {
          refused.push(String(e.message).slice(0, 200));
        } finally {
          await c?.close();
        }
      }
      assert.deepEqual(refused, []);
    });
  });

  describe('session end', () => {
    // a gone SSE client is noticed on the second keep-alive write after it left (one every 5 s);
    // the deadline allows for a slow machine several times over
    it('the workspace of an SSE session is removed when its stream closes', async () => {
      const c = await sseClient(server, { name: 'sse-c' });
      const before_ = workspaceDirs(workspace);
      let added;
      try {
        assertOk(await c.call('run_command', { command: 'echo x' }), 'x\n');
        added = workspaceDirs(workspace).filter((d) => !before_.includes(d));
        assert.equal(added.length, 1);
      } finally {
        ended.push(...c.ids);
        await c.close();
      }
      const closed = Date.now();
      const deadline = closed + 60000;
      while (fs.existsSync(path.join(workspace, added[0])) && Date.now() < deadline) {
        await sleep(100);
      }
      assert.ok(!fs.existsSync(path.join(workspace, added[0])),
        `workspace ${added[0]} still there ${Date.now() - closed} ms after the SSE stream closed; server log:\n${server.log().slice(-3000)}`);
    });
  });

  describe('origin checks and error bodies', () => {
    it('GET /sse with a foreign Origin gets 403 with a JSON-RPC error body', async () => {
      const res = await rawRequest(server.sseUrl, {
        method: 'GET', headers: { Accept: 'text/event-stream', Origin: 'http://evil.example' }, readMs: 1000,
      });
      assertCleanErrorBody(res, 403);
    });

    it('POST /message with a foreign Origin gets 403', async () => {
      const res = await rawRequest(`${server.base}/message?sessionId=whatever`, {
        headers: { ...JSON_HEADERS, Origin: 'http://evil.example' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      assertCleanErrorBody(res, 403);
    });

    it('GET /sse from a loopback Origin opens a stream that names its /message endpoint', async () => {
      const res = await rawRequest(server.sseUrl, {
        method: 'GET', headers: { Accept: 'text/event-stream', Origin: `http://localhost:${server.port}` }, readMs: 1000,
      });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /text\/event-stream/);
      assert.match(res.text, /event: ?endpoint\ndata: ?\/message\?sessionId=\S+/);
    });

    it('POST /message with an unknown session id: 404 with a plain JSON-RPC error', async () => {
      const res = await rawRequest(`${server.base}/message?sessionId=no-such-session`, {
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      assertCleanErrorBody(res, 404);
    });

    it('POST /message without a session id: 400 with a plain JSON-RPC error', async () => {
      const res = await rawRequest(`${server.base}/message`, {
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      assertCleanErrorBody(res, 400);
    });

    it('POST /message with malformed JSON on a live session: a plain JSON-RPC error, and the session goes on', async () => {
      const endpoint = a.transport._endpoint; // the SDK transport's /message?sessionId=… URL
      assert.ok(endpoint, 'SSE transport knows its message endpoint');
      const res = await rawRequest(endpoint.href, { headers: { 'Content-Type': 'application/json' }, body: '{bad json' });
      assertCleanErrorBody(res);
      assertOk(await a.call('run_command', { command: 'echo still' }), 'still\n');
    });

    it('POST /message with malformed JSON is a client error (400), not 500', async () => {
      const res = await rawRequest(a.transport._endpoint.href, { headers: { 'Content-Type': 'application/json' }, body: '{bad json' });
      assertCleanErrorBody(res, 400);
    });
  });

  describe('audit', () => {
    it('every execution_id is in the audit file with the transport it came over', () => {
      assertAudited(audit, [...a.ids, ...b.ids, ...ended], 'sse');
      assertAudited(audit, h.ids, 'http');
    });
  });
});
