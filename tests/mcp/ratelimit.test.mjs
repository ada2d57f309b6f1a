// Rate limits under load from many concurrent clients (the counts of ok and rate_limited match the
// configured buckets, and no call is lost), the concurrency cap with its bounded queue, and the
// audit trail surviving kill -9 of the server in the middle of a burst.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { assertAudited, connectAll, httpClient, readAudit, serverDirs, sleep, startHttpServer, tempDir } from './lib/warden.mjs';

const TOKEN_A = 'rate-client-a-0123456789abcdef';
const TOKEN_B = 'rate-client-b-0123456789abcdef';

const setup = serverDirs;

function count(results) {
  const by = {};
  for (const r of results) by[r.status] = (by[r.status] ?? 0) + 1;
  return by;
}

describe('rate limits per client identity (bearer token), many concurrent clients', () => {
  // 12 calls per client at once, refilled at 1 a minute: a burst of 30 gets exactly 12 through
  const env = setup('rate', [
    'http:',
    `  tokens: ["${TOKEN_A}", "${TOKEN_B}"]`,
    'rate_limits:',
    '  per_client: {capacity: 12, refill_per_minute: 1}',
    '',
  ].join('\n'));
  let server;
  let clientsA;
  let clientsB;

  before(async () => {
    server = await startHttpServer({ audit: env.audit, workspace: env.workspace, config: env.config });
    clientsA = await connectAll([0, 1, 2].map((i) => httpClient(server, { headers: { Authorization: `Bearer ${TOKEN_A}` }, name: `a${i}` })));
    clientsB = await connectAll([0, 1].map((i) => httpClient(server, { headers: { Authorization: `Bearer ${TOKEN_B}` }, name: `b${i}` })));
    // listing once per client first, so the burst below is all tools/call
    await Promise.all([...clientsA, ...clientsB].map((c) => c.listTools()));
  });

  after(async () => {
    await Promise.allSettled([...clientsA, ...clientsB].map((c) => c.close()));
    await server?.stop();
    fs.rmSync(env.dir, { recursive: true, force: true });
  });

  it('30 concurrent calls of client A over 3 sessions: 12 ok, 18 rate_limited with retry_after_ms; B is unaffected', async () => {
    const burst = [];
    for (let i = 0; i < 30; i++) {
      burst.push(clientsA[i % 3].call('run_command', { command: `echo a${i}` }));
    }
    for (let i = 0; i < 10; i++) {
      burst.push(clientsB[i % 2].call('run_command', { command: `echo b${i}` }));
    }
    const results = await Promise.all(burst);
    const a = count(results.slice(0, 30));
    const b = count(results.slice(30));
    assert.deepEqual(a, { ok: 12, rate_limited: 18 });
    assert.deepEqual(b, { ok: 10 });
    for (const r of results.filter((x) => x.status === 'rate_limited')) {
      assert.ok(r.retry_after_ms > 1000 && r.retry_after_ms <= 60_000, `retry_after_ms ${r.retry_after_ms}`);
      assert.match(r.message, /rate limit/);
      assert.equal(r.exit_code, null);
    }
    // every call answered is in the audit, rate limited or not
    const ids = [...clientsA, ...clientsB].flatMap((c) => c.ids);
    assertAudited(env.audit, ids, 'http');
    const lines = readAudit(env.audit).filter((l) => l.tool === 'run_command');
    assert.equal(lines.filter((l) => l.status === 'rate_limited').length, 18);
    assert.equal(new Set(lines.filter((l) => l.identity?.startsWith('token:')).map((l) => l.identity)).size, 2,
      'the identity is a fingerprint of the token, the same for every session of a client');
    assert.ok(!fs.readFileSync(env.audit, 'utf8').includes(TOKEN_A), 'no token in the audit');
  });
});

describe('concurrency cap with a bounded queue', () => {
  const env = setup('queue', [
    'rate_limits:',
    '  max_concurrent: 1',
    '  queue: 1',
    '  queue_timeout_ms: 1500',
    '',
  ].join('\n'));
  let server;
  let clients;

  before(async () => {
    server = await startHttpServer({ audit: env.audit, workspace: env.workspace, config: env.config });
    clients = await connectAll([0, 1, 2].map((i) => httpClient(server, { name: `q${i}` })));
    await Promise.all(clients.map((c) => c.listTools()));
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await server?.stop();
    fs.rmSync(env.dir, { recursive: true, force: true });
  });

  it('one runs, one waits in the queue past its timeout, one finds the queue full: none is dropped', async () => {
    const first = clients[0].call('execute_code', { language: 'bash', code: 'sleep 4; echo done' });
    await sleep(800);
    const t0 = Date.now();
    const second = clients[1].call('run_command', { command: 'echo second' });
    await sleep(200);
    const third = await clients[2].call('run_command', { command: 'echo third' });
    assert.equal(third.status, 'rate_limited');
    assert.match(third.message, /queue of 1 is full/);
    assert.ok(Date.now() - t0 < 1200, 'a full queue answers at once');
    const s = await second;
    assert.equal(s.status, 'rate_limited');
    assert.match(s.message, /waited 1500 ms in the queue/);
    assert.ok(Number.isInteger(s.retry_after_ms));
    const f = await first;
    assert.equal(f.status, 'ok');
    assert.equal(f.stdout, 'done\n');
    const after = await clients[1].call('run_command', { command: 'echo later' });
    assert.equal(after.status, 'ok');
    assertAudited(env.audit, clients.flatMap((c) => c.ids), 'http');
  });
});

describe('audit trail survives kill -9 in the middle of a burst', () => {
  const env = setup('crash', 'rate_limits:\n  per_client: {capacity: 0, refill_per_minute: 0}\n');
  let server;
  let clients;

  before(async () => {
    server = await startHttpServer({ audit: env.audit, workspace: env.workspace, config: env.config });
    clients = await connectAll([0, 1, 2, 3].map((i) => httpClient(server, { name: `crash${i}` })));
    await Promise.all(clients.map((c) => c.listTools()));
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await server?.stop();
    // if the test failed before the next start swept them: a killed server's volumes are still mounted
    for (const at of mountsUnder(env.dir)) execFileSync('umount', ['-l', at]);
    fs.rmSync(env.dir, { recursive: true, force: true });
  });

  it('every call a client got a result for is in the audit file', async () => {
    const answered = [];
    let stop = false;
    const loops = clients.map(async (c, i) => {
      for (let n = 0; !stop; n++) {
        try {
          const sc = await c.call('run_command', { command: n % 2 ? `echo ${i}-${n}` : 'true' }, { timeout: 10_000 });
          answered.push(sc.execution_id);
        } catch {
          return; // the server is gone
        }
      }
    });
    while (answered.length < 40) await sleep(20);
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.allSettled(loops);
    assert.ok(answered.length >= 40);
    const audited = new Set(readAudit(env.audit).map((l) => l.execution_id));
    const missing = answered.filter((id) => !audited.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${answered.length} answered calls are missing from the audit`);
  });

  it("the next start removes the killed server's workspace volumes", async () => {
    assert.ok(mountsUnder(env.workspace).length > 0, 'the killed server left its session volumes mounted');
    server = await startHttpServer({ audit: env.audit, workspace: env.workspace, config: env.config });
    const deadline = Date.now() + 15_000;
    while (mountsUnder(env.workspace).length > 0 && Date.now() < deadline) await sleep(100);
    assert.deepEqual(mountsUnder(env.workspace), []);
  });
});

/** Mount points below a directory, from /proc/mounts. */
function mountsUnder(dir) {
  const real = fs.realpathSync(dir);
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1])
    .filter((at) => at && at.startsWith(`${real}/`));
}
