// Shared helpers for the MCP protocol tests: start Warden (stdio or HTTP), connect the official
// TypeScript SDK client to it, and check call results against the contract.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..', '..');

export const STATUSES = ['ok', 'failed', 'timeout', 'killed', 'blocked', 'needs_approval', 'denied', 'rate_limited',
  'invalid', 'running', 'lost'];

/** A fresh scratch directory (the caller removes it). */
export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `warden-mcp-${prefix}-`));
  // A workspace root below it must be reachable by the sandbox's own uids (mkdtemp makes 0700).
  fs.chmodSync(dir, 0o711);
  return dir;
}

/**
 * A scratch directory for one server: { dir, audit, workspace, config } with `yaml` written to the
 * config file (the caller removes dir).
 */
export function serverDirs(name, yaml = '') {
  const dir = tempDir(name);
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, yaml);
  return { dir, audit, workspace, config };
}

let jarCopy = null;

/**
 * The jar under test. WARDEN_JAR wins (run.sh sets it to a private copy); otherwise
 * target/warden.jar is copied once per test process, so a rebuild of target/ while the
 * tests run never pulls classes out from under a running server. A briefly missing jar
 * (someone is rebuilding) is waited for.
 */
export function jarPath() {
  if (process.env.WARDEN_JAR) {
    return Promise.resolve(process.env.WARDEN_JAR);
  }
  jarCopy ??= (async () => {
    const src = path.join(REPO, 'target', 'warden.jar');
    const dir = tempDir('jar');
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const dst = path.join(dir, 'warden.jar');
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        fs.copyFileSync(src, dst);
        return dst;
      } catch (e) {
        if (Date.now() > deadline) {
          throw new Error(`${src} not found: build it first (mvn -q -DskipTests package): ${e.message}`);
        }
        await sleep(1000);
      }
    }
  })();
  return jarCopy;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A loopback port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The lines of the audit file, parsed. */
export function readAudit(file) {
  if (!fs.existsSync(file)) {
    return [];
  }
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

/** The session workspaces (s-*) present under a --workspace root. */
export function workspaceDirs(root) {
  return fs.readdirSync(root).filter((n) => n.startsWith('s-')).sort();
}

// ---------------------------------------------------------------------------------------------
// stdio

/**
 * Spawns `java -jar warden.jar --audit A --workspace W` through the SDK's own stdio transport and
 * returns a connected client. close() ends the process.
 */
export async function stdioClient({ audit, workspace, config, env = {}, name = 'warden-mcp-tests', onElicit, jvm = [], args: more = [] } = {}) {
  const jar = await jarPath();
  const args = [...jvm, '-jar', jar, ...more];
  if (audit) args.push('--audit', audit);
  if (workspace) args.push('--workspace', workspace);
  if (config) args.push('--config', config);
  const transport = new StdioClientTransport({ command: 'java', args, env, stderr: 'pipe' });
  const log = [];
  transport.stderr?.on('data', (d) => log.push(d.toString()));
  const client = newClient(name, onElicit);
  await client.connect(transport);
  const tracked = track(client);
  tracked.serverLog = () => log.join('');
  tracked.transport = transport;
  // the server's own process: the soak samples its memory and kills it
  tracked.pid = transport.pid;
  return tracked;
}

// ---------------------------------------------------------------------------------------------
// HTTP

// HTTP servers still running when this test process exits (a failed before(), a timeout) are
// killed here, so none outlives the run.
const liveServers = new Set();
process.on('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});

/**
 * Connects several clients; if any fails, closes the others and throws, so no server process
 * of a half-finished before() is left behind.
 */
export async function connectAll(promises) {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(settled.filter((r) => r.status === 'fulfilled').map((r) => r.value.close()));
    throw failed.reason;
  }
  return settled.map((r) => r.value);
}

/**
 * Starts `java -jar warden.jar --http 127.0.0.1:PORT` on a free port and waits until it answers
 * (startMs each try). Returns { port, url (…/mcp), base, audit, workspace, stop(), log() }.
 */
export async function startHttpServer({ env = {}, audit, workspace, config, startMs = 30_000, jvm = [], args: more = [] } = {}) {
  const jar = await jarPath();
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = [...jvm, '-jar', jar, '--http', `127.0.0.1:${port}`, ...more];
    if (audit) args.push('--audit', audit);
    if (workspace) args.push('--workspace', workspace);
    if (config) args.push('--config', config);
    const child = spawn('java', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    liveServers.add(child);
    child.on('exit', () => liveServers.delete(child));
    const log = [];
    child.stderr.on('data', (d) => log.push(d.toString()));
    let exited = null;
    const exitedP = new Promise((r) => child.on('exit', (code, sig) => { exited = { code, sig }; r(); }));
    const base = `http://127.0.0.1:${port}`;
    const server = {
      port, base, url: `${base}/mcp`, sseUrl: `${base}/sse`, audit, workspace, child,
      log: () => log.join(''),
      // graceMs: how long a clean stop may take before SIGKILL (a loaded machine needs longer)
      async stop(graceMs = 5000) {
        if (exited) return;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exitedP;
        clearTimeout(t);
      },
    };
    const deadline = Date.now() + startMs;
    while (!exited && Date.now() < deadline) {
      try {
        // Any HTTP answer at all means Jetty is up (a GET without a session is refused, which is fine).
        const res = await fetch(server.url, { method: 'GET', headers: { Accept: 'text/event-stream' } });
        await res.body?.cancel();
        return server;
      } catch (e) {
        lastError = e;
        await sleep(150);
      }
    }
    await server.stop();
    lastError = new Error(`warden did not start on port ${port} (exit ${JSON.stringify(exited)}):\n${server.log()}`);
  }
  throw lastError;
}

/** An SDK client over Streamable HTTP (/mcp). */
/** sessionId: reconnect to that session (the SDK then sends no initialize). */
export async function httpClient(server, { headers, name = 'warden-mcp-tests', onElicit, sessionId } = {}) {
  const options = { ...(headers ? { requestInit: { headers } } : {}), ...(sessionId ? { sessionId } : {}) };
  const transport = new StreamableHTTPClientTransport(new URL(server.url), options);
  const client = newClient(name, onElicit);
  await client.connect(transport);
  const tracked = track(client);
  tracked.transport = transport;
  return tracked;
}

/**
 * An SDK client; with onElicit it declares the elicitation capability and answers each
 * elicitation/create with onElicit(params) (an ElicitResult, or a promise of one).
 */
function newClient(name, onElicit) {
  if (!onElicit) {
    return new Client({ name, version: '1.0.0' });
  }
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, (req) => onElicit(req.params));
  return client;
}

/** An SDK client over the legacy HTTP+SSE transport (/sse + /message). */
export async function sseClient(server, { headers, name = 'warden-mcp-tests' } = {}) {
  const transport = new SSEClientTransport(new URL(server.sseUrl), headers ? { requestInit: { headers } } : undefined);
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  const tracked = track(client);
  tracked.transport = transport;
  return tracked;
}

// ---------------------------------------------------------------------------------------------
// calls and checks

/**
 * Wraps a client so every tool call is checked against the contract and its execution_id kept.
 * call(name, args) -> structuredContent.
 */
export function track(client) {
  const ids = [];
  let listed = false;
  return {
    client,
    ids,
    async listTools() {
      listed = true;
      return client.listTools();
    },
    /**
     * Calls a tool; checks the result's shape; returns structuredContent.
     * An L1 run refused by the kernel with EAGAIN (see isSlotReuseBug) is retried unless
     * retrySlotBug is false: that one server bug has its own test and should not make every
     * other test flaky.
     */
    async call(name, args, { timeout = 60_000, retrySlotBug = true } = {}) {
      if (!listed) {
        // Listing first makes the SDK client validate structuredContent against each outputSchema.
        await this.listTools();
      }
      for (let attempt = 0; ; attempt++) {
        const res = await client.callTool({ name, arguments: args }, undefined, { timeout });
        const sc = checkResult(res);
        ids.push(sc.execution_id);
        if (!retrySlotBug || !isSlotReuseBug(sc) || attempt >= 20) {
          return sc;
        }
        slotBugHits.count++;
        await sleep(250);
      }
    },
    async close() {
      await client.close();
    },
  };
}

/**
 * Server bug (reported): an L1 inline run on a slot whose previous L2 sandbox left a not yet
 * reaped (zombie) process of the slot's uid fails execve with EAGAIN under RLIMIT_NPROC=1:
 * status failed, exit_code 126, stderr "<prog>: Resource temporarily unavailable".
 */
export function isSlotReuseBug(sc) {
  return sc.status === 'failed' && sc.exit_code === 126 && sc.executor === 'inline'
    && /Resource temporarily unavailable/.test(sc.stderr);
}

/** How often the retry above was needed in this process. */
export const slotBugHits = { count: 0 };
process.on('exit', () => {
  if (slotBugHits.count > 0) {
    process.stderr.write(`note: ${slotBugHits.count} L1 call(s) hit the EAGAIN slot-reuse server bug and were retried\n`);
  }
});

/** Contract checks every result must pass. Returns structuredContent. */
export function checkResult(res) {
  assert.ok(res.structuredContent, `no structuredContent in ${JSON.stringify(res)}`);
  const sc = res.structuredContent;
  assert.ok(Array.isArray(res.content) && res.content.length >= 1, 'content must hold the text copy');
  assert.equal(res.content[0].type, 'text');
  assert.deepEqual(JSON.parse(res.content[0].text), sc, 'content[0].text must be the same JSON as structuredContent');
  assert.ok(STATUSES.includes(sc.status), `unknown status ${sc.status}`);
  // running (a background run that goes on) is no error either
  assert.equal(res.isError === true, sc.status !== 'ok' && sc.status !== 'running',
    `isError must be true exactly when status is neither ok nor running (${sc.status})`);
  assert.ok(sc.exit_code === null || Number.isInteger(sc.exit_code), 'exit_code int or null');
  assert.equal(typeof sc.stdout, 'string');
  assert.equal(typeof sc.stderr, 'string');
  assert.equal(typeof sc.stdout_truncated, 'boolean');
  assert.equal(typeof sc.stderr_truncated, 'boolean');
  assert.ok(typeof sc.duration_ms === 'number' && sc.duration_ms >= 0, 'duration_ms');
  assert.match(sc.tier, /^L[1-4]$/);
  assert.ok(['inline', 'sandbox', 'container', 'none'].includes(sc.executor), `executor ${sc.executor}`);
  assert.ok(Array.isArray(sc.findings), 'findings array');
  for (const f of sc.findings) {
    assert.equal(typeof f.rule, 'string');
    assert.equal(typeof f.severity, 'string');
    assert.equal(typeof f.detail, 'string');
  }
  assert.ok(Number.isInteger(sc.redactions) && sc.redactions >= 0, 'redactions');
  assert.ok(typeof sc.execution_id === 'string' && sc.execution_id.length > 0, 'execution_id');
  assert.equal(typeof sc.limits, 'object');
  assert.ok(sc.limits !== null);
  assert.equal(typeof sc.usage, 'object');
  if (sc.status === 'ok') {
    assert.equal(sc.message, undefined, 'ok results carry no message');
  } else {
    assert.ok(typeof sc.message === 'string' && sc.message.length > 0, `status ${sc.status} needs a message`);
  }
  if (sc.status === 'rate_limited') {
    assert.ok(Number.isInteger(sc.retry_after_ms));
  } else {
    assert.equal(sc.retry_after_ms, undefined, 'retry_after_ms only with rate_limited');
  }
  return sc;
}

export function assertOk(sc, stdout, { tier, executor } = {}) {
  assert.equal(sc.status, 'ok', `expected ok, got ${sc.status}: ${sc.message ?? ''} ${sc.stderr}`);
  assert.equal(sc.exit_code, 0);
  if (stdout !== undefined) assert.equal(sc.stdout, stdout);
  if (tier) assert.equal(sc.tier, tier);
  if (executor) assert.equal(sc.executor, executor);
}

export function assertInvalid(sc, pattern) {
  assert.equal(sc.status, 'invalid', `expected invalid, got ${sc.status}: ${sc.message ?? ''}`);
  assert.equal(sc.exit_code, null);
  assert.equal(sc.stdout, '');
  if (pattern) assert.match(sc.message, pattern);
}

/** Checks that every execution_id a client was given is in the audit file. */
export function assertAudited(auditFile, ids, transport) {
  const lines = readAudit(auditFile);
  const byId = new Map(lines.map((l) => [l.execution_id, l]));
  assert.ok(ids.length > 0, 'no calls were made');
  const missing = ids.filter((id) => !byId.has(id));
  assert.deepEqual(missing, [], `execution ids missing from the audit file ${auditFile}`);
  assert.equal(new Set(ids).size, ids.length, 'execution ids must be unique');
  if (transport) {
    for (const id of ids) {
      assert.equal(byId.get(id).transport, transport, `audit line ${id} transport`);
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// raw HTTP

/**
 * One HTTP request with exactly the headers given (node:http, so Host and Origin can be set).
 * Returns { status, headers, text }. A body of an SSE stream is read for at most readMs.
 */
export function rawRequest(url, { method = 'POST', headers = {}, body, readMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers }, (res) => {
      const chunks = [];
      const done = () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      const timer = setTimeout(() => { res.destroy(); done(); }, readMs);
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => { clearTimeout(timer); done(); });
      res.on('error', () => { clearTimeout(timer); done(); });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

export function initializeBody(id = 1) {
  return JSON.stringify({
    jsonrpc: '2.0', id, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-http', version: '1' } },
  });
}

/** A 4xx/5xx body must be one plain JSON-RPC error: no stack trace, no exception dump. */
export function assertCleanErrorBody(res, status) {
  if (status !== undefined) {
    assert.equal(res.status, status, `HTTP status (body: ${res.text})`);
  }
  assert.ok(res.status >= 400, `expected an error status, got ${res.status}`);
  assert.match(String(res.headers['content-type']), /application\/json/);
  let body;
  try {
    body = JSON.parse(res.text);
  } catch {
    assert.fail(`error body is not JSON: ${res.text.slice(0, 500)}`);
  }
  assert.equal(body.jsonrpc, '2.0');
  assert.ok('id' in body, 'JSON-RPC error has an id member (null)');
  assert.ok(Number.isInteger(body.error?.code), `error.code in ${res.text}`);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.deepEqual(Object.keys(body).sort(), ['error', 'id', 'jsonrpc']);
  for (const bad of [/\bat io\./, /\bat (java|jdk|org|jakarta|com)\./, /Exception/, /stackTrace/i, /\tat /, /Caused by/]) {
    assert.doesNotMatch(res.text, bad, `error body leaks internals: ${res.text.slice(0, 500)}`);
  }
  assert.ok(res.text.length < 2000, 'error body is short');
  return body;
}

// ---------------------------------------------------------------------------------------------
// the operator CLI and start-up failures

const execFileP = promisify(execFile);

/** Runs the operator CLI (java -jar warden.jar ARGS) with extra env; returns { code, stdout, stderr }. */
export async function operatorCli(args, env) {
  const jar = await jarPath();
  try {
    const { stdout, stderr } = await execFileP('java', ['-jar', jar, ...args], { env: { ...process.env, ...env },
      timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs the server with these arguments until it exits (it should, at once); returns { code, stderr }. */
export async function startExpectingFailure(args, { env = {}, command = 'java', prefix = [] } = {}) {
  const jar = await jarPath();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, 'java', '-jar', jar, ...args].slice(command === 'java' ? 1 : 0),
      { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'], cwd: '/' });
    const err = [];
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`still running: ${Buffer.concat(err)}`)); },
      60_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr: Buffer.concat(err).toString() }); });
  });
}

/** One or two lines, each starting "warden:" or continuing it, with nothing of a Java stack trace. */
/** request_approval's result: structuredContent, with the same JSON as text. */
export async function requestApproval(c, args, timeout = 60_000) {
  const res = await c.client.callTool({ name: 'request_approval', arguments: args }, undefined, { timeout });
  assert.ok(res.structuredContent, `no structuredContent in ${JSON.stringify(res)}`);
  assert.deepEqual(JSON.parse(res.content[0].text), res.structuredContent);
  assert.equal(res.isError === true, res.structuredContent.decision !== 'approved', 'isError unless approved');
  return res.structuredContent;
}

export function assertClearFailure(r, pattern) {
  assert.notEqual(r.code, 0, `exit status must be non-zero; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length >= 1 && lines.length <= 2, `one or two lines, got ${lines.length}:\n${r.stderr}`);
  assert.match(lines[0], /^warden: /);
  for (const bad of [/\tat /, /Exception/, /Caused by/, /\.java:\d+/]) {
    assert.doesNotMatch(r.stderr, bad, `stderr has a stack trace:\n${r.stderr}`);
  }
  assert.match(r.stderr, pattern);
}

