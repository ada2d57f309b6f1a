// Warm interpreters (sandbox.warm_interpreters) through the official TypeScript SDK client over stdio.
// After a stateless execute_code call in python or javascript, the session's next sandbox has that
// interpreter already started, waiting for code. A warm call must see exactly what a cold one sees:
// a probe prints its environment, ids, rlimits, umask, directory, workspace, seccomp and capability
// state, cgroup, argv and globals, stdin and open fds, once warm and once cold (a call with `files`
// always starts cold), and the two are compared field by field; the audit line's sandbox_start says
// which way each ran. And a warm call sees nothing of the call before it: no variable, no file in
// /tmp, no process. Both system trees: Warden's environment (when exported) and the host's /usr.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { readAudit, sleep, stdioClient, tempDir } from './lib/warden.mjs';

const ENV = '/var/cache/warden/env/current';
const haveEnv = fs.existsSync(path.join(ENV, 'usr/bin/python3'));

const PY_PROBE = `
import json, os, sys, resource
g = sorted(globals())
status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)
def read(p):
    try:
        return open(p).read()
    except OSError as e:
        return "unreadable: " + e.strerror
um = os.umask(0); os.umask(um)
print(json.dumps({
    "env": dict(os.environ),
    "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), sorted(os.getgroups())],
    "pid": [os.getpid(), os.getppid()],
    "rlimits": {n: resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n.startswith("RLIMIT_")},
    "limits": read("/proc/self/limits"),
    "umask": um,
    "cwd": os.getcwd(),
    "workspace": sorted(os.listdir(".")),
    "status": {k: status.get(k) for k in ["Seccomp", "Seccomp_filters", "NoNewPrivs", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]},
    "cgroup": read("/proc/self/cgroup"),
    "memory_limit": read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
    "pids_max": read("/sys/fs/cgroup/pids/pids.max"),
    "mounts": read("/proc/self/mountinfo").count("\\n"),
    "argv": sys.argv, "orig_argv": sys.orig_argv, "name": __name__, "file": "__file__" in g, "globals": g,
    "main": sys.modules["__main__"].__dict__ is globals(),
    "path": sys.path, "flags": list(sys.flags), "modules": sorted(sys.modules),
    "fds": sorted(os.listdir("/proc/self/fd")),
    "stdin": sys.stdin.read(),
}))
`;

const JS_PROBE = `
const fs = require('fs');
const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch (e) { return 'unreadable: ' + e.code; } };
const status = Object.fromEntries(read('/proc/self/status').split('\\n').filter((l) => l.includes(':\\t')).map((l) => l.split(':\\t')));
console.log(JSON.stringify({
  env: process.env,
  ids: [process.getuid(), process.geteuid(), process.getgid(), process.getegid(), process.getgroups().sort()],
  pid: [process.pid, process.ppid],
  limits: read('/proc/self/limits'),
  umask: process.umask(),
  cwd: process.cwd(),
  workspace: fs.readdirSync('.').sort(),
  status: Object.fromEntries(['Seccomp', 'Seccomp_filters', 'NoNewPrivs', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].map((k) => [k, status[k]])),
  cgroup: read('/proc/self/cgroup'),
  memory_limit: read('/sys/fs/cgroup/memory/memory.limit_in_bytes'),
  pids_max: read('/sys/fs/cgroup/pids/pids.max'),
  argv: process.argv, execArgv: process.execArgv,
  types: [typeof require, typeof module, typeof exports, typeof __filename, typeof __dirname],
  filename: __filename, dirname: __dirname, moduleId: module.id, moduleFile: module.filename,
  globals: Object.keys(globalThis).sort(),
  stdin: fs.readFileSync(0, 'utf8'),
}));
`;

const STDIN = 'first line\nsecond line, no newline at the end';

function startOf(auditFile, id) {
  const line = readAudit(auditFile).find((l) => l.execution_id === id);
  assert.ok(line, `no audit line for ${id}`);
  return line.sandbox_start;
}

for (const environment of ['warden', 'host']) {
  describe(`warm interpreters, L2 on ${environment === 'warden' ? "Warden's environment" : "the host's /usr"}`, {
    skip: environment === 'warden' && !haveEnv && `no environment at ${ENV}`,
  }, () => {
    const dir = tempDir(`warm-${environment}`);
    const workspace = path.join(dir, 'ws');
    const audit = path.join(dir, 'audit.jsonl');
    const config = path.join(dir, 'warden.yaml');
    let a;

    before(async () => {
      fs.mkdirSync(workspace);
      fs.writeFileSync(config, `sandbox:\n  environment: ${environment}\n`);
      a = await stdioClient({ audit, workspace, config, name: `warm-${environment}` });
    });

    after(async () => {
      await a?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /**
     * One call, warm (its interpreter already started: sandbox_start warm_interpreter) or cold (the stub
     * starts the interpreter: cold, or warm_sandbox when a pre-created plain stub served it). A warm one
     * may have to wait for the session's next sandbox to be made (in the background, after the call
     * before): tried a few times.
     */
    async function run(language, code, warm, extra = {}) {
      for (let attempt = 0; ; attempt++) {
        await sleep(warm ? 1500 : 0);
        const sc = await a.call('execute_code', { language, code, ...extra });
        const start = startOf(audit, sc.execution_id);
        if ((start === 'warm_interpreter') === warm || attempt >= 4 || !warm) {
          if (warm) {
            assert.equal(start, 'warm_interpreter', `sandbox_start of ${language} ${JSON.stringify(extra)}`);
          } else {
            assert.ok(['cold', 'warm_sandbox'].includes(start), `sandbox_start ${start} of a call with files`);
          }
          return sc;
        }
      }
    }

    for (const [language, probe] of [['python', PY_PROBE], ['javascript', JS_PROBE]]) {
      it(`${language}: a warm call sees exactly what a cold one sees`, async () => {
        // the session's first call in the language shapes its next sandbox (its own start may be any)
        await a.call('execute_code', { language, code: language === 'python' ? 'pass' : '0' });
        // cold: a call with files never runs in an interpreter started before them
        const coldSc = await run(language, probe, false, { stdin: STDIN, files: { 'marker.txt': 'x' } });
        assert.equal(coldSc.status, 'ok', coldSc.stderr);
        const warmSc = await run(language, probe, true, { stdin: STDIN });
        assert.equal(warmSc.status, 'ok', warmSc.stderr);
        assert.equal(warmSc.stderr, coldSc.stderr);
        // each slot's egress relay listens on a port of its own (28000 + slot): the proxy variables name it,
        // whichever way the sandbox started, and the two calls ran in different slots
        const slotless = (out) => JSON.parse(out.replace(/127\.0\.0\.1:28\d\d\d/g, '127.0.0.1:RELAY'));
        const cold = slotless(coldSc.stdout);
        const warm = slotless(warmSc.stdout);
        assert.equal(cold.stdin, STDIN);
        assert.ok(cold.workspace.includes('marker.txt'));
        for (const field of Object.keys(cold)) {
          assert.deepEqual(warm[field], cold[field], `${language} ${field}`);
        }
        assert.deepEqual(Object.keys(warm).sort(), Object.keys(cold).sort());
        if (language === 'python') {
          assert.deepEqual(warm.argv, ['-c']);
          assert.equal(warm.name, '__main__');
          assert.equal(warm.file, false);
          assert.equal(warm.orig_argv.at(-1), PY_PROBE, 'sys.orig_argv names the code, as with python3 -c');
          assert.equal(warm.status.NoNewPrivs, '1');
          assert.equal(warm.status.Seccomp, '2');
        } else {
          assert.deepEqual(warm.types, ['function', 'object', 'object', 'string', 'string']);
          assert.equal(warm.filename, '[eval]');
          assert.equal(warm.execArgv.at(-1), JS_PROBE);
        }
      });

      it(`${language}: errors and exit codes as a cold run's`, async () => {
        const cases = language === 'python'
          ? ['import sys\nsys.exit(3)', 'def f():\n    raise ValueError("v")\nf()', 'print(', 'raise SystemExit("bye")',
            'import sys\nprint(sys.stdin.readline().strip())\nsys.stdout.flush()\nx = 1/0']
          : ['process.exit(4)', 'function f() { throw new Error("e") }\nf()', 'syntax error here',
            'process.stdout.write(require("fs").readFileSync(0, "utf8").split("\\n")[0]); process.exitCode = 2'];
        for (const code of cases) {
          const cold = await run(language, code, false, { stdin: STDIN, files: { 'marker.txt': 'x' } });
          const warm = await run(language, code, true, { stdin: STDIN });
          assert.equal(warm.exit_code, cold.exit_code, code);
          assert.equal(warm.status, cold.status, code);
          assert.equal(warm.stdout, cold.stdout, code);
          if (language === 'python') {
            assert.equal(warm.stderr, cold.stderr, code); // File "<string>", line N: no frame of the loader
          } else {
            // the message and its source line are node's own; the stack below the code has the loader's frames
            const head = (s) => s.split('\n    at ')[0];
            assert.equal(head(warm.stderr), head(cold.stderr), code);
          }
        }
      });

      it(`${language}: a warm call sees nothing of the call before it`, async () => {
        const leave = language === 'python'
          ? 'import subprocess\nsecret = 42\nopen("/tmp/left", "w").write("x")\n'
            + 'subprocess.Popen(["sleep", "1000"], start_new_session=True)\nprint("left")'
          : 'globalThis.secret = 42; require("fs").writeFileSync("/tmp/left", "x");\n'
            + 'require("child_process").spawn("sleep", ["1000"], { detached: true, stdio: "ignore" }).unref(); console.log("left")';
        const look = language === 'python'
          ? 'import os, json\nprint(json.dumps(["secret" in globals(), os.path.exists("/tmp/left"), '
            + 'sorted(open("/proc/%s/comm" % p).read().strip() for p in os.listdir("/proc") if p.isdigit())]))'
          : 'const fs = require("fs"); console.log(JSON.stringify([typeof secret !== "undefined", fs.existsSync("/tmp/left"), '
            + 'fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).map((p) => { try { return fs.readFileSync(`/proc/${p}/comm`, "utf8").trim(); } catch { return "gone"; } }).sort()]))';
        const first = await run(language, leave, true);
        assert.equal(first.stdout, 'left\n');
        const second = await run(language, look, true);
        const [hasVar, hasFile, processes] = JSON.parse(second.stdout);
        assert.equal(hasVar, false, 'the variable of the call before');
        assert.equal(hasFile, false, 'the file the call before left in /tmp');
        assert.ok(!processes.includes('sleep'), `a process of the call before: ${processes}`);
      });
    }

    it('javascript that imports dynamically starts cold and imports', async () => {
      await run('javascript', '0', true);
      const sc = await a.call('execute_code', { language: 'javascript', code: 'import("node:os").then((m) => console.log(typeof m.cpus))' });
      assert.equal(sc.stdout, 'function\n', sc.stderr);
      assert.notEqual(startOf(audit, sc.execution_id), 'warm_interpreter');
    });

    it('an interpreter started before another run of the session is not used: a package installed meanwhile imports', async () => {
      // python reads its user site-packages ($HOME/.local, PYTHONUSERBASE) when it starts: a warm interpreter
      // started before the install would not have it on sys.path
      await run('python', 'pass', true);
      const where = await a.call('execute_code', { language: 'python', code: 'import site; print(site.getusersitepackages())' });
      const site = where.stdout.trim();
      await sleep(1500); // the next python interpreter is started, waiting
      const install = await a.call('run_command', {
        command: `mkdir -p ${site} && echo 'NAME = "installed"' > ${site}/wardenprobe.py`,
      });
      assert.equal(install.status, 'ok', install.stderr);
      const sc = await a.call('execute_code', { language: 'python', code: 'import wardenprobe; print(wardenprobe.NAME)' });
      assert.equal(sc.stdout, 'installed\n', sc.stderr);
      assert.notEqual(startOf(audit, sc.execution_id), 'warm_interpreter');
      const again = await run('python', 'import wardenprobe; print(wardenprobe.NAME)', true);
      assert.equal(again.stdout, 'installed\n', again.stderr);
    });

    it('while the session has a live kernel, no stateless call runs in a warm interpreter', async () => {
      // a kernel's cells may change the workspace at any time (pip install, say): an interpreter started
      // before a cell would not have read what a cold start reads
      await run('python', 'pass', true);
      const cell = await a.call('execute_code', { language: 'python', code: 'x = 1', kernel: 'k' });
      assert.equal(cell.status, 'ok', cell.stderr);
      const starts = [];
      for (let i = 0; i < 3; i++) {
        await sleep(1500);
        const sc = await a.call('execute_code', { language: 'python', code: 'print(2)' });
        assert.equal(sc.stdout, '2\n');
        starts.push(startOf(audit, sc.execution_id));
      }
      assert.ok(!starts.includes('warm_interpreter'), starts.join());
    });

    it('a command after warm interpreters still gets a sandbox, and then the session goes back to stubs', async () => {
      const sc = await a.call('run_command', { command: 'echo hi > /dev/null; id -u' });
      assert.equal(sc.status, 'ok', sc.stderr);
      assert.ok(['cold', 'warm_sandbox', undefined].includes(startOf(audit, sc.execution_id)));
    });
  });
}

describe('sandbox.warm_interpreters: false', () => {
  const dir = tempDir('warm-off');
  const workspace = path.join(dir, 'ws');
  const audit = path.join(dir, 'audit.jsonl');
  const config = path.join(dir, 'warden.yaml');
  let a;

  before(async () => {
    fs.mkdirSync(workspace);
    fs.writeFileSync(config, 'sandbox:\n  warm_interpreters: false\n');
    a = await stdioClient({ audit, workspace, config, name: 'warm-off' });
  });

  after(async () => {
    await a?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('no call runs in a warm interpreter; pre-created sandboxes still serve them', async () => {
    const starts = [];
    for (let i = 0; i < 4; i++) {
      await sleep(1000);
      const sc = await a.call('execute_code', { language: 'python', code: 'print(1)' });
      assert.equal(sc.stdout, '1\n');
      starts.push(startOf(audit, sc.execution_id));
    }
    assert.ok(!starts.includes('warm_interpreter'), starts.join());
    assert.ok(starts.includes('warm_sandbox'), starts.join());
  });
});
