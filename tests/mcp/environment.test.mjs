// Warden's own sandbox environment through the official TypeScript SDK client over stdio: what a run
// finds (python3 with numpy, pandas, matplotlib, pytest, requests; node and npm; git, curl, make, gcc)
// comes from the image warden/env, in L2 (its filesystem exported to /var/cache/warden/env/current and
// bound in place of the host's /usr) and in L3 (the python image is built FROM it), the same files at
// the same paths, with `localhost` resolving in both. Needs `tools/build-images.sh` (it builds the
// image and exports it); WARDEN_IT_DOCKER=skip skips the L3 part.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { assertOk, stdioClient, tempDir, workspaceDirs } from './lib/warden.mjs';
import { l3Available } from './lib/faults.mjs';

const ENV = '/var/cache/warden/env/current';
const noEnv = !fs.existsSync(path.join(ENV, 'usr/bin/python3')) && `no environment at ${ENV} (tools/build-images.sh env)`;

const IMPORTS = 'import numpy, pandas, matplotlib, pytest, requests, sys\n'
  + 'print(numpy.__version__, pandas.__version__, matplotlib.__version__, pytest.__version__, requests.__version__)\n'
  + 'print(matplotlib.get_backend(), numpy.__file__)\n';

// What both tiers must agree on: the interpreter's and the CA bundle's bytes, the libraries' versions,
// the OS release, and what localhost and the sandbox's host name resolve to.
const SAME = 'import hashlib, socket, numpy, pandas, matplotlib\n'
  + 'h = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]\n'
  + 'print(h("/usr/bin/python3.11"), h("/etc/ssl/certs/ca-certificates.crt"), h("/usr/lib/x86_64-linux-gnu/libopenblas.so.0"))\n'
  + 'print(numpy.__version__, pandas.__version__, matplotlib.__version__)\n'
  + 'print(open("/etc/os-release").read().splitlines()[0])\n'
  + 'print(socket.gethostbyname("localhost"), socket.gethostbyname("sandbox"), socket.getaddrinfo("localhost", 80)[0][4][0] in ("127.0.0.1", "::1"))\n';

function server(name, yaml) {
  const dir = tempDir(name);
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  let config;
  if (yaml) {
    config = path.join(dir, 'warden.yaml');
    fs.writeFileSync(config, yaml(dir));
  }
  return { dir, workspace, config, audit: path.join(dir, 'audit.jsonl') };
}

let fromL2 = null;

describe("Warden's environment in the L2 sandbox", { skip: noEnv }, () => {
  const s = server('env-l2');
  let a;

  before(async () => {
    a = await stdioClient({ audit: s.audit, workspace: s.workspace, config: s.config, name: 'env-l2' });
  });

  after(async () => {
    await a?.close();
    fs.rmSync(s.dir, { recursive: true, force: true });
  });

  it('the server says which system tree L2 runs see', async () => {
    await a.call('execute_code', { language: 'python', code: 'print(1)' });
    assert.match(a.serverLog(), /L2 runs see Warden's environment \/var\/cache\/warden\/env\/current/, a.serverLog());
  });

  it('imports numpy, pandas, matplotlib, pytest and requests (Debian\'s, headless)', async () => {
    const sc = await a.call('execute_code', { language: 'python', code: IMPORTS });
    assertOk(sc, undefined, { tier: 'L2', executor: 'sandbox' });
    const [versions, where] = sc.stdout.trim().split('\n');
    assert.equal(versions.split(' ').length, 5, sc.stdout);
    assert.equal(where, 'agg /usr/lib/python3/dist-packages/numpy/__init__.py');
  });

  it('matplotlib saves a PNG into the workspace', async () => {
    const sc = await a.call('execute_code', {
      language: 'python',
      code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title("warden")\n'
        + 'plt.savefig("plot.png", dpi=50)\nprint(open("plot.png", "rb").read(8) == b"\\x89PNG\\r\\n\\x1a\\n")\n',
    });
    assertOk(sc, 'True\n', { tier: 'L2' });
    const [ws] = workspaceDirs(s.workspace);
    const png = fs.readFileSync(path.join(s.workspace, ws, 'plot.png'));
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assert.ok(png.length > 1000, `${png.length} bytes`);
  });

  it('pytest runs a test file', async () => {
    const sc = await a.call('execute_code', {
      language: 'python',
      code: 'import subprocess, sys\nr = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_x.py"],'
        + ' capture_output=True, text=True)\nprint(r.returncode, r.stdout.strip().splitlines()[-1])\n',
      files: { 'test_x.py': 'def test_one():\n    assert 1 + 1 == 2\n' },
    });
    assertOk(sc, undefined, { tier: 'L2' });
    assert.match(sc.stdout, /^0 1 passed/, sc.stdout);
  });

  it('node, npm, git, curl, make and a C compiler are there', async () => {
    // (curl by its path: the policy holds a command that names a network tool for a person)
    const sc = await a.call('run_command', {
      command: 'node --version && npm --version && git --version && test -x /usr/bin/curl && make --version | head -n 1'
        + ' && printf "int main(void){return 7;}" > t.c && gcc -o /tmp/t t.c && { /tmp/t; echo "exit $?"; }',
    });
    assertOk(sc, undefined, { tier: 'L2' });
    assert.match(sc.stdout, /^v18\.[\s\S]*\n10\.[\s\S]*git version [\s\S]*GNU Make [\s\S]*exit 7\n$/, sc.stdout);
  });

  it('localhost resolves, and the run sees the same files as the L3 image', async () => {
    const sc = await a.call('execute_code', { language: 'python', code: SAME });
    assertOk(sc, undefined, { tier: 'L2' });
    assert.match(sc.stdout, /\n127\.0\.0\.1 127\.0\.0\.1 True\n$/);
    assert.match(sc.stdout, /Debian GNU\/Linux 12/);
    fromL2 = sc.stdout;
  });
});

const l3 = process.env.WARDEN_IT_DOCKER === 'skip' ? { ok: false, why: 'WARDEN_IT_DOCKER=skip' } : l3Available(['python', 'bash']);
describe("Warden's environment in L3 containers", { skip: noEnv || (!l3.ok && l3.why) }, () => {
  // the policy routes python to its container
  const s = server('env-l3', (dir) => {
    const policy = path.join(dir, 'policy.yaml');
    fs.writeFileSync(policy, 'rules:\n  - {id: code.container_only, match: {code: {languages: [python]}}}\n');
    return `policy:\n  file: "${policy}"\n`;
  });
  let a;

  before(async () => {
    a = await stdioClient({ audit: s.audit, workspace: s.workspace, config: s.config, name: 'env-l3' });
  });

  after(async () => {
    await a?.close();
    fs.rmSync(s.dir, { recursive: true, force: true });
  });

  it('imports numpy, pandas, matplotlib, pytest and requests in the python container', async () => {
    const sc = await a.call('execute_code', { language: 'python', code: IMPORTS }, { timeout: 120_000 });
    assertOk(sc, undefined, { tier: 'L3', executor: 'container' });
    assert.equal(sc.stdout.trim().split('\n')[1], 'agg /usr/lib/python3/dist-packages/numpy/__init__.py');
  });

  it('localhost resolves, and the container sees the same files as L2', async () => {
    const sc = await a.call('execute_code', { language: 'python', code: SAME }, { timeout: 120_000 });
    assertOk(sc, undefined, { tier: 'L3', executor: 'container' });
    assert.match(sc.stdout, /\n127\.0\.0\.1 127\.0\.0\.1 True\n$/);
    if (fromL2 !== null) assert.equal(sc.stdout, fromL2, 'L2 and L3 differ');
  });
});

describe("the host's /usr, on request or when the environment is missing", () => {
  for (const [what, yaml, log] of [
    ['sandbox.environment: host', 'sandbox:\n  environment: host\n', /L2 runs see the host's \/usr/],
    ['no environment at environment_dir', 'sandbox:\n  environment_dir: /nonexistent/warden-env\n',
      /sandbox\.environment is warden, but there is no environment at \/nonexistent\/warden-env .*L2 runs see the host's \/usr instead[\s\S]*L2 runs see the host's \/usr/],
  ]) {
    it(`${what}: the server says so and L2 runs on the host's system tree`, async () => {
      const s = server('env-host', () => yaml);
      const a = await stdioClient({ audit: s.audit, workspace: s.workspace, config: s.config, name: 'env-host' });
      try {
        const sc = await a.call('execute_code', { language: 'python', code: 'import sys; print(sys.executable)' });
        assertOk(sc, '/usr/bin/python3\n', { tier: 'L2', executor: 'sandbox' });
        const host = fs.readFileSync('/etc/os-release', 'utf8').split('\n')[0];
        const r = await a.call('run_command', { command: 'head -n 1 /etc/os-release' });
        // the sandbox has no /etc/os-release of the host's: only the environment's tree brings one
        assert.notEqual(r.stdout, `${host}\n`);
        assert.match(a.serverLog(), log, a.serverLog());
      } finally {
        await a.close();
        fs.rmSync(s.dir, { recursive: true, force: true });
      }
    });
  }

  it('an unknown sandbox.environment is refused at start', async () => {
    const s = server('env-bad', () => 'sandbox:\n  environment: debian\n');
    try {
      await assert.rejects(stdioClient({ audit: s.audit, workspace: s.workspace, config: s.config, name: 'env-bad' }));
    } finally {
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  });
});
