// notifications/cancelled through the official SDK client: aborting a tool call (AbortSignal, or the
// client's own request timeout) makes the client send notifications/cancelled, and Warden stops the
// run it names: the sandbox and everything in it end at once, the audit says `killed` by the client,
// and the server goes on serving. Over stdio, Streamable HTTP and HTTP+SSE. A cancellation naming
// another session's request id stops nothing. A held call whose question (elicitation) is still
// open is denied at once when its client cancels it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { httpClient, readAudit, sleep, sseClient, startHttpServer, stdioClient, tempDir } from './lib/warden.mjs';

/** Processes whose command line contains `marker` (the run's own sleep). */
function running(marker) {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function waitFor(what, fn, ms = 8000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The audit line of the call whose code carries `marker`. */
function auditLineOf(audit, marker) {
  return readAudit(audit).find((l) => l.type === 'call' && JSON.stringify(l.arguments ?? {}).includes(marker));
}

/**
 * Starts `sleep` in the sandbox, aborts the call once the sleep is seen running, and checks that
 * the run ended within seconds, not at its 60 s limit.
 */
async function cancelOneRun(t, audit, how) {
  const marker = `${Math.floor(1000 + Math.random() * 8999)}.${how}`;
  const code = `sleep 45.${marker.replace(/\D/g, '')}; echo never`;
  const controller = new AbortController();
  const started = Date.now();
  const call = t.client.callTool({ name: 'execute_code', arguments: { language: 'bash', code, timeout_ms: 60_000 } },
    undefined, how === 'timeout' ? { timeout: 1500 } : { signal: controller.signal, timeout: 90_000 });
  const sleepArg = `45.${marker.replace(/\D/g, '')}`;
  await waitFor('the sleep to start in the sandbox', () => running(`sleep ${sleepArg}`).length > 0);
  if (how !== 'timeout') controller.abort('the agent changed its mind');
  await assert.rejects(call);
  await waitFor('the sleep to end', () => running(`sleep ${sleepArg}`).length === 0);
  assert.ok(Date.now() - started < 15_000, 'the run ended long before its 60 s limit');
  const line = await waitFor('the audit line', () => auditLineOf(audit, sleepArg));
  assert.equal(line.status, 'killed', JSON.stringify(line));
  assert.match(line.message, /client cancelled the request/);
  assert.ok(line.duration_ms < 15_000, `duration ${line.duration_ms}`);
  // and the session goes on
  const after = await t.call('execute_code', { language: 'bash', code: 'echo still here' });
  assert.equal(after.status, 'ok');
  assert.equal(after.stdout, 'still here\n');
}

describe('notifications/cancelled stops the run (stdio)', () => {
  const dir = tempDir('cancel-stdio');
  const audit = path.join(dir, 'audit.jsonl');
  let t;
  before(async () => {
    t = await stdioClient({ audit });
  });
  after(async () => {
    await t?.client.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an aborted call is killed at once and audited as cancelled by the client', async () => {
    await cancelOneRun(t, audit, 'abort');
  });

  it('a call the client gives up on (its request timeout) is killed too', async () => {
    await cancelOneRun(t, audit, 'timeout');
  });

  it('a cancellation for an id that is not running changes nothing', async () => {
    await t.client.notification({ method: 'notifications/cancelled', params: { requestId: 987654, reason: 'x' } });
    const r = await t.call('run_command', { command: 'echo fine' });
    assert.equal(r.status, 'ok');
  });
});

describe('notifications/cancelled while a held call waits for its elicitation answer', () => {
  const dir = tempDir('cancel-held');
  const audit = path.join(dir, 'audit.jsonl');
  const policy = path.join(dir, 'policy.yaml');
  const config = path.join(dir, 'warden.yaml');
  let t;
  let asked = 0;
  before(async () => {
    fs.writeFileSync(policy, 'approval:\n  timeout_s: 40\n');
    fs.writeFileSync(config, `policy:\n  file: "${policy}"\noperator:\n  listen: "off"\n`);
    // the person never answers
    t = await stdioClient({ audit, config, onElicit: () => { asked++; return new Promise(() => {}); } });
  });
  after(async () => {
    await t?.client.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the approval is denied by the client at once, not at the 40 s timeout', async () => {
    const controller = new AbortController();
    const started = Date.now();
    // a timeout above max_timeout_ms is held for a person (request.long_timeout)
    const call = t.client.callTool({ name: 'run_command', arguments: { command: 'echo held', timeout_ms: 200_000 } },
      undefined, { signal: controller.signal, timeout: 90_000 });
    await waitFor('the question to be asked', () => asked > 0);
    controller.abort('not needed any more');
    await assert.rejects(call);
    const decision = await waitFor('the decision line', () => readAudit(audit).find((l) => l.type === 'decision'));
    assert.equal(decision.decision, 'denied', JSON.stringify(decision));
    assert.equal(decision.channel, 'client', JSON.stringify(decision));
    const line = await waitFor('the call line', () => readAudit(audit).find((l) => l.type === 'call'));
    assert.equal(line.status, 'denied', JSON.stringify(line));
    assert.ok(Date.now() - started < 15_000, 'denied long before the approval timeout');
    const after_ = await t.call('run_command', { command: 'echo still here' });
    assert.equal(after_.status, 'ok');
  });
});

describe('notifications/cancelled stops the run (Streamable HTTP and SSE)', () => {
  const dir = tempDir('cancel-http');
  const audit = path.join(dir, 'audit.jsonl');
  let server;
  let a;
  let b;
  let sse;
  before(async () => {
    server = await startHttpServer({ audit });
    a = await httpClient(server);
    b = await httpClient(server);
    sse = await sseClient(server);
  });
  after(async () => {
    await Promise.allSettled([a, b, sse].filter(Boolean).map((c) => c.client.close()));
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an aborted call over /mcp is killed', async () => {
    await cancelOneRun(a, audit, 'abort');
  });

  it('an aborted call over /sse + /message is killed', async () => {
    await cancelOneRun(sse, audit, 'abort');
  });

  it("a session cannot cancel another session's call with the same request id", async () => {
    const code = 'sleep 2.25; echo finished';
    const call = a.call('execute_code', { language: 'bash', code });
    await waitFor('the sleep to start', () => running('sleep 2.25').length > 0);
    // b's own requests count ids the same way: cancel every id b could guess
    for (let id = 0; id < 40; id++) {
      await b.client.notification({ method: 'notifications/cancelled', params: { requestId: id, reason: 'hostile' } });
    }
    const r = await call;
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.equal(r.stdout, 'finished\n');
  });
});
