// MCP revision 2026-07-28 through the official TypeScript SDK v2 client (@modelcontextprotocol/client),
// over stdio and Streamable HTTP, beside the v1 client's 2025-11-25 on the same server:
//   - the client's `auto` negotiation finds 2026-07-28 (server/discover) and says so;
//   - tools/list is the same list as the 2025-11-25 era's (names, schemas, annotations, descriptions);
//   - every tool answers, with the contract's results (checkResult), audited like any call;
//   - a held (L4) call asks through input_required and runs once approved, or is denied;
//   - a request state that was altered, or a retry with other arguments, is refused with a clear error;
//   - 200 concurrent calls over stdio are all answered; an aborted call's run is killed.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import {
  assertCleanErrorBody, assertOk, checkResult, httpClient, jarPath, rawRequest, readAudit, sleep, startHttpServer, tempDir,
  track,
} from './lib/warden.mjs';

const MODERN = '2026-07-28';
const TIMEOUT_S = 20;
// run_command with a timeout above max_timeout_ms is held by request.long_timeout (approve)
const LONG = 200_000;
const TOOLS = ['create_workspace', 'delete_workspace', 'execute_code', 'get_execution', 'list_executions', 'list_files',
  'read_file', 'request_approval', 'run_command', 'send_input', 'stop_execution', 'write_file'];

function writeConfig(dir, extra = []) {
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, `approval:\n  timeout_s: ${TIMEOUT_S}\n`);
  const config = path.join(dir, 'warden.yaml');
  // a state directory of its own: the durable workspaces these tests make never count against
  // the machine's other servers (the one local client's quota)
  fs.writeFileSync(config, ['policy:', `  file: "${policy}"`, 'server:', `  state_dir: "${path.join(dir, 'state')}"`,
    ...extra].join('\n'));
  return config;
}

/**
 * A v2 client that negotiates the era itself (`auto`: server/discover first), declares form
 * elicitation, and answers each elicitation with `answer(params)`; tracked like the v1 clients.
 */
function modernClient(answer) {
  const client = new Client({ name: 'warden-modern-tests', version: '2.0.0' }, {
    capabilities: { elicitation: { form: {} } },
    versionNegotiation: { mode: 'auto' },
  });
  client.setRequestHandler('elicitation/create', async (req) => answer.fn(req.params));
  // track() speaks the v1 callTool(params, schema, options); v2 takes (params, options)
  const adapter = {
    callTool: (params, _schema, options) => client.callTool(params, options),
    listTools: () => client.listTools(),
    close: () => client.close(),
  };
  const tracked = track(adapter);
  tracked.v2 = client;
  return tracked;
}

async function stdioModern(answer, { audit, workspace, config }) {
  const jar = await jarPath();
  const args = ['-jar', jar, '--audit', audit, '--workspace', workspace, '--config', config];
  const transport = new StdioClientTransport({ command: 'java', args, stderr: 'pipe' });
  const log = [];
  transport.stderr?.on('data', (d) => log.push(d.toString()));
  const c = modernClient(answer);
  await c.v2.connect(transport);
  c.serverLog = () => log.join('');
  return c;
}

async function httpModern(answer, server) {
  const c = modernClient(answer);
  await c.v2.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  return c;
}

/**
 * Starts a sleep in the sandbox through `c`, aborts the call once the sleep runs, and checks that the
 * run ended within `withinMs` and that its audit line says the client cancelled it.
 */
async function abortOneRun(c, env, withinMs) {
  const marker = `${Math.floor(10 + Math.random() * 89)}`;
  const controller = new AbortController();
  const call = c.v2.callTool({ name: 'execute_code',
    arguments: { language: 'bash', code: `sleep 47.${marker}; echo never`, timeout_ms: 60_000 } },
  { signal: controller.signal, timeout: 90_000 });
  const running = () => {
    try { return execFileSync('pgrep', ['-f', `sleep 47.${marker}`], { encoding: 'utf8' }).trim() !== ''; } catch { return false; }
  };
  for (let i = 0; i < 100 && !running(); i++) await sleep(100);
  assert.ok(running(), 'the sleep started');
  const started = Date.now();
  controller.abort('changed my mind');
  await assert.rejects(call);
  for (let i = 0; i < withinMs / 100 && running(); i++) await sleep(100);
  assert.ok(!running(), 'the sleep ended');
  assert.ok(Date.now() - started < withinMs, `ended after ${Date.now() - started} ms`);
  let line;
  for (let i = 0; i < 50 && !line; i++) {
    line = readAudit(env.audit).find((l) => l.type === 'call' && JSON.stringify(l.arguments ?? {}).includes(`47.${marker}`));
    if (!line) await sleep(100);
  }
  assert.equal(line?.status, 'killed', JSON.stringify(line));
  assert.match(line.message, /client cancelled the request/);
}

/** The tests every transport gets; `get()` is the modern client, `env` its audit file. */
function defineModernTests(get, env, transport) {
  it('negotiates 2026-07-28 (the modern era) with server/discover', async () => {
    const { v2 } = get();
    assert.equal(v2.getNegotiatedProtocolVersion(), MODERN);
    assert.equal(v2.getProtocolEra(), 'modern');
    assert.equal(v2.getServerVersion()?.name, 'warden');
    assert.ok(v2.getServerCapabilities()?.tools, 'tools capability');
    assert.ok(v2.getServerCapabilities()?.resources, 'resources capability');
    assert.match(v2.getInstructions() ?? '', /execute_code/);
  });

  it('tools/list lists every tool, with schemas, annotations and descriptions', async () => {
    const { tools } = await get().listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
    for (const t of tools) {
      assert.ok(t.description && t.description.length > 40, `${t.name} description`);
      assert.equal(t.inputSchema.additionalProperties, false, `${t.name} refuses unknown arguments`);
      assert.equal(t.outputSchema?.type, 'object', `${t.name} outputSchema`);
      assert.ok(t.annotations, `${t.name} annotations`);
      assert.equal(t.inputSchema.properties.workspace?.type, 'string', `${t.name} takes workspace`);
    }
  });

  it('run_command, execute_code (3 languages), bad input: contract results', async () => {
    assertOk(await get().call('run_command', { command: 'echo hi' }), 'hi\n', { tier: 'L1', executor: 'inline' });
    assertOk(await get().call('run_command', { command: 'python3 -c "print(2)"' }), '2\n', { tier: 'L2' });
    for (const [language, code] of [['python', 'print(1)'], ['javascript', 'console.log(1)'], ['bash', 'echo 1']]) {
      assertOk(await get().call('execute_code', { language, code }), '1\n', { tier: 'L2', executor: 'sandbox' });
    }
    const bad = await get().call('run_command', { command: 'echo x', bogus: 1 });
    assert.equal(bad.status, 'invalid');
    assert.match(bad.message, /bogus/);
    const failed = await get().call('execute_code', { language: 'bash', code: 'exit 3' });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.exit_code, 3);
  });

  it('write_file, read_file, list_files, and the artifact read as a resource', async () => {
    const w = await get().v2.callTool({ name: 'write_file', arguments: { path: 'dir/m.txt', content: 'modern\n' } });
    assert.equal(w.structuredContent.status, 'ok', JSON.stringify(w.structuredContent));
    assert.equal(w.structuredContent.size, 7);
    const r = await get().v2.callTool({ name: 'read_file', arguments: { path: 'dir/m.txt' } });
    assert.equal(r.structuredContent.content, 'modern\n');
    assert.equal(r.isError, false);
    const l = await get().v2.callTool({ name: 'list_files', arguments: { recursive: true } });
    assert.ok(l.structuredContent.entries.some((e) => e.path === 'dir/m.txt'), JSON.stringify(l.structuredContent));
    // files persist between calls of this client (its one session) and a run sees them
    assertOk(await get().call('run_command', { command: 'cat dir/m.txt' }), 'modern\n');
    const made = await get().call('execute_code', { language: 'bash', code: 'echo art > art.txt' });
    assert.equal(made.artifacts.length, 1);
    const res = await get().v2.readResource({ uri: made.artifacts[0].uri });
    assert.equal(res.contents[0].text, 'art\n');
    assert.equal(res.contents[0]._meta['warden/size'], 4);
    const bad = await get().v2.callTool({ name: 'read_file', arguments: { path: '../etc/passwd' } });
    assert.equal(bad.structuredContent.status, 'invalid');
    assert.equal(bad.isError, true);
  });

  it('create_workspace, a run in it, delete_workspace', async () => {
    const c = await get().v2.callTool({ name: 'create_workspace', arguments: { name: `modern-${transport}` } });
    const id = c.structuredContent.workspace_id;
    assert.match(id, /^ws-[0-9a-f]{24}$/);
    assertOk(await get().call('run_command', { command: 'touch here.txt', workspace: id }), '');
    const l = await get().v2.callTool({ name: 'list_files', arguments: { workspace: id } });
    assert.deepEqual(l.structuredContent.entries.map((e) => e.path), ['here.txt']);
    const d = await get().v2.callTool({ name: 'delete_workspace', arguments: { workspace_id: id } });
    assert.equal(d.structuredContent.status, 'ok');
    const gone = await get().v2.callTool({ name: 'list_files', arguments: { workspace: id } });
    assert.equal(gone.structuredContent.status, 'invalid');
  });

  it('background run: get_execution, send_input, list_executions, stop_execution', async () => {
    const bg = await get().call('run_command', { command: 'cat', background: true });
    assert.equal(bg.status, 'running');
    const id = bg.execution_id;
    const sent = await get().v2.callTool({ name: 'send_input', arguments: { execution_id: id, data: 'ping\n' } });
    assert.equal(sent.structuredContent.status, 'ok', JSON.stringify(sent.structuredContent));
    let out = '';
    for (let i = 0; i < 20 && !out.includes('ping'); i++) {
      const g = await get().call('get_execution', { execution_id: id, wait_ms: 1000 });
      out += g.stdout;
    }
    assert.match(out, /ping/);
    const list = await get().v2.callTool({ name: 'list_executions', arguments: {} });
    assert.ok(list.structuredContent.executions.some((e) => e.execution_id === id && e.status === 'running'));
    const stop = await get().call('stop_execution', { execution_id: id });
    assert.equal(stop.status, 'killed');
  });

  it('a held call asks through input_required; approve_once runs it', async () => {
    const answer = get().answer;
    const asked = [];
    answer.fn = (params) => {
      asked.push(params);
      return { action: 'accept', content: { decision: 'approve_once' } };
    };
    const sc = await get().call('run_command', { command: 'echo approved-modern', timeout_ms: LONG });
    assert.equal(sc.status, 'ok', JSON.stringify(sc));
    assert.equal(sc.stdout, 'approved-modern\n');
    assert.equal(sc.limits.timeout_ms, LONG, 'the approval grants the time asked for');
    assert.equal(sc.approval.decision, 'approved');
    assert.equal(sc.approval.channel, 'elicitation');
    assert.equal(asked.length, 1);
    assert.match(asked[0].message, /echo approved-modern/);
    assert.match(asked[0].message, /request\.long_timeout/);
    assert.deepEqual(asked[0].requestedSchema.properties.decision.enum, ['approve_once', 'approve_session', 'deny']);
  });

  it('deny through input_required: denied, nothing ran; a declined form denies too', async () => {
    const answer = get().answer;
    answer.fn = () => ({ action: 'accept', content: { decision: 'deny' } });
    const sc = await get().call('run_command', { command: 'touch denied-modern', timeout_ms: LONG });
    assert.equal(sc.status, 'denied');
    assert.equal(sc.executor, 'none');
    assert.equal(sc.approval.decision, 'denied');
    answer.fn = () => ({ action: 'decline' });
    const declined = await get().call('run_command', { command: 'touch declined-modern', timeout_ms: LONG });
    assert.equal(declined.status, 'denied');
    const ls = await get().call('run_command', { command: 'ls' });
    assert.doesNotMatch(ls.stdout, /denied-modern|declined-modern/);
  });

  it('request_approval of an action asks through input_required', async () => {
    get().answer.fn = () => ({ action: 'accept', content: { decision: 'approve_once' } });
    const res = await get().v2.callTool({ name: 'request_approval',
      arguments: { action: 'deploy the modern build', reason: 'the tests passed' } });
    assert.equal(res.structuredContent.decision, 'approved', JSON.stringify(res.structuredContent));
    assert.equal(res.structuredContent.channel, 'elicitation');
    assert.equal(res.isError, false);
  });

  it('a call with a progress token gets progress notifications while it runs', async () => {
    const seen = [];
    const res = await get().v2.callTool({ name: 'execute_code', arguments: { language: 'bash',
      code: 'for i in 1 2 3 4; do echo tick $i; sleep 1; done' } }, { onprogress: (p) => seen.push(p), timeout: 60_000 });
    assert.equal(checkResult(res).status, 'ok');
    assert.ok(seen.length >= 1, 'at least one progress notification');
    assert.match(seen.map((p) => p.message ?? '').join('|'), /running for \d+ s/);
  });

  it('every call is in the audit, with this transport', async () => {
    const ids = get().ids;
    const byId = new Map(readAudit(env.audit).map((l) => [l.execution_id, l]));
    const missing = ids.filter((id) => !byId.has(id));
    assert.deepEqual(missing, []);
    for (const id of ids) assert.equal(byId.get(id).transport, transport);
  });
}

describe('2026-07-28 over stdio (v2 client)', () => {
  const dir = tempDir('modern-stdio');
  const env = { audit: path.join(dir, 'audit.jsonl'), workspace: path.join(dir, 'ws'), config: writeConfig(dir) };
  fs.mkdirSync(env.workspace);
  const answer = { fn: () => ({ action: 'decline' }) };
  let c;

  before(async () => {
    c = await stdioModern(answer, env);
    c.answer = answer;
  });
  after(async () => {
    await c?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  defineModernTests(() => c, env, 'stdio');

  it('200 concurrent calls: every one is answered (the modern stdio transport loses none)', async () => {
    const calls = Array.from({ length: 200 }, (_, i) => c.v2.callTool({ name: 'run_command', arguments: { command: `echo n${i}` } },
      { timeout: 120_000 }));
    const results = await Promise.all(calls);
    let ok = 0;
    for (const [i, r] of results.entries()) {
      const sc = checkResult(r);
      assert.ok(['ok', 'rate_limited'].includes(sc.status), `${i}: ${sc.status} ${sc.message ?? ''}`);
      if (sc.status === 'ok') {
        assert.equal(sc.stdout, `n${i}\n`);
        ok++;
      }
    }
    assert.ok(ok > 0, 'some ran');
    assert.doesNotMatch(c.serverLog(), /Failed to (enqueue|write outbound) message/);
  });

  it('an aborted call (notifications/cancelled) kills its run; the audit says the client cancelled it', async () => {
    await abortOneRun(c, env, 10_000);
  });
});

describe('2026-07-28 over Streamable HTTP (v2 client) beside 2025-11-25 (v1 client) on one /mcp', () => {
  const dir = tempDir('modern-http');
  const env = { audit: path.join(dir, 'audit.jsonl'), workspace: path.join(dir, 'ws'), config: writeConfig(dir) };
  fs.mkdirSync(env.workspace);
  const answer = { fn: () => ({ action: 'decline' }) };
  let server;
  let c;
  let legacy;

  before(async () => {
    server = await startHttpServer(env);
    c = await httpModern(answer, server);
    c.answer = answer;
    legacy = await httpClient(server);
  });
  after(async () => {
    await c?.close();
    await legacy?.close();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  defineModernTests(() => c, env, 'http');

  it('the v1 client on the same endpoint negotiates 2025-11-25 and sees the very same tools', async () => {
    assert.equal(legacy.client.transport?.protocolVersion ?? '2025-11-25', '2025-11-25');
    const v1 = (await legacy.listTools()).tools;
    const v2 = (await c.listTools()).tools;
    const shape = (t) => ({ name: t.name, title: t.title, description: t.description, inputSchema: t.inputSchema,
      outputSchema: t.outputSchema, annotations: t.annotations });
    assert.deepEqual(v2.map(shape), v1.map(shape));
    assertOk(await legacy.call('run_command', { command: 'echo legacy' }), 'legacy\n');
  });

  it('an aborted call closes its stream; the run is killed within the keep-alive, audited as cancelled', async () => {
    await abortOneRun(c, env, 12_000);
  });

  it('a workspace made in one era is used in the other (same client identity)', async () => {
    const made = await c.v2.callTool({ name: 'create_workspace', arguments: {} });
    const id = made.structuredContent.workspace_id;
    assertOk(await legacy.call('run_command', { command: 'echo both > both.txt', workspace: id }), '');
    const r = await c.v2.callTool({ name: 'read_file', arguments: { path: 'both.txt', workspace: id } });
    assert.equal(r.structuredContent.content, 'both\n');
    const d = await legacy.client.callTool({ name: 'delete_workspace', arguments: { workspace_id: id } });
    assert.equal(d.structuredContent.status, 'ok');
  });

  /** One raw 2026-07-28 request to /mcp; returns the JSON-RPC message (the last one of an SSE stream). */
  async function raw(method, params, { headers = {} } = {}) {
    const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
    const body = { jsonrpc: '2.0', id: Math.floor(Math.random() * 1e9), method, params: { ...params, _meta: meta } };
    const res = await fetch(server.url, { method: 'POST', headers: {
      'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN,
      'Mcp-Method': method, ...(params.name ? { 'Mcp-Name': params.name } : {}), ...headers,
    }, body: JSON.stringify(body) });
    const text = await res.text();
    if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      const datas = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
      return { status: res.status, msg: datas.filter((d) => d.id === body.id).pop() };
    }
    return { status: res.status, msg: JSON.parse(text) };
  }

  it('a tampered requestState is refused with a clear error; so is a retry with other arguments', async () => {
    const args = { command: 'echo tamper-test', timeout_ms: LONG };
    const first = await raw('tools/call', { name: 'run_command', arguments: args });
    assert.equal(first.msg.result?.resultType, 'input_required', JSON.stringify(first.msg));
    const state = first.msg.result.requestState;
    assert.equal(typeof state, 'string');
    const form = first.msg.result.inputRequests.warden_approval;
    assert.equal(form.method, 'elicitation/create');
    assert.match(form.params.message, /tamper-test/);
    const approve = { warden_approval: { action: 'accept', content: { decision: 'approve_once' } } };
    // one character changed anywhere in the state: refused, and nothing runs
    const i = Math.floor(state.length / 2);
    const tampered = state.slice(0, i) + (state[i] === 'A' ? 'B' : 'A') + state.slice(i + 1);
    const bad = await raw('tools/call', { name: 'run_command', arguments: args, inputResponses: approve, requestState: tampered });
    assert.equal(bad.msg.error?.code, -32602, JSON.stringify(bad.msg));
    assert.match(bad.msg.error.message, /requestState/);
    // the state of one call, with another command: refused, the approval covers only its own call
    const swapped = await raw('tools/call', { name: 'run_command', arguments: { command: 'echo swapped', timeout_ms: LONG },
      inputResponses: approve, requestState: state });
    assert.equal(swapped.msg.error?.code, -32602, JSON.stringify(swapped.msg));
    assert.match(swapped.msg.error.message, /arguments differ/);
    // a retry without the answer: the same question again (nothing decided, nothing ran)
    const missing = await raw('tools/call', { name: 'run_command', arguments: args, requestState: state });
    assert.equal(missing.msg.result?.resultType, 'input_required', JSON.stringify(missing.msg));
    assert.equal(missing.msg.result.inputRequests.warden_approval.params.message, form.params.message);
    // the genuine retry runs it
    const good = await raw('tools/call', { name: 'run_command', arguments: args, inputResponses: approve, requestState: state });
    assert.equal(good.msg.result?.structuredContent?.status, 'ok', JSON.stringify(good.msg));
    assert.equal(good.msg.result.structuredContent.stdout, 'tamper-test\n');
    // and the same state again is no longer waiting for anything
    const again = await raw('tools/call', { name: 'run_command', arguments: args, inputResponses: approve, requestState: state });
    assert.ok(again.msg.result?.structuredContent?.status === 'ok' || again.msg.error?.code === -32602, JSON.stringify(again.msg));
    assert.doesNotMatch(JSON.stringify(bad.msg) + JSON.stringify(swapped.msg), /\bat (io|java|dev)\./, 'no stack trace');
  });

  it('an unsupported protocol version is answered with the versions this server speaks', async () => {
    const res = await fetch(server.url, { method: 'POST', headers: {
      'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2099-01-01',
      'Mcp-Method': 'tools/list',
    }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: {
      'io.modelcontextprotocol/protocolVersion': '2099-01-01', 'io.modelcontextprotocol/clientCapabilities': {} } } }) });
    const msg = JSON.parse(await res.text());
    assert.ok(msg.error, JSON.stringify(msg));
    assert.deepEqual(msg.error.data?.supported, [MODERN]);
  });
});

describe('2026-07-28 over HTTP keeps the guards: tokens, Origin/Host, body size, one identity per token', () => {
  const dir = tempDir('modern-guard');
  const tokenA = 'modern-token-a-0123456789abcdef';
  const tokenB = 'modern-token-b-0123456789abcdef';
  const env = { audit: path.join(dir, 'audit.jsonl'), workspace: path.join(dir, 'ws'),
    config: writeConfig(dir, ['http:', `  tokens: ["${tokenA}", "${tokenB}"]`]) };
  fs.mkdirSync(env.workspace);
  let server;

  before(async () => {
    server = await startHttpServer(env);
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } };
  function post(method, params, headers = {}, body) {
    return rawRequest(server.url, { headers: {
      'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN,
      'Mcp-Method': method, ...(params?.name ? { 'Mcp-Name': params.name } : {}), Host: `127.0.0.1:${server.port}`, ...headers,
    }, body: body ?? JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta } }) });
  }

  it('no token or a wrong one: 401, a clean JSON-RPC error', async () => {
    const none = await post('server/discover', {});
    assertCleanErrorBody(none, 401);
    const wrong = await post('server/discover', {}, { Authorization: 'Bearer not-a-token-of-this-server' });
    assertCleanErrorBody(wrong, 401);
    const good = await post('server/discover', {}, { Authorization: `Bearer ${tokenA}` });
    assert.equal(good.status, 200, good.text);
    assert.deepEqual(JSON.parse(good.text).result.supportedVersions, [MODERN]);
  });

  it('a foreign Origin gets 403 and a foreign Host 421, as in the 2025-11-25 era', async () => {
    const auth = { Authorization: `Bearer ${tokenA}` };
    assertCleanErrorBody(await post('tools/list', {}, { ...auth, Origin: 'http://evil.example' }), 403);
    assertCleanErrorBody(await post('tools/list', {}, { ...auth, Host: 'evil.example' }), 421);
  });

  it('a body over the limit gets 413; malformed bodies get clean errors', async () => {
    const auth = { Authorization: `Bearer ${tokenA}` };
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'run_command',
      arguments: { command: 'echo', stdin: 'x'.repeat(5 * 1024 * 1024) }, _meta: meta } });
    // curl, which reads the early answer while its upload is cut off (node's client sees EPIPE instead)
    const file = path.join(dir, 'big.json');
    fs.writeFileSync(file, big);
    const out = execFileSync('curl', ['-s', '-o', '-', '-w', '\\n%{http_code}', '-X', 'POST', server.url,
      '-H', `Authorization: Bearer ${tokenA}`, '-H', 'Content-Type: application/json',
      '-H', 'Accept: application/json, text/event-stream', '-H', `MCP-Protocol-Version: ${MODERN}`,
      '-H', 'Mcp-Method: tools/call', '-H', 'Mcp-Name: run_command', '--data-binary', `@${file}`], { encoding: 'utf8' });
    const [text, code] = [out.slice(0, out.lastIndexOf('\n')), out.slice(out.lastIndexOf('\n') + 1)];
    assertCleanErrorBody({ status: Number(code), headers: { 'content-type': 'application/json' }, text }, 413);
    assert.match(text, /too large/);
    const mismatch = await post('tools/list', {}, { ...auth, 'Mcp-Method': 'tools/call' });
    assertCleanErrorBody(mismatch, 400);
    assert.match(JSON.parse(mismatch.text).error.message, /Mcp-Method/);
  });

  it('each token is its own client: files of one are not the other\'s, a held call\'s state is not the other\'s', async () => {
    const a = modernClient({ fn: () => ({ action: 'decline' }) });
    await a.v2.connect(new StreamableHTTPClientTransport(new URL(server.url),
      { requestInit: { headers: { Authorization: `Bearer ${tokenA}` } } }));
    const b = modernClient({ fn: () => ({ action: 'decline' }) });
    await b.v2.connect(new StreamableHTTPClientTransport(new URL(server.url),
      { requestInit: { headers: { Authorization: `Bearer ${tokenB}` } } }));
    try {
      assertOk(await a.call('run_command', { command: 'echo only-a > a-file.txt' }), '');
      const seen = await b.call('run_command', { command: 'cat a-file.txt' });
      assert.equal(seen.status, 'failed', `token B read token A's file: ${seen.stdout}`);
      assertOk(await a.call('run_command', { command: 'cat a-file.txt' }), 'only-a\n');
      // a state sealed for A is refused to B (the SDK's codec binds it to the identity)
      const args = { command: 'echo cross-identity', timeout_ms: LONG };
      const first = JSON.parse((await post('tools/call', { name: 'run_command', arguments: args },
        { Authorization: `Bearer ${tokenA}` })).text.split('\n').filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5)).pop() ?? '{}');
      const state = first.result?.requestState;
      assert.equal(typeof state, 'string', JSON.stringify(first));
      const stolen = await post('tools/call', { name: 'run_command', arguments: args, requestState: state,
        inputResponses: { warden_approval: { action: 'accept', content: { decision: 'approve_once' } } } },
      { Authorization: `Bearer ${tokenB}` });
      const msg = stolen.text.includes('data:')
        ? JSON.parse(stolen.text.split('\n').filter((l) => l.startsWith('data:')).pop().slice(5)) : JSON.parse(stolen.text);
      assert.equal(msg.error?.code, -32602, stolen.text);
      const ls = await a.call('run_command', { command: 'ls' });
      assert.doesNotMatch(ls.stdout, /cross-identity/);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('stdio: the first request picks the era for the connection (raw JSON-RPC lines)', () => {
  const dir = tempDir('modern-raw');
  fs.mkdirSync(path.join(dir, 'ws'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Starts Warden on stdio, writes `lines` one by one as answers come, returns every answer by id. */
  async function session(lines) {
    const jar = await jarPath();
    const child = spawn('java', ['-jar', jar, '--workspace', path.join(dir, 'ws'), '--audit', path.join(dir, 'audit.jsonl')],
      { stdio: ['pipe', 'pipe', 'ignore'] });
    const exited = new Promise((r) => child.on('exit', r));
    const answers = new Map();
    let buf = '';
    let waiting = null;
    child.stdout.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.id !== undefined) answers.set(msg.id, msg);
        waiting?.();
      }
    });
    try {
      for (const line of lines) {
        child.stdin.write(`${JSON.stringify(line)}\n`);
        if (line.id === undefined) continue;
        const deadline = Date.now() + 60_000;
        while (!answers.has(line.id) && Date.now() < deadline) await new Promise((r) => { waiting = r; setTimeout(r, 200); });
        assert.ok(answers.has(line.id), `no answer to ${line.method}`);
      }
    } finally {
      // end of input ends a stdio server, which then removes its workspace
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGTERM'), 15_000);
      await exited;
      clearTimeout(t);
    }
    return answers;
  }

  const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

  it('server/discover first: 2026-07-28; a later initialize is refused with the versions spoken', async () => {
    const a = await session([
      { jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'run_command', arguments: { command: 'echo raw' }, _meta: meta } },
      { jsonrpc: '2.0', id: 3, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {},
        clientInfo: { name: 'raw', version: '1' } } },
    ]);
    assert.deepEqual(a.get(1).result.supportedVersions, [MODERN]);
    assert.equal(a.get(2).result.structuredContent.stdout, 'raw\n');
    assert.equal(a.get(2).result.resultType, 'complete');
    assert.equal(a.get(3).error?.code, -32022, JSON.stringify(a.get(3)));
    assert.deepEqual(a.get(3).error.data.supported, [MODERN]);
  });

  it('initialize first: 2025-11-25, as before', async () => {
    const a = await session([
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {},
        clientInfo: { name: 'raw', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'run_command', arguments: { command: 'echo old' } } },
    ]);
    assert.equal(a.get(1).result.protocolVersion, '2025-11-25');
    assert.equal(a.get(2).result.structuredContent.stdout, 'old\n');
    assert.equal(a.get(2).result.resultType, undefined);
  });
});
