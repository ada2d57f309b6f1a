// Shared rate limits of a fleet (issue 18): three real replicas on one real Redis (fleet.redis) draw
// from one bucket per client identity, so 30 concurrent calls of one client spread round-robin over
// the three get exactly 12 through (per_client capacity 12); with Redis stopped every replica fails
// closed, answering rate_limited with a message that says why, at once; with Redis started again
// the same replicas (no restart) let calls through again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { REPO, connectAll, httpClient, requestApproval, serverDirs, sleep, startHttpServer, tempDir } from './lib/warden.mjs';

const TOKEN = 'fleet-limits-client-0123456789abcdef';
const OPERATOR = 'fleet-limits-operator-0123456789abcdef';
const SCRIPT = path.join(REPO, 'tools', 'fleet-services.sh');
const UNREACHABLE = /shared rate limit store \(Redis\) is unreachable.*refused the call for safety/;

function services(cmd, dir) {
  return execFileSync('bash', [SCRIPT, cmd, dir], { encoding: 'utf8', timeout: 120_000 });
}

function count(results) {
  const by = {};
  for (const r of results) by[r.status] = (by[r.status] ?? 0) + 1;
  return by;
}

async function metric(server, name) {
  const res = await fetch(`${server.base}/metrics`, { headers: { Authorization: `Bearer ${OPERATOR}` } });
  assert.equal(res.status, 200);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('fleet: rate limits shared in Redis across three replicas', () => {
  const servicesDir = tempDir('fleet-limits-services');
  let redisUrl;
  const envs = [];
  const replicas = [];
  let clients = [];

  before(async () => {
    services('start', servicesDir);
    redisUrl = fs.readFileSync(path.join(servicesDir, 'env'), 'utf8').match(/^REDIS_URL=(.*)$/m)[1];
    for (const id of ['r1', 'r2', 'r3']) {
      envs.push(serverDirs(`fleet-limits-${id}`, [
        'http:',
        `  tokens: ["${TOKEN}"]`,
        'operator:',
        `  token: "${OPERATOR}"`,
        'rate_limits:',
        '  per_client: {capacity: 12, refill_per_minute: 1}',
        'fleet:',
        `  replica_id: "${id}"`,
        `  redis: "${redisUrl}"`,
        '',
      ].join('\n')));
    }
    replicas.push(...await Promise.all(envs.map((e) => startHttpServer({ audit: e.audit, workspace: e.workspace,
      config: e.config, startMs: 60_000 }))));
    clients = await connectAll(replicas.map((s, i) => httpClient(s, { headers: { Authorization: `Bearer ${TOKEN}` },
      name: `fleet-limits-${i}` })));
    await Promise.all(clients.map((c) => c.listTools()));
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(replicas.map((s) => s.stop()));
    try {
      services('stop', servicesDir);
    } finally {
      fs.rmSync(servicesDir, { recursive: true, force: true });
      for (const e of envs) fs.rmSync(e.dir, { recursive: true, force: true });
    }
  });

  it('30 concurrent calls of one client over three replicas: exactly 12 ok, 18 rate_limited', async () => {
    const burst = [];
    for (let i = 0; i < 30; i++) {
      burst.push(clients[i % 3].call('run_command', { command: `echo call${i}` }));
    }
    const results = await Promise.all(burst);
    assert.deepEqual(count(results), { ok: 12, rate_limited: 18 }, JSON.stringify(results.map((r) => r.message)));
    for (const r of results.filter((x) => x.status === 'rate_limited')) {
      assert.ok(r.retry_after_ms > 1000 && r.retry_after_ms <= 60_000, `retry_after_ms ${r.retry_after_ms}`);
      assert.match(r.message, /over its rate limit/);
    }
    // each replica took part: none kept a bucket of its own of 12
    const perReplica = [0, 1, 2].map((k) => results.filter((r, i) => i % 3 === k && r.status === 'ok').length);
    assert.equal(perReplica.reduce((a, b) => a + b), 12, `ok per replica ${perReplica}`);
    for (const s of replicas) {
      assert.equal(await metric(s, 'warden_rate_limit_store_up'), 1);
    }
  });

  it('Redis stopped: every replica refuses at once, saying the shared store is unreachable; it comes back by itself', async () => {
    const logged = replicas.map((s) => s.log().length);
    services('redis-stop', servicesDir);
    for (let round = 0; round < 2; round++) {
      // the second round comes after more than Lettuce's 5 s between two warnings of its own
      if (round === 1) await sleep(6000);
      for (const [i, c] of clients.entries()) {
        const t0 = Date.now();
        const r = await c.call('run_command', { command: 'echo while-redis-is-down' });
        const ms = Date.now() - t0;
        assert.equal(r.status, 'rate_limited', `replica ${i + 1}: ${r.message}`);
        assert.match(r.message, UNREACHABLE);
        assert.ok(r.retry_after_ms > 0, `retry_after_ms ${r.retry_after_ms}`);
        assert.equal(r.exit_code, null, 'nothing ran');
        assert.ok(ms < 3000, `answered at once, not hung on Redis: ${ms} ms`);
      }
    }
    // asking a person counts against the client's rates too: refused the same way, nobody is asked
    const asked = await requestApproval(clients[1], { action: 'deploy to production', reason: 'while Redis is down' });
    assert.equal(asked.decision ?? null, null, JSON.stringify(asked));
    assert.match(asked.message, UNREACHABLE);
    assert.ok(asked.retry_after_ms > 0);
    for (const [i, s] of replicas.entries()) {
      assert.equal(await metric(s, 'warden_rate_limit_store_up'), 0);
      assert.ok(await metric(s, 'warden_rate_limit_store_refusals_total') >= 2);
      const said = s.log().slice(logged[i]).split('\n').filter((l) => /rate limits: Redis at .* cannot be reached/.test(l));
      assert.equal(said.length, 1, `the outage is logged once:\n${s.log()}`);
      assert.doesNotMatch(s.log().slice(logged[i]), /Cannot reconnect/, 'and only once');
    }

    services('redis-start', servicesDir);
    // the Redis of the test keeps nothing on disk: the buckets start full again once it is back
    for (const [i, c] of clients.entries()) {
      const deadline = Date.now() + 20_000;
      let r;
      for (;;) {
        r = await c.call('run_command', { command: 'echo redis-is-back' });
        if (r.status === 'ok' || Date.now() > deadline) break;
        assert.match(r.message, UNREACHABLE);
        await sleep(250);
      }
      assert.equal(r.status, 'ok', `replica ${i + 1} recovered without a restart: ${r.message}`);
      assert.equal(r.stdout, 'redis-is-back\n');
    }
    for (const s of replicas) {
      assert.equal(await metric(s, 'warden_rate_limit_store_up'), 1);
      assert.match(s.log(), /rate limits: Redis at .* reachable again after \d+ ms/);
    }
  });
});
