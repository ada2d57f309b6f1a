// Docker-only mode through the official TypeScript SDK client over stdio: Warden started as an
// ordinary user in the docker group, with no bubblewrap (sandbox.bwrap names nothing), runs python,
// javascript, bash, commands and the file tools in containers, and says so (tier L3, executor
// container, the finding host.docker_only); the escape cases of the executor contract hold there
// (host files, writes outside the workspace, network, privileges, fork and memory bombs, wall time,
// output cap); kernels are refused saying why; background runs work. A server with neither a
// sandbox nor an engine says in one line what to install and refuses every call saying so.
//
// The test runs as root and makes its user itself (useradd, in the docker group). It needs a Docker
// engine and the warden/* images (tools/install-docker.sh, tools/build-images.sh);
// WARDEN_IT_DOCKER=skip skips it explicitly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

import { checkResult, jarPath, readAudit, sleep, tempDir } from './lib/warden.mjs';

const skip = process.env.WARDEN_IT_DOCKER === 'skip';
const USER = 'warden-dockeronly';

/** The test user (made if missing), in the group of the engine's socket: { uid, gid }. */
function dockerUser() {
  assert.equal(process.getuid(), 0, 'this test runs as root: it makes its user and starts Warden as that user');
  const sock = fs.statSync('/var/run/docker.sock');
  assert.notEqual(sock.gid, 0, 'the engine\'s socket belongs to group root: start dockerd with its own group '
    + '(Debian\'s docker.io makes the group docker, tools/install-docker.sh uses it)');
  const group = execFileSync('getent', ['group', String(sock.gid)], { encoding: 'utf8' }).split(':')[0];
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', USER]);
  }
  execFileSync('usermod', ['-a', '-G', group, USER]);
  const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
  assert.notEqual(uid, 0);
  return { uid, gid };
}

/**
 * Warden as USER (setpriv execs it: the client's child is the server itself), with a home of its
 * own, a copy of the jar it can read and the given config. Returns a connected client with
 * call(), serverLog() and pid.
 */
async function startAsUser(dir, { uid, gid }, yaml, name) {
  const home = path.join(dir, `home-${name}`);
  fs.mkdirSync(home);
  fs.chownSync(home, uid, gid);
  const jar = path.join(dir, 'warden.jar');
  if (!fs.existsSync(jar)) {
    fs.copyFileSync(await jarPath(), jar);
    fs.chmodSync(jar, 0o644);
  }
  const config = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(config, yaml);
  fs.chmodSync(config, 0o644);
  const transport = new StdioClientTransport({
    command: 'setpriv',
    args: [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--inh-caps=-all', '--bounding-set=-all',
      'java', '-jar', jar, '--config', config],
    // no DOCKER_HOST and no proxy settings of the test's own: the default socket, as for a user's shell
    env: { HOME: home, PATH: '/usr/local/bin:/usr/bin:/bin', USER, LANG: 'C.UTF-8' },
    stderr: 'pipe',
    cwd: home,
  });
  const log = [];
  transport.stderr?.on('data', (d) => log.push(d.toString()));
  // a person approves what is held (elicitation): an approved call runs confined like any other
  const client = new Client({ name: `dockeronly-${name}`, version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { decision: 'approve_once' } }));
  await client.connect(transport);
  await client.listTools(); // the SDK then checks every structuredContent against the tool's outputSchema
  return {
    client,
    home,
    pid: transport.pid,
    serverLog: () => log.join(''),
    async call(tool, args, { timeout = 120_000 } = {}) {
      const res = await client.callTool({ name: tool, arguments: args }, undefined, { timeout });
      if (['run_command', 'execute_code', 'get_execution', 'stop_execution'].includes(tool)) {
        return checkResult(res);
      }
      assert.equal(res.isError === true, res.structuredContent.status !== 'ok', JSON.stringify(res.structuredContent));
      return res.structuredContent;
    },
    close: () => client.close(),
  };
}

/** Containers of the server with this pid (its label), running or not. */
function containersOf(pid) {
  return execFileSync('docker', ['ps', '-a', '--format', '{{.Names}}', '--filter', `label=dev.warden.pid=${pid}`],
    { encoding: 'utf8' }).split('\n').filter((l) => l.trim() !== '');
}

async function noContainersOf(pid, withinMs = 20_000) {
  const end = Date.now() + withinMs;
  let left = containersOf(pid);
  while (left.length > 0 && Date.now() < end) {
    await sleep(250);
    left = containersOf(pid);
  }
  return left;
}

/** The result ran in a container, and says so. */
function assertInContainer(sc, stdout) {
  assert.equal(sc.status, 'ok', `expected ok, got ${sc.status}: ${sc.message ?? ''} ${sc.stderr}`);
  assert.equal(sc.exit_code, 0);
  if (stdout !== undefined) assert.equal(sc.stdout, stdout);
  assert.equal(sc.executor, 'container');
  assert.equal(sc.tier, 'L3');
  const f = sc.findings.find((x) => x.rule === 'host.docker_only');
  assert.ok(f, `finding host.docker_only in ${JSON.stringify(sc.findings)}`);
  assert.match(f.detail, /the policy runs this at L[12], and this server has no sandbox \(.*\): it ran in a container \(L3\)/);
}

describe('docker-only mode: an ordinary user in the docker group, no bubblewrap', { skip: skip && 'WARDEN_IT_DOCKER=skip' }, () => {
  const dir = tempDir('dockeronly');
  const secret = `host-secret-${crypto.randomBytes(8).toString('hex')}`;
  const outside = path.join(dir, `outside-${crypto.randomBytes(4).toString('hex')}`);
  let ids;
  let w;

  before(async () => {
    ids = dockerUser();
    w = await startAsUser(dir, ids, 'sandbox:\n  bwrap: /nonexistent/bwrap\n', 'docker');
    // a file of the server's own user, next to its state: a run has the same uid, so only its
    // mount namespace keeps it out
    fs.writeFileSync(path.join(w.home, 'secret.txt'), secret);
    fs.chownSync(path.join(w.home, 'secret.txt'), ids.uid, ids.gid);
    fs.chmodSync(path.join(w.home, 'secret.txt'), 0o600);
  });

  after(async () => {
    await w?.close();
    if (w) {
      assert.deepEqual(await noContainersOf(w.pid), [], 'every container of the server is removed once it stops');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts as that user and says docker-only mode in one line, with no stack trace', async () => {
    const deadline = Date.now() + 30_000;
    while (!/docker-only mode/.test(w.serverLog()) && Date.now() < deadline) await sleep(100);
    const lines = w.serverLog().split('\n').filter((l) => /docker-only mode/.test(l));
    assert.equal(lines.length, 1, w.serverLog());
    assert.match(lines[0], /this server runs as uid \d+.*calls the policy sends to L1 or L2 run in containers \(L3\)/);
    assert.doesNotMatch(w.serverLog(), /\tat |Exception/);
    assert.ok(fs.existsSync(path.join(w.home, '.local', 'state', 'warden', 'instances')), 'state under the user\'s HOME');
    const status = fs.readFileSync(`/proc/${w.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${ids.uid}\\s`, 'm'), 'the server itself is not root');
  });

  it('runs python, javascript and bash in containers, as the server\'s own unprivileged uid, in /workspace', async () => {
    assertInContainer(await w.call('execute_code', { language: 'python', code: 'import os\nprint(os.getuid(), os.getcwd())' }),
      `${ids.uid} /workspace\n`);
    assertInContainer(await w.call('execute_code', { language: 'javascript', code: 'console.log(process.getuid(), 6 * 7)' }),
      `${ids.uid} 42\n`);
    assertInContainer(await w.call('execute_code', { language: 'bash', code: 'echo "$(id -u) $HOME" | tr a-z A-Z' }),
      `${ids.uid} /HOME/SANDBOX\n`);
  });

  it('run_command (an L1 and an L2 command) and the file tools run in containers too, on one workspace', async () => {
    const l1 = await w.call('run_command', { command: 'ls -a' });
    assertInContainer(l1);
    assert.ok(l1.findings.some((f) => f.rule === 'host.docker_only' && /runs this at L1/.test(f.detail)), JSON.stringify(l1.findings));
    assertInContainer(await w.call('execute_code', { language: 'python', code: 'open("note.txt", "w").write("from python")' }));
    assertInContainer(await w.call('run_command', { command: 'cat note.txt | tr a-z A-Z' }), 'FROM PYTHON');
    const wrote = await w.call('write_file', { path: 'dir/w.txt', content: 'written by write_file' });
    assert.equal(wrote.status, 'ok', JSON.stringify(wrote));
    const read = await w.call('read_file', { path: 'note.txt' });
    assert.equal(read.status, 'ok', JSON.stringify(read));
    assert.equal(read.content, 'from python');
    assertInContainer(await w.call('execute_code', { language: 'javascript',
      code: 'console.log(require("fs").readFileSync("dir/w.txt", "utf8"))' }), 'written by write_file\n');
    const audit = readAudit(path.join(w.home, '.local', 'state', 'warden', 'instances', 'stdio-1', 'audit.jsonl'));
    assert.ok(audit.some((l) => l.type === 'call' && l.executor === 'container'), 'the audit says container too');
  });

  it('the server user\'s own files and the host\'s secrets cannot be read', async () => {
    const sc = await w.call('execute_code', { language: 'bash', code: [
      `cat ${path.join(w.home, 'secret.txt')} 2>&1`,
      `ls ${w.home} 2>&1`,
      'cat /etc/shadow 2>&1',
      'grep -c . /etc/passwd',
      'echo done'].join('\n') });
    assert.equal(sc.status, 'ok', sc.message);
    assert.ok(!sc.stdout.includes(secret), sc.stdout);
    assert.match(sc.stdout, /No such file or directory/);
    assert.doesNotMatch(sc.stdout, /root:[^x*!]/, 'no password hash');
    assert.match(sc.stdout, /done\n$/);
  });

  it('writes outside the workspace never reach the host; the root filesystem is read-only', async () => {
    // the paths are put together at run time: the policy holds code that names system directories
    const sc = await w.call('execute_code', { language: 'python', code: [
      'import os',
      `outside = ${JSON.stringify(outside)}`,
      'os.makedirs(os.path.dirname(outside), exist_ok=True)',
      'open(outside, "w").write("escaped")',
      'for d in ("us" + "r", "et" + "c", "bi" + "n"):',
      '    try:',
      '        open("/" + d + "/escaped", "w").write("x"); print(d, "written")',
      '    except OSError as e:',
      '        print(d, "refused", e.strerror)'].join('\n') });
    assert.equal(sc.status, 'ok', sc.message);
    assert.match(sc.stdout, /usr refused Read-only file system/);
    assert.match(sc.stdout, /etc refused Read-only file system/);
    assert.doesNotMatch(sc.stdout, /written/);
    assert.ok(!fs.existsSync(outside), `${outside} appeared on the host`);
    assert.ok(!fs.existsSync('/usr/escaped') && !fs.existsSync('/etc/escaped'));
  });

  it('no network: only loopback, and a listener on the host\'s loopback never sees a connection', async () => {
    let connections = 0;
    const server = net.createServer((s) => { connections++; s.destroy(); });
    await new Promise((r) => server.listen(0, '0.0.0.0', r));
    const { port } = server.address();
    try {
      const sc = await w.call('execute_code', { language: 'python', code: [
        'import os, socket',
        'print(sorted(os.listdir("/sys/class/net")))',
        `for host in ("127.0.0.1", "172.17.0.1", "10.0.2.2"):`,
        '    try:',
        `        socket.create_connection((host, ${port}), timeout=2); print("connected", host)`,
        '    except OSError as e:',
        '        print("refused", host)'].join('\n') });
      assert.equal(sc.status, 'ok', sc.message);
      assert.match(sc.stdout, /^\['lo'\]\n/);
      assert.doesNotMatch(sc.stdout, /connected/);
      assert.equal(connections, 0);
    } finally {
      server.close();
    }
  });

  it('unprivileged: no capabilities, no new privileges, seccomp on, no way to root', async () => {
    const sc = await w.call('execute_code', { language: 'python', code: [
      'import os',
      'print("".join(l for l in open("/proc/self/status") if l.split(":")[0] in ("CapEff", "CapPrm", "NoNewPrivs", "Seccomp")))',
      'try:',
      '    os.setuid(0); print("became root")',
      'except PermissionError:',
      '    print("setuid refused")',
      'print(os.getuid())'].join('\n') });
    assert.equal(sc.status, 'ok', sc.message);
    assert.match(sc.stdout, /setuid refused/);
    assert.match(sc.stdout, /CapEff:\s+0000000000000000/);
    assert.match(sc.stdout, /CapPrm:\s+0000000000000000/);
    assert.match(sc.stdout, /NoNewPrivs:\s+1/);
    assert.match(sc.stdout, /Seccomp:\s+2/);
    assert.match(sc.stdout, new RegExp(`\\n${ids.uid}\\n$`));
  });

  it('a fork bomb is contained and the next run still starts', async () => {
    // the bomb of the executor contract, written so that the policy's scanner lets it run
    const sc = await w.call('execute_code', { language: 'python', code: [
      'import os, time',
      'while True:',
      '    try:',
      '        os.fork()',
      '    except OSError:',
      '        time.sleep(0.01)'].join('\n'), timeout_ms: 8000 });
    assert.notEqual(sc.status, 'ok', JSON.stringify(sc));
    assert.equal(sc.executor, 'container', JSON.stringify(sc));
    assert.ok(sc.limits.pids > 0 && sc.limits.pids <= 512, JSON.stringify(sc.limits));
    assertInContainer(await w.call('run_command', { command: 'echo alive' }), 'alive\n');
  });

  it('a memory bomb is killed at the container\'s memory limit', async () => {
    const sc = await w.call('execute_code', { language: 'python', code: 'b = bytearray(3 * 1024 ** 3)\nprint("allocated")' });
    assert.equal(sc.status, 'killed', JSON.stringify(sc));
    assert.match(sc.message, /memory limit of \d+ MB/);
    assert.equal(sc.stdout, '');
  });

  it('an endless loop stops at the wall limit, and output is capped', async () => {
    const t0 = Date.now();
    const loop = await w.call('execute_code', { language: 'python', code: 'while True:\n    pass', timeout_ms: 3000 });
    assert.equal(loop.status, 'timeout');
    assert.ok(Date.now() - t0 < 15_000, `answered after ${Date.now() - t0} ms`);
    const big = await w.call('execute_code', { language: 'python', code: 'import sys\nsys.stdout.write("x" * (5 * 1024 * 1024))' });
    assert.equal(big.status, 'ok', big.message);
    assert.equal(big.stdout_truncated, true);
    assert.ok(big.stdout.length <= big.limits.output_bytes);
  });

  it('an approved call runs in a container too, and a failed one gets its workspace back', async () => {
    assertInContainer(await w.call('run_command', { command: 'echo before > approved.txt' }));
    const sc = await w.call('run_command', { command: 'echo changed > approved.txt; sudo id' });
    assert.equal(sc.executor, 'container', JSON.stringify(sc));
    assert.equal(sc.tier, 'L3');
    assert.equal(sc.approval?.decision, 'approved', JSON.stringify(sc));
    assert.equal(sc.status, 'failed', JSON.stringify(sc)); // no sudo to be had in a container
    assert.equal(sc.workspace_restored, true, sc.message);
    assertInContainer(await w.call('run_command', { command: 'cat approved.txt' }), 'before\n');
  });

  it('a kernel is refused, saying why', async () => {
    const sc = await w.call('execute_code', { language: 'python', code: 'x = 1', kernel: 'k1' });
    assert.equal(sc.status, 'failed');
    assert.equal(sc.executor, 'none');
    assert.match(sc.message, /kernels live in L2 sandboxes, and this server has none .*docker-only mode/);
  });

  it('a background run works in a container and ends with its output', async () => {
    const started = await w.call('run_command', { command: 'sleep 1; echo background-done', background: true });
    assert.equal(started.status, 'running', JSON.stringify(started));
    assert.equal(started.executor, 'container');
    let r;
    const deadline = Date.now() + 60_000;
    do {
      r = await w.call('get_execution', { execution_id: started.execution_id, wait_ms: 5000 });
    } while (r.status === 'running' && Date.now() < deadline);
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.match(r.stdout, /background-done/);
    assert.equal(r.executor, 'container');
  });

  it('every container of the server is confined by the engine as L3 is', async () => {
    // a run that goes on in the background: its container is there to look at (warm ones may be too)
    const started = await w.call('execute_code', { language: 'python', code: 'import time\ntime.sleep(8)', background: true });
    assert.equal(started.status, 'running', JSON.stringify(started));
    const all = [];
    for (const end = Date.now() + 20_000; all.length === 0 && Date.now() < end; await sleep(250)) {
      const running = execFileSync('docker', ['ps', '--format', '{{.Names}}', '--filter', `label=dev.warden.pid=${w.pid}`],
        { encoding: 'utf8' }).split('\n').filter((l) => l.trim() !== '');
      for (const name of running) {
        try {
          all.push(...JSON.parse(execFileSync('docker', ['inspect', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })));
        } catch {
          // removed meanwhile (a container is removed right after its call)
        }
      }
    }
    assert.ok(all.length > 0, 'some container was inspected');
    await w.call('stop_execution', { execution_id: started.execution_id });
    for (const c of all) {
      const h = c.HostConfig;
      assert.equal(c.Config.User, `${ids.uid}:${ids.gid}`, c.Name);
      assert.equal(h.ReadonlyRootfs, true, c.Name);
      assert.equal(h.NetworkMode, 'none', c.Name);
      assert.deepEqual(h.CapDrop.map((x) => x.toUpperCase()), ['ALL'], c.Name);
      assert.ok(h.SecurityOpt.includes('no-new-privileges'), `${c.Name}: ${h.SecurityOpt}`);
      assert.ok(h.SecurityOpt.some((o) => o.startsWith('seccomp=')), `${c.Name}: seccomp`);
      assert.ok(h.Memory > 0 && h.PidsLimit > 0 && h.NanoCpus > 0, `${c.Name}: limits ${h.Memory} ${h.PidsLimit} ${h.NanoCpus}`);
      assert.equal(h.Privileged, false);
      const writable = c.Mounts.filter((m) => m.RW && m.Type === 'bind').map((m) => m.Destination).sort();
      assert.deepEqual(writable, ['/home/sandbox', '/workspace'], `${c.Name}: writable binds`);
    }
  });
});

describe('neither a sandbox nor a Docker engine', { skip: skip && 'WARDEN_IT_DOCKER=skip' }, () => {
  const dir = tempDir('dockeronly-none');
  let w;

  before(async () => {
    const ids = dockerUser();
    w = await startAsUser(dir, ids, 'sandbox:\n  bwrap: /nonexistent/bwrap\ncontainer:\n  docker_host: unix:///nonexistent/docker.sock\n', 'none');
  });

  after(async () => {
    await w?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts, says in one line what to install, and refuses every call with that reason', async () => {
    for (const [tool, args] of [['run_command', { command: 'echo hi' }],
      ['execute_code', { language: 'python', code: 'print(1)' }],
      ['execute_code', { language: 'javascript', code: 'console.log(1)' }]]) {
      const sc = await w.call(tool, args);
      assert.equal(sc.status, 'failed');
      assert.equal(sc.executor, 'none');
      assert.match(sc.message, /^It did not run: Warden has nothing to run calls in: Warden's sandbox needs root: this server runs as uid \d+.*no Docker engine is reachable at unix:\/\/\/nonexistent\/docker\.sock.*Install one: bubblewrap .*or a Docker engine/);
    }
    const said = w.serverLog().split('\n').filter((l) => /nothing to run calls in/.test(l));
    assert.equal(said.length, 1, w.serverLog());
    assert.match(said[0], /tools\/install-sandbox\.sh.*Docker Desktop.*tools\/build-images\.sh/);
    assert.doesNotMatch(w.serverLog(), /\tat |Exception|docker-only mode|workspace quota/);
  });
});
