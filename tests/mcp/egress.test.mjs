// Network egress through the official TypeScript SDK client: runs reach only what the policy (or a
// person's approval) allows, through Warden's proxy, with no proxy code of their own: Python's urllib,
// curl (plain and through a CONNECT tunnel) and Node's fetch against test servers on this machine,
// named explicitly by a test policy. Refusals come back as one readable line in the run and in the
// result's network.denied, limits cut transfers, a request for a new host is held and approved with
// the CLI, and Warden's own port stays out of reach even when asked for. L3 gives the same answers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { checkResult, httpClient, operatorCli, readAudit, sleep, startHttpServer, tempDir } from './lib/warden.mjs';
import { l3Available } from './lib/faults.mjs';

const OPERATOR_TOKEN = 'operator-token-for-egress-tests-0123';
const CLIENT_TOKEN = 'client-token-for-egress-tests-012345';

/** A wheel of a one-module package (`import warden_demo` prints its greeting), built by the host's python. */
function demoWheel() {
  const py = `import base64, hashlib, io, sys, zipfile
files = {"warden_demo/__init__.py": b"GREETING = 'installed through the proxy'\\n",
         "warden_demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: warden-demo\\nVersion: 1.0\\n",
         "warden_demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: warden-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
record = ""
for name, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += "%s,sha256=%s,%d\\n" % (name, digest, len(data))
record += "warden_demo-1.0.dist-info/RECORD,,\\n"
out = io.BytesIO()
with zipfile.ZipFile(out, "w") as z:
    for name, data in files.items():
        z.writestr(name, data)
    z.writestr("warden_demo-1.0.dist-info/RECORD", record)
sys.stdout.buffer.write(out.getvalue())`;
  return execFileSync('python3', ['-c', py]);
}

/** Two servers on 127.0.0.1: `allowed` (named by the policy) and `other` (not). */
async function testServers() {
  const big = Buffer.alloc(5 * 1024 * 1024, 0x61);
  const wheel = demoWheel();
  let otherPort;
  const allowed = http.createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { Location: `http://other.test:${otherPort}/after-redirect` });
      res.end();
    } else if (req.url === '/simple/warden-demo/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html><body><a href="/files/warden_demo-1.0-py3-none-any.whl">warden_demo-1.0-py3-none-any.whl</a></body></html>');
    } else if (req.url === '/files/warden_demo-1.0-py3-none-any.whl') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': wheel.length });
      res.end(wheel);
    } else if (req.url === '/big') {
      res.writeHead(200, { 'Content-Length': big.length });
      res.end(big);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`hello from the allowed server (${req.method} ${req.url})`);
    }
  });
  const other = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('hello from the other server');
  });
  await new Promise((r) => allowed.listen(0, '127.0.0.1', r));
  await new Promise((r) => other.listen(0, '127.0.0.1', r));
  otherPort = other.address().port;
  return { allowed, other, port: allowed.address().port, otherPort };
}

function writeConfig(dir, servers, extraPolicy = '') {
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, [
    'approval:',
    '  timeout_s: 45',
    'network:',
    `  allow: ["egress.test:${servers.port}", "127.0.0.1:${servers.port}", meta.test, private.test]`,
    '  hosts: {egress.test: 127.0.0.1, other.test: 127.0.0.1, meta.test: 169.254.169.254, private.test: 10.11.12.13}',
    '  limits: {max_bytes: 2000000, max_connections: 30}',
    extraPolicy,
  ].join('\n'));
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, [
    'operator:',
    `  token: "${OPERATOR_TOKEN}"`,
    `  state_file: "${path.join(dir, 'operator.json')}"`,
    'policy:',
    `  file: "${policy}"`,
  ].join('\n'));
  return config;
}

/** Approves a held call with the operator CLI, retrying until the server lists it. */
async function approveWithCli(dir, id) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await operatorCli(['approvals', 'approve', id, '--state', path.join(dir, 'operator.json'), '--as', 'egress-tests']);
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`could not approve ${id}: ${r.stderr}`);
    await sleep(300);
  }
}

/**
 * The set-up of one describe: the test servers (unless testServers is false), a Warden over HTTP
 * with the test policy plus extraPolicy, and one client; all of it gone after. Its fields are
 * filled in before the describe's own hooks run.
 */
function serveEgress(name, extraPolicy = '', { testServers: withServers = true } = {}) {
  const s = { dir: tempDir(name) };
  s.audit = path.join(s.dir, 'audit.jsonl');
  const workspace = path.join(s.dir, 'ws');
  fs.mkdirSync(workspace);
  before(async () => {
    s.servers = withServers ? await testServers() : { port: 1 };
    s.server = await startHttpServer({ audit: s.audit, workspace, config: writeConfig(s.dir, s.servers, extraPolicy),
      env: { WARDEN_TOKEN: CLIENT_TOKEN } });
    s.c = await httpClient(s.server, { headers: { Authorization: `Bearer ${CLIENT_TOKEN}` }, name });
  });
  after(async () => {
    await s.c?.close();
    await s.server?.stop();
    s.servers?.allowed?.close();
    s.servers?.other?.close();
    fs.rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}

const py = (body) => `import urllib.request, urllib.error, sys
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            data = r.read()
            print(r.status, len(data), data[:80].decode(errors="replace"))
    except urllib.error.HTTPError as e:
        print("HTTPError", e.code, e.read().decode(errors="replace").strip())
    except Exception as e:
        print("error", type(e).__name__, e)
${body}`;

function denied(sc, host) {
  assert.ok(sc.network, `no network field: ${JSON.stringify(sc)}`);
  const d = sc.network.denied.find((x) => x.host === host);
  assert.ok(d, `${host} not in network.denied: ${JSON.stringify(sc.network)}`);
  assert.ok(sc.findings.some((f) => f.rule === 'network.denied' && f.detail === d.reason),
    `a network.denied finding for ${host}: ${JSON.stringify(sc.findings)}`);
  return d;
}

/** The same answers whatever the tier: L2 sandbox, or (with the policy routing python there) an L3 container. */
function defineEgressTests(label, get, { tier, executor }) {
  it(`${label}: python urllib reaches an allowed host with no proxy code; the result counts its bytes`, async () => {
    const { c, servers } = get();
    const sc = await c.call('execute_code', { language: 'python', code: py(`get("http://egress.test:${servers.port}/hello")`) });
    assert.equal(sc.status, 'ok', JSON.stringify(sc));
    assert.equal(sc.tier, tier);
    assert.equal(sc.executor, executor);
    assert.match(sc.stdout, /^200 \d+ hello from the allowed server \(GET \/hello\)/);
    const a = sc.network.allowed.find((x) => x.host === 'egress.test');
    assert.ok(a && a.port === servers.port && a.bytes_in > 50 && a.bytes_out > 20, JSON.stringify(sc.network));
    assert.deepEqual(sc.network.denied, []);
  });

  it(`${label}: another address is refused with a reason the run and the result both show`, async () => {
    const { c, servers } = get();
    const sc = await c.call('execute_code', { language: 'python', code: py(`get("http://other.test:${servers.otherPort}/")`) });
    assert.match(sc.stdout, /HTTPError 403 Warden: other\.test.*loopback address/);
    const d = denied(sc, 'other.test');
    assert.equal(d.port, servers.otherPort);
    assert.match(d.reason, /resolves to 127\.0\.0\.1, a loopback address/);
  });

  it(`${label}: names that resolve to metadata or private addresses are refused even though allowed by name`, async () => {
    const { c } = get();
    const sc = await c.call('execute_code', { language: 'python', code: py('get("http://meta.test/latest/meta-data/")\nget("http://private.test/")') });
    assert.match(sc.stdout, /HTTPError 403 .*cloud metadata/);
    assert.match(sc.stdout, /HTTPError 403 .*private address/);
    denied(sc, 'meta.test');
    denied(sc, 'private.test');
  });

  it(`${label}: a redirect to a refused host is refused`, async () => {
    const { c, servers } = get();
    const sc = await c.call('execute_code', { language: 'python', code: py(`get("http://egress.test:${servers.port}/redirect")`) });
    assert.match(sc.stdout, /HTTPError 403 Warden: other\.test/);
    denied(sc, 'other.test');
    assert.ok(sc.network.allowed.some((x) => x.host === 'egress.test'));
  });
}

describe('egress over HTTP (L2 sandbox)', () => {
  const s = serveEgress('egress');
  const { dir, audit } = s;
  let servers;
  let server;
  let c;
  before(() => ({ servers, server, c } = s));

  defineEgressTests('L2', () => ({ c, servers }), { tier: 'L2', executor: 'sandbox' });

  it('curl from run_command reaches the allowed host, plainly and through a CONNECT tunnel, at its tier', async () => {
    const sc = await c.call('run_command', { command: `curl -s http://egress.test:${servers.port}/plain` });
    assert.equal(sc.status, 'ok', JSON.stringify(sc));
    assert.equal(sc.tier, 'L2');
    assert.equal(sc.stdout, 'hello from the allowed server (GET /plain)');
    assert.ok(sc.findings.some((f) => f.rule === 'network.tool' && f.severity === 'info'), JSON.stringify(sc.findings));
    const tunnel = await c.call('run_command', { command: `curl -s --proxytunnel http://egress.test:${servers.port}/tunnel` });
    assert.equal(tunnel.status, 'ok', JSON.stringify(tunnel));
    assert.equal(tunnel.stdout, 'hello from the allowed server (GET /tunnel)');
  });

  it('curl aimed at a host outside the policy is held, not run', async () => {
    const sc = await c.call('run_command', { command: `curl -s http://other.test:${servers.otherPort}/` });
    assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
    assert.ok(sc.findings.some((f) => f.rule === 'network.tool'));
  });

  it("Node's fetch uses the proxy with no setup in the code", async () => {
    const sc = await c.call('execute_code', {
      language: 'javascript',
      // in an async function: `node -e` takes top-level await from Node 20 on, and the environment's
      // node (L2 and L3) is Debian's 18
      code: `(async () => { const r = await fetch('http://egress.test:${servers.port}/fetch'); console.log(r.status, await r.text());
try { const x = await fetch('http://other.test:${servers.otherPort}/'); console.log(x.status, (await x.text()).trim()); }
catch (e) { console.log('error', e.cause?.code ?? e.message); } })();`,
    });
    assert.equal(sc.status, 'ok', JSON.stringify(sc));
    // a plain http:// fetch goes through a CONNECT tunnel too (undici's proxy agent), whose refusal is
    // an error in the program; the result says which host and why
    assert.match(sc.stdout, /^200 hello from the allowed server \(GET \/fetch\)\n(403 Warden: other\.test|error )/);
    denied(sc, 'other.test');
  });

  it('the byte limit cuts a transfer and says so', async () => {
    const sc = await c.call('execute_code', { language: 'python', code: py(`get("http://egress.test:${servers.port}/big")`) });
    assert.doesNotMatch(sc.stdout, /^200 5242880/);
    const d = denied(sc, 'egress.test');
    assert.match(d.reason, /byte limit/);
  });

  it('the connection limit refuses connections past it and says so', async () => {
    const sc = await c.call('execute_code', {
      language: 'python',
      code: py(`for i in range(35):\n    get("http://egress.test:${servers.port}/n%d" % i)`),
    });
    const lines = sc.stdout.trim().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('200 ')).length, 30, sc.stdout);
    assert.equal(lines.filter((l) => /HTTPError 403 .*limit of 30 connections/.test(l)).length, 5, sc.stdout);
    denied(sc, 'egress.test');
  });

  it('a call asking for a new host is held, and once approved with the CLI it reaches the host', async () => {
    const code = py(`get("http://other.test:${servers.otherPort}/")`);
    const held = await c.call('execute_code', { language: 'python', code, network: [`127.0.0.1:${servers.otherPort}`] });
    assert.equal(held.status, 'needs_approval', JSON.stringify(held));
    const asked = held.findings.find((f) => f.rule === 'network.request');
    assert.ok(asked && asked.detail.includes(`127.0.0.1:${servers.otherPort}`), JSON.stringify(held.findings));
    const waiting = c.client.callTool({ name: 'request_approval', arguments: { execution_id: held.execution_id } },
      undefined, { timeout: 90_000 });
    await approveWithCli(dir, held.execution_id);
    const res = await waiting;
    const r = res.structuredContent;
    assert.equal(r.decision, 'approved', JSON.stringify(r));
    checkResult({ structuredContent: r.result, content: [{ type: 'text', text: JSON.stringify(r.result) }], isError: r.result.status !== 'ok' });
    assert.match(r.result.stdout, /^200 \d+ hello from the other server/);
    assert.ok(r.result.network.allowed.some((x) => x.host === 'other.test' && x.port === servers.otherPort));
    // approve_once: the next call does not have it
    const again = await c.call('execute_code', { language: 'python', code });
    assert.match(again.stdout, /HTTPError 403/);
  });

  it("Warden's own HTTP port is refused, even when a call asks for it and a person approves", async () => {
    const port = Number(new URL(server.base).port);
    const code = py(`get("http://other.test:${port}/mcp")`);
    const held = await c.call('execute_code', { language: 'python', code, network: [`127.0.0.1:${port}`] });
    assert.equal(held.status, 'needs_approval', JSON.stringify(held));
    const waiting = c.client.callTool({ name: 'request_approval', arguments: { execution_id: held.execution_id } },
      undefined, { timeout: 90_000 });
    await approveWithCli(dir, held.execution_id);
    const r = (await waiting).structuredContent;
    assert.match(r.result.stdout, /HTTPError 403 .*Warden's own service/);
    denied(r.result, 'other.test');
  });

  it('approve `pip install` and it installs into the workspace, for the session\'s next calls', async () => {
    const held = await c.call('run_command', {
      command: `pip install --index-url http://egress.test:${servers.port}/simple/ --trusted-host egress.test warden-demo`,
      timeout_ms: 60_000 });
    assert.equal(held.status, 'needs_approval', JSON.stringify(held));
    assert.ok(held.findings.some((f) => f.rule === 'network.preset' && f.detail.includes('pypi.org')), JSON.stringify(held.findings));
    const waiting = c.client.callTool({ name: 'request_approval', arguments: { execution_id: held.execution_id } },
      undefined, { timeout: 90_000 });
    await approveWithCli(dir, held.execution_id);
    const r = (await waiting).structuredContent.result;
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.doesNotMatch(r.stderr, /externally-managed-environment/);
    const used = await c.call('execute_code', { language: 'python', code: 'import warden_demo\nprint(warden_demo.GREETING, warden_demo.__file__)' });
    assert.equal(used.status, 'ok', JSON.stringify(used));
    assert.match(used.stdout, /^installed through the proxy \/workspace\/\.local\/lib\/python3[.0-9]*\/site-packages\/warden_demo\/__init__\.py\n$/);
  });

  it('no run may use the network input to widen the policy without an approval, and bad input is invalid', async () => {
    for (const bad of ['*.example.org', '10.0.0.0/8', 'example.org:*', 'not a host', 42]) {
      const sc = await c.call('execute_code', { language: 'python', code: 'print(1)', network: [bad] });
      assert.equal(sc.status, 'invalid', `${JSON.stringify(bad)}: ${JSON.stringify(sc)}`);
    }
  });

  it('every connection attempt is in the audit line, refusals in the incident stream', () => {
    const lines = readAudit(audit).filter((l) => l.type === 'call' && l.network);
    assert.ok(lines.length >= 5, `${lines.length} call lines with network`);
    const conns = lines.flatMap((l) => l.network.connections);
    const ok = conns.find((x) => x.allowed && x.host === 'egress.test');
    assert.ok(ok && ok.address === '127.0.0.1' && ok.by && Number.isInteger(ok.bytes_in), JSON.stringify(ok));
    const no = conns.find((x) => !x.allowed && x.host === 'other.test');
    assert.ok(no && no.reason, JSON.stringify(no));
  });
});

const l3 = l3Available(['python']);
describe('egress in L3 containers', { skip: !l3.ok && l3.why }, () => {
  const s = serveEgress('egress-l3', 'rules:\n  - {id: code.container_only, match: {code: {languages: [python]}}}\n');
  let servers;
  let c;
  before(() => ({ servers, c } = s));

  defineEgressTests('L3', () => ({ c, servers }), { tier: 'L3', executor: 'container' });
});

// Real installs through the proxy, against the npm registry this machine reaches (through its own
// TLS-intercepting egress, whose CA runs trust from the host's bundle). WARDEN_IT_NETWORK=skip skips them.
const noNet = process.env.WARDEN_IT_NETWORK === 'skip';
describe('installs through the proxy (npm registry)', { skip: noNet && 'WARDEN_IT_NETWORK=skip' }, () => {
  const s = serveEgress('egress-npm',
    l3 ? 'rules:\n  - {id: code.container_only, match: {code: {languages: [javascript]}}}\n' : '', { testServers: false });
  const { dir } = s;
  let c;
  before(() => ({ c } = s));

  async function approved(sc) {
    assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
    const waiting = c.client.callTool({ name: 'request_approval', arguments: { execution_id: sc.execution_id } },
      undefined, { timeout: 240_000 });
    await approveWithCli(dir, sc.execution_id);
    const r = (await waiting).structuredContent;
    assert.equal(r.decision, 'approved', JSON.stringify(r));
    return r.result;
  }

  it('approve `npm install` in L2 and the package is installed into the workspace', async () => {
    const held = await c.call('run_command', { command: 'npm install --no-audit --no-fund --fetch-retries=0 is-number@7.0.0', timeout_ms: 120_000 });
    const preset = held.findings.find((f) => f.rule === 'network.preset');
    assert.ok(preset && /registry\.npmjs\.org/.test(preset.detail), JSON.stringify(held.findings));
    const r = await approved(held);
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.equal(r.tier, 'L2');
    assert.deepEqual(r.network.presets, ['npm']);
    assert.ok(r.network.allowed.some((a) => a.host === 'registry.npmjs.org' && a.bytes_in > 1000), JSON.stringify(r.network));
    const pkg = await c.call('run_command', { command: 'cat node_modules/is-number/package.json' });
    assert.equal(pkg.status, 'ok', JSON.stringify(pkg));
    assert.match(pkg.stdout, /"version": "7\.0\.0"/);
  });

  it('without the npm preset the registry is refused, with the reason and how to ask', async () => {
    const sc = await c.call('execute_code', {
      language: 'python',
      code: 'import urllib.request\ntry:\n    urllib.request.urlopen("https://registry.npmjs.org/is-number", timeout=20)\nexcept Exception as e:\n    print("refused", e)',
    });
    assert.match(sc.stdout, /^refused/);
    const d = denied(sc, 'registry.npmjs.org');
    assert.match(d.reason, /"network": \["npm"\]/);
  });

  it(`Node's fetch over HTTPS to the registry, granted by the call's network input (${l3 ? 'L3' : 'L2'})`, async () => {
    const held = await c.call('execute_code', {
      language: 'javascript',
      network: ['npm'],
      code: "(async () => { const r = await fetch('https://registry.npmjs.org/is-number/7.0.0'); const j = await r.json();\n"
        + 'console.log(r.status, j.name, j.version); })();',
    });
    const r = await approved(held);
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.equal(r.stdout, '200 is-number 7.0.0\n');
  });

  it('approve an `npm install` in an L3 container and the package lands in the workspace', { skip: !l3.ok && l3.why }, async () => {
    const held = await c.call('execute_code', {
      language: 'javascript',
      network: ['npm'],
      timeout_ms: 120_000,
      code: "const { execFileSync } = require('node:child_process');\n"
        + "execFileSync('npm', ['install', '--no-audit', '--no-fund', '--fetch-retries=0', 'is-odd@3.0.1'], { stdio: 'inherit' });\n"
        + "console.log('installed');",
    });
    const r = await approved(held);
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.equal(r.tier, 'L3');
    assert.match(r.stdout, /installed\n$/);
    const pkg = await c.call('run_command', { command: 'cat node_modules/is-odd/package.json' });
    assert.match(pkg.stdout, /"version": "3\.0\.1"/);
  });
});
