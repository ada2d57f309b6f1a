// Operating Warden: `--version`, GET /metrics (Prometheus text, operator token only) after known calls made
// through the official SDK client over Streamable HTTP, and the JSON log option (WARDEN_LOG_FORMAT=json).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { REPO, assertOk, httpClient, jarPath, serverDirs, startHttpServer, stdioClient } from './lib/warden.mjs';

const run = promisify(execFile);
const OPERATOR_TOKEN = 'operator-token-for-metrics-0123456789';
const CLIENT_TOKEN = 'client-token-for-metrics-0123456789';

/** The pom's own version (the first <version> after <artifactId>warden</artifactId>). */
function pomVersion() {
  const pom = fs.readFileSync(path.join(REPO, 'pom.xml'), 'utf8');
  const m = pom.match(/<artifactId>warden<\/artifactId>\s*<version>([^<]+)<\/version>/);
  assert.ok(m, 'no version in pom.xml');
  return m[1];
}

/**
 * A small parser of the Prometheus text format (0.0.4): { types: name -> type, samples: [{name, labels, value}] }.
 * It refuses what it does not understand, so a malformed exposition fails the test.
 */
export function parsePrometheus(text) {
  const types = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const t = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/);
      if (t) types.set(t[1], t[2]);
      else assert.match(line, /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/, `bad comment line: ${line}`);
      continue;
    }
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/);
    assert.ok(m, `bad sample line: ${line}`);
    const labels = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
      let consumed = 0;
      for (let l; (l = re.exec(m[2])) !== null;) {
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed += l[0].length;
      }
      assert.equal(consumed, m[2].length, `bad labels: ${line}`);
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value) || m[3] === 'NaN', `bad value: ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return { types, samples };
}

/** The value of the one sample with this name and exactly these labels (undefined if none). */
function valueOf(parsed, name, labels = {}) {
  const want = JSON.stringify(Object.entries(labels).sort());
  const found = parsed.samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want);
  assert.ok(found.length <= 1, `${name} ${want} appears ${found.length} times`);
  return found[0]?.value;
}

async function getMetrics(server, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const res = await fetch(`${server.base}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('--version', () => {
  it('prints "warden <pom version>" on stdout and exits 0, without starting a server', async () => {
    const jar = await jarPath();
    const started = Date.now();
    const { stdout, stderr } = await run('java', ['-jar', jar, '--version'], { timeout: 30_000 });
    assert.equal(stdout, `warden ${pomVersion()}\n`);
    assert.equal(stderr, '', 'nothing on stderr: no server start, no log line');
    assert.ok(Date.now() - started < 20_000);
  });

  it('is listed by --help', async () => {
    const jar = await jarPath();
    const { stderr } = await run('java', ['-jar', jar, '--help'], { timeout: 30_000 });
    assert.match(stderr, /--version/);
  });
});

describe('GET /metrics over HTTP', () => {
  const dirs = serverDirs('metrics');
  let server;
  let client;
  /** (tool, tier, status) -> calls made, from what each call answered */
  const made = new Map();
  const count = (tool, tier, status) => made.set(`${tool}|${tier}|${status}`, (made.get(`${tool}|${tier}|${status}`) ?? 0) + 1);

  before(async () => {
    server = await startHttpServer({ audit: dirs.audit, workspace: dirs.workspace, config: dirs.config,
      env: { WARDEN_TOKEN: CLIENT_TOKEN, WARDEN_OPERATOR_TOKEN: OPERATOR_TOKEN, XDG_STATE_HOME: path.join(dirs.dir, 'state') } });
    client = await httpClient(server, { headers: { Authorization: `Bearer ${CLIENT_TOKEN}` }, name: 'metrics-test' });
    const calls = [
      ['run_command', { command: 'echo one' }],
      ['run_command', { command: 'echo two' }],
      ['run_command', { command: 'false' }],
      ['execute_code', { language: 'python', code: 'print(6 * 7)' }],
      ['execute_code', { language: 'cobol', code: 'DISPLAY 1' }],
    ];
    for (const [tool, args] of calls) {
      const sc = await client.call(tool, args);
      count(tool, sc.tier, sc.status);
    }
    // a tool with no tier: counted with tier "none"
    const listed = await client.client.callTool({ name: 'list_executions', arguments: {} });
    assert.equal(listed.structuredContent.status, 'ok');
    count('list_executions', 'none', 'ok');
  });

  after(async () => {
    await client?.close();
    await server?.stop();
    fs.rmSync(dirs.dir, { recursive: true, force: true });
  });

  it('answers 401 without a token, 401 or 403 with a client token, 200 with the operator token', async () => {
    const none = await getMetrics(server);
    assert.equal(none.status, 401);
    const asClient = await getMetrics(server, CLIENT_TOKEN);
    assert.ok([401, 403].includes(asClient.status), `client token got ${asClient.status}`);
    assert.doesNotMatch(asClient.text, /warden_calls_total/);
    const wrong = await getMetrics(server, 'not-the-operator-token-0123456789');
    assert.equal(wrong.status, 401);
    const ok = await getMetrics(server, OPERATOR_TOKEN);
    assert.equal(ok.status, 200);
    assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
    const post = await fetch(`${server.base}/metrics`, { method: 'POST', headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` } });
    assert.equal(post.status, 405);
  });

  it('counts each call by tool, tier and status, with its duration in the histogram', async () => {
    const { status, text } = await getMetrics(server, OPERATOR_TOKEN);
    assert.equal(status, 200);
    const m = parsePrometheus(text);
    assert.equal(m.types.get('warden_calls_total'), 'counter');
    assert.equal(m.types.get('warden_call_duration_seconds'), 'histogram');
    assert.ok(made.size >= 4, `expected a mix of tiers and statuses: ${[...made.keys()]}`);
    for (const [key, n] of made) {
      const [tool, tier, st] = key.split('|');
      assert.equal(valueOf(m, 'warden_calls_total', { tool, tier, status: st }), n, `warden_calls_total ${key}`);
    }
    // nothing else was counted: the sum over every series is the number of calls made
    const total = m.samples.filter((s) => s.name === 'warden_calls_total').reduce((a, s) => a + s.value, 0);
    assert.equal(total, [...made.values()].reduce((a, b) => a + b, 0));
    for (const s of m.samples.filter((x) => x.name === 'warden_calls_total')) {
      assert.deepEqual(Object.keys(s.labels).sort(), ['status', 'tier', 'tool']);
      assert.match(s.labels.tier, /^(L[1-4]|none)$/);
    }
    // the histogram: one observation per run_command / execute_code call, per (tool, tier)
    const perTier = new Map();
    for (const [key, n] of made) {
      const [tool, tier] = key.split('|');
      if (tool === 'list_executions') continue;
      perTier.set(`${tool}|${tier}`, (perTier.get(`${tool}|${tier}`) ?? 0) + n);
    }
    for (const [key, n] of perTier) {
      const [tool, tier] = key.split('|');
      assert.equal(valueOf(m, 'warden_call_duration_seconds_count', { tool, tier }), n, `histogram count ${key}`);
      assert.equal(valueOf(m, 'warden_call_duration_seconds_bucket', { tool, tier, le: '+Inf' }), n);
      assert.ok(valueOf(m, 'warden_call_duration_seconds_sum', { tool, tier }) > 0);
      const buckets = m.samples.filter((s) => s.name === 'warden_call_duration_seconds_bucket'
        && s.labels.tool === tool && s.labels.tier === tier);
      assert.ok(buckets.length > 5);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'buckets are cumulative');
    }
    // every call's audit line was waited for, and measured
    assert.ok(valueOf(m, 'warden_audit_write_seconds_count') >= total);
  });

  it('serves the live values: executions, queue, approvals, pools, egress, rate limits, build info', async () => {
    const m = parsePrometheus((await getMetrics(server, OPERATOR_TOKEN)).text);
    for (const g of ['warden_calls_in_flight', 'warden_executions_running', 'warden_executions_queued',
      'warden_approvals_pending', 'warden_kernels_running', 'warden_sandbox_slots', 'warden_sandbox_slots_free',
      'warden_sandbox_warm', 'warden_containers', 'warden_containers_warm', 'warden_containers_running']) {
      assert.equal(m.types.get(g), 'gauge', g);
      assert.ok(valueOf(m, g) >= 0, g);
    }
    assert.equal(valueOf(m, 'warden_executions_running'), 0, 'nothing runs between calls');
    assert.equal(valueOf(m, 'warden_executions_queued'), 0);
    assert.equal(valueOf(m, 'warden_approvals_pending'), 0);
    // the sandbox served the calls above: its slots are there, free but for those warm sandboxes hold
    const slots = valueOf(m, 'warden_sandbox_slots');
    assert.ok(slots > 0);
    assert.ok(valueOf(m, 'warden_sandbox_slots_free') > 0 && valueOf(m, 'warden_sandbox_slots_free') <= slots);
    assert.equal(m.types.get('warden_egress_bytes_total'), 'counter');
    assert.ok(valueOf(m, 'warden_egress_bytes_total', { direction: 'in' }) >= 0);
    assert.ok(valueOf(m, 'warden_egress_bytes_total', { direction: 'out' }) >= 0);
    assert.ok(valueOf(m, 'warden_egress_refusals_total') >= 0);
    assert.equal(valueOf(m, 'warden_rate_limit_refusals_total', { limit: 'rate' }), 0);
    assert.equal(valueOf(m, 'warden_rate_limit_refusals_total', { limit: 'calls' }), 0);
    assert.equal(valueOf(m, 'warden_build_info', { version: pomVersion() }), 1);
  });

  it('counts on: one more call is one more in its series', async () => {
    const before = parsePrometheus((await getMetrics(server, OPERATOR_TOKEN)).text);
    const sc = await client.call('run_command', { command: 'echo three' });
    assertOk(sc, 'three\n');
    const after = parsePrometheus((await getMetrics(server, OPERATOR_TOKEN)).text);
    const labels = { tool: 'run_command', tier: sc.tier, status: 'ok' };
    assert.equal(valueOf(after, 'warden_calls_total', labels), valueOf(before, 'warden_calls_total', labels) + 1);
    const h = { tool: 'run_command', tier: sc.tier };
    assert.equal(valueOf(after, 'warden_call_duration_seconds_count', h),
      valueOf(before, 'warden_call_duration_seconds_count', h) + 1);
  });
});

describe('GET /metrics under stdio', () => {
  it('is served on the operator console\'s loopback port, with the token of operator.json', async () => {
    const dirs = serverDirs('metrics-stdio');
    const state = path.join(dirs.dir, 'state');
    const c = await stdioClient({ audit: dirs.audit, workspace: dirs.workspace, env: { ...process.env, XDG_STATE_HOME: state } });
    try {
      const sc = await c.call('run_command', { command: 'echo stdio' });
      assertOk(sc, 'stdio\n');
      const instances = path.join(state, 'warden', 'instances');
      let console;
      for (let i = 0; i < 100 && !console; i++) {
        for (const id of fs.existsSync(instances) ? fs.readdirSync(instances) : []) {
          const f = path.join(instances, id, 'operator.json');
          const info = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null;
          if (info?.url && info?.token) console = info;
        }
        if (!console) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(console, 'operator.json with the console address and token');
      const base = console.url.replace(/\/operator$/, '');
      assert.equal((await getMetrics({ base })).status, 401);
      const res = await getMetrics({ base }, console.token);
      assert.equal(res.status, 200);
      const m = parsePrometheus(res.text);
      assert.equal(valueOf(m, 'warden_calls_total', { tool: 'run_command', tier: sc.tier, status: 'ok' }), 1);
    } finally {
      await c.close();
      fs.rmSync(dirs.dir, { recursive: true, force: true });
    }
  });
});

describe('the JSON log option', () => {
  it('WARDEN_LOG_FORMAT=json: every line of the server log on stderr is one JSON object with level, logger and message', async () => {
    // logback's JsonEncoder: loggerName, and the message as shown (formattedMessage); stdout stays MCP's alone
    const dirs = serverDirs('jsonlog');
    const c = await stdioClient({ audit: dirs.audit, workspace: dirs.workspace,
      env: { ...process.env, WARDEN_LOG_FORMAT: 'json', XDG_STATE_HOME: path.join(dirs.dir, 'state') } });
    try {
      assertOk(await c.call('run_command', { command: 'echo logged' }), 'logged\n');
    } finally {
      await c.close();
      fs.rmSync(dirs.dir, { recursive: true, force: true });
    }
    const lines = c.serverLog().split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length >= 2, `expected log lines, got: ${c.serverLog()}`);
    for (const line of lines) {
      let o;
      assert.doesNotThrow(() => { o = JSON.parse(line); }, `not JSON: ${line}`);
      assert.match(o.level, /^(TRACE|DEBUG|INFO|WARN|ERROR)$/, line);
      assert.equal(typeof o.loggerName, 'string', line);
      assert.equal(typeof o.formattedMessage, 'string', line);
      assert.equal(typeof o.timestamp, 'number', line);
    }
    const start = lines.map((l) => JSON.parse(l)).find((o) => /^warden \S+: instance/.test(o.formattedMessage));
    assert.ok(start, 'the start-up line is there, its arguments filled in');
    assert.equal(start.level, 'INFO');
    assert.equal(start.loggerName, 'dev.warden.WardenServer');
  });

  it('server.log_format: json in the config does the same; text lines without it', async () => {
    for (const [yaml, json] of [['server:\n  log_format: json\n', true], ['', false]]) {
      const dirs = serverDirs('jsonlog-config', yaml);
      const env = { ...process.env, XDG_STATE_HOME: path.join(dirs.dir, 'state') };
      delete env.WARDEN_LOG_FORMAT;
      const c = await stdioClient({ audit: dirs.audit, workspace: dirs.workspace, config: dirs.config, env });
      try {
        assertOk(await c.call('run_command', { command: 'echo configured' }), 'configured\n');
      } finally {
        await c.close();
        fs.rmSync(dirs.dir, { recursive: true, force: true });
      }
      const lines = c.serverLog().split('\n').filter((l) => l.trim() !== '');
      assert.ok(lines.length >= 2, c.serverLog());
      for (const line of lines) {
        if (json) {
          assert.equal(typeof JSON.parse(line).formattedMessage, 'string', line);
        } else {
          assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR) /, line);
        }
      }
    }
  });
});
