// GET /healthz and GET /readyz of the real server: no token needed, nothing in them but a status and one line;
// with the fleet on, /readyz says what of PostgreSQL and Redis it lacks (degraded, still ready) (real ones, tools/fleet-services.sh) and a call still works.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { REPO, assertOk, httpClient, serverDirs, sleep, startHttpServer, tempDir } from './lib/warden.mjs';

const token = `tok-${crypto.randomBytes(16).toString('hex')}`;

async function probe(server, p) {
  const res = await fetch(`${server.base}${p}`);
  return { status: res.status, text: await res.text(), cache: res.headers.get('cache-control') };
}

/** Polls until the probe answers `status` (at most `ms`); returns its last answer. */
async function until(server, p, status, ms = 15_000, text = null) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await probe(server, p);
    if (last.status === status && (text === null || last.text === text)) return last;
    await sleep(200);
  }
  return last;
}

describe('probes of a single server', () => {
  const { dir, audit } = serverDirs('health');
  let server;

  before(async () => {
    server = await startHttpServer({ audit, env: { WARDEN_TOKEN: token } });
  });

  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('/healthz is 200 ok without a token', async () => {
    const r = await probe(server, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ok\n');
    assert.equal(r.cache, 'no-store');
  });

  it('/readyz is 200 ready once the server serves, and says nothing else', async () => {
    const r = await until(server, '/readyz', 200);
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ready\n');
  });

  it('the probes open nothing else: /mcp still wants the token', async () => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream' }, body: '{}' });
    await res.body?.cancel();
    assert.equal(res.status, 401);
  });
});

describe('probes of a fleet replica (real Redis and PostgreSQL)', () => {
  const svc = tempDir('health-fleet-services');
  const script = path.join(REPO, 'tools', 'fleet-services.sh');
  let env;
  let dirs;
  let server;

  before(async () => {
    execFileSync('bash', [script, 'start', svc], { stdio: 'ignore' });
    env = Object.fromEntries(fs.readFileSync(path.join(svc, 'env'), 'utf8').split('\n').filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    dirs = serverDirs('health-fleet', `fleet:\n  replica_id: h1\n  secret: health-fleet-secret-0123456789\n  redis: ${env.REDIS_URL}\n`
      + `  postgres:\n    url: ${env.PG_URL}\n    user: ${env.PG_USER}\n  heartbeat_ms: 200\n`);
    server = await startHttpServer({ audit: dirs.audit, config: dirs.config, env: { WARDEN_TOKEN: token } });
  });

  after(async () => {
    await server?.stop();
    try { execFileSync('bash', [script, 'stop', svc], { stdio: 'ignore' }); } catch { /* already gone */ }
    fs.rmSync(svc, { recursive: true, force: true });
    if (dirs) fs.rmSync(dirs.dir, { recursive: true, force: true });
  });

  it('is ready while both answer; while Redis is down still ready but degraded, and calls are refused saying why', async () => {
    assert.equal((await until(server, '/readyz', 200)).status, 200);
    execFileSync('bash', [script, 'redis-stop', svc], { stdio: 'ignore' });
    try {
      // every replica lacks the shared Redis alike: out of the balancer, clients would get its anonymous 503
      // instead of Warden's own refusal, so the replica stays ready and says what it lacks
      const down = await until(server, '/readyz', 200, 15_000, 'ready, degraded: Redis unreachable\n');
      assert.equal(down.status, 200);
      assert.equal(down.text, 'ready, degraded: Redis unreachable\n');
      assert.ok(!down.text.includes(env.REDIS_URL.split(':').pop()), 'no address in the answer');
      assert.equal((await probe(server, '/healthz')).status, 200, 'the process still lives');
      const c = await httpClient(server, { headers: { Authorization: `Bearer ${token}` } });
      try {
        const sc = await c.call('run_command', { command: 'true' });
        assert.equal(sc.status, 'rate_limited', JSON.stringify(sc));
        assert.match(sc.message, /shared rate limit store \(Redis\) is unreachable/);
      } finally {
        await c.close();
      }
    } finally {
      execFileSync('bash', [script, 'redis-start', svc], { stdio: 'ignore' });
    }
    const back = await until(server, '/readyz', 200, 15_000, 'ready\n');
    assert.equal(back.status, 200);
    assert.equal(back.text, 'ready\n');
    const c = await httpClient(server, { headers: { Authorization: `Bearer ${token}` } });
    try {
      // the rate limits' own Redis connection comes back by itself too, at most a second or so after the probe's
      let sc;
      for (let i = 0; i < 20; i++) {
        sc = await c.call('run_command', { command: 'true' });
        if (sc.status !== 'rate_limited') break;
        await sleep(500);
      }
      assertOk(sc, '');
    } finally {
      await c.close();
    }
  });
});
