// Heartbeats of a long synchronous call through the official TypeScript SDK client: with a progress
// token (the SDK sends one when the call has onprogress) the server reports every 1.5 s how long the
// program has run and its last output lines, so a client that resets its timeout on progress
// (resetTimeoutOnProgress) waits out a 70 s call with its default 60 s request timeout; over stdio and
// Streamable HTTP at once.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { checkResult, connectAll, httpClient, startHttpServer, stdioClient, tempDir } from './lib/warden.mjs';

const TOKEN = 'client-token-for-progress-tests-0123';
const COMMAND = "bash -c 'for i in $(seq 1 70); do echo tick $i; sleep 1; done'";

describe('progress of a long synchronous call', () => {
  const dir = tempDir('progress');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  let server;
  let clients;

  before(async () => {
    server = await startHttpServer({ audit: path.join(dir, 'audit-http.jsonl'), workspace, env: { WARDEN_TOKEN: TOKEN } });
    clients = await connectAll([
      stdioClient({ audit: path.join(dir, 'audit-stdio.jsonl'), workspace, name: 'progress-stdio' }),
      httpClient(server, { headers: { Authorization: `Bearer ${TOKEN}` }, name: 'progress-http' }),
    ]);
  });

  after(async () => {
    await Promise.allSettled((clients ?? []).map((c) => c.close()));
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a 70 s run completes under the default 60 s timeout, reset by progress with its latest output', async () => {
    await Promise.all(clients.map(async (c) => {
      const seen = [];
      const started = Date.now();
      // no timeout given: the SDK's default of 60 s, reset by every progress notification
      const res = await c.client.callTool({ name: 'run_command', arguments: { command: COMMAND, timeout_ms: 90_000 } },
        undefined, { onprogress: (p) => seen.push(p), resetTimeoutOnProgress: true });
      const sc = checkResult(res);
      assert.equal(sc.status, 'ok', JSON.stringify(sc));
      assert.ok(Date.now() - started >= 70_000, 'it ran its 70 s');
      assert.match(sc.stdout, /tick 70\n$/);
      assert.ok(seen.length >= 40, `${seen.length} progress notifications in 70 s`);
      for (let i = 1; i < seen.length; i++) {
        assert.ok(seen[i].progress > seen[i - 1].progress, 'progress increases');
      }
      const late = seen[seen.length - 1].message;
      assert.match(late, /^running for \d+ s; last output: tick \d+\|tick \d+$/);
    }));
  });
});
