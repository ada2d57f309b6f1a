// Kernels through the official TypeScript SDK client (its output schemas checked), over stdio and
// Streamable HTTP: `x = 41` then `print(x + 1)` in one kernel prints 42; another kernel name and another
// session do not see x; restart_kernel clears it; javascript (top-level await) and bash (variables,
// functions, directory) kernels keep their state; an infinite loop is interrupted at its timeout and the
// kernel keeps its state (as after its CPU time); a memory bomb ends the kernel with status killed naming the limit and
// kernel.restarted; a fork bomb is killed at the process limit and the next kernel starts processes; a matplotlib figure comes back as a
// valid PNG image content listed in outputs; the files a cell writes are its artifacts; bad asks are
// invalid, caps are rate_limited; 80 concurrent cells are all answered and audited; the audit line names
// the kernel; an idle kernel ends.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { checkResult, httpClient, readAudit, serverDirs, startHttpServer, stdioClient } from './lib/warden.mjs';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** execute_code through the SDK client: the whole MCP result and its checked structuredContent. */
async function code(c, args) {
  const res = await c.client.callTool({ name: 'execute_code', arguments: args });
  return { res, sc: checkResult(res) };
}

/** A cell of a kernel that must come back ok; its result. */
async function cell(c, kernel, language, source, more = {}) {
  const { res, sc } = await code(c, { language, code: source, kernel, ...more });
  assert.equal(sc.status, 'ok', `${source}: ${JSON.stringify(sc).slice(0, 600)}`);
  assert.equal(sc.kernel.name, kernel);
  assert.equal(sc.kernel.language, language);
  assert.equal(sc.tier, 'L2');
  assert.equal(sc.executor, 'sandbox');
  return { res, sc };
}

/** The cases every transport runs: state in one kernel, and none of it anywhere else. */
function stateSuite(clients) {
  it('x = 41 then print(x + 1) prints 42, the cells counted', async () => {
    const [a] = clients();
    const first = await cell(a, 'main', 'python', 'x = 41');
    assert.deepEqual(first.sc.kernel, { name: 'main', language: 'python', execution_count: 1, restarted: false });
    const second = await cell(a, 'main', 'python', 'print(x + 1)');
    assert.equal(second.sc.stdout, '42\n');
    assert.equal(second.sc.kernel.execution_count, 2);
    // notebook semantics: the value of a last expression is shown
    assert.equal((await cell(a, 'main', 'python', 'x * 2')).sc.stdout, '82\n');
  });

  it('another kernel name and another session do not see x', async () => {
    const [a, b] = clients();
    await cell(a, 'main', 'python', 'x = 41');
    const other = await code(a, { language: 'python', code: 'print(x)', kernel: 'other' });
    assert.equal(other.sc.status, 'failed');
    assert.match(other.sc.stderr, /NameError: name 'x' is not defined/);
    const session = await code(b, { language: 'python', code: 'print(x)', kernel: 'main' });
    assert.equal(session.sc.status, 'failed');
    assert.match(session.sc.stderr, /NameError/);
    assert.equal(session.sc.kernel.execution_count, 1, 'a kernel of its own');
    // a one-off run is no kernel at all
    const plain = await code(a, { language: 'python', code: 'print(x)' });
    assert.equal(plain.sc.status, 'failed');
    assert.equal(plain.sc.kernel, undefined);
  });

  it('restart_kernel clears it', async () => {
    const [a] = clients();
    await cell(a, 'fresh', 'python', 'y = 1');
    const r = await code(a, { language: 'python', code: 'print(y)', kernel: 'fresh', restart_kernel: true });
    assert.equal(r.sc.status, 'failed');
    assert.match(r.sc.stderr, /NameError/);
    assert.deepEqual(r.sc.kernel, { name: 'fresh', language: 'python', execution_count: 1, restarted: true });
  });
}

describe('kernels over stdio', () => {
  let a;
  let b;
  let audit;
  before(async () => {
    // a: more kernels than a session's default most (4), and 3 s of CPU time a cell
    const dirs = serverDirs('kernels', 'limits:\n  max_kernels_per_session: 12\n  max_kernels: 16\n  cpu_ms: 3000\n');
    audit = dirs.audit;
    [a, b] = await Promise.all([stdioClient({ audit, config: dirs.config }), stdioClient()]);
    await Promise.all([a.listTools(), b.listTools()]); // the client then checks structuredContent
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  stateSuite(() => [a, b]);

  it('javascript keeps its declarations and awaits at top level', async () => {
    await cell(a, 'js', 'javascript', 'let n = 20; const twice = (v) => v * 2;');
    const r = await cell(a, 'js', 'javascript', 'await new Promise((r) => setTimeout(() => r(twice(n) + 2), 10))');
    assert.equal(r.sc.stdout, '42\n');
    const thrown = await code(a, { language: 'javascript', code: 'throw new Error("boom")', kernel: 'js' });
    assert.equal(thrown.sc.status, 'failed');
    assert.match(thrown.sc.stderr, /Error: boom/);
    assert.equal((await cell(a, 'js', 'javascript', 'console.log(n)')).sc.stdout, '20\n', 'an exception keeps the state');
  });

  it('bash keeps its variables, functions and directory', async () => {
    await cell(a, 'sh', 'bash', 'v=42; greet() { echo "hi $1"; }; mkdir -p sub && cd sub');
    const r = await cell(a, 'sh', 'bash', 'echo $v; greet there; pwd');
    assert.equal(r.sc.stdout, '42\nhi there\n/workspace/sub\n');
    const failed = await code(a, { language: 'bash', code: 'false', kernel: 'sh' });
    assert.equal(failed.sc.status, 'failed');
    assert.equal(failed.sc.exit_code, 1);
    const stdin = await cell(a, 'sh', 'bash', 'tr a-z A-Z', { stdin: 'from stdin\n' });
    assert.equal(stdin.sc.stdout, 'FROM STDIN\n');
  });

  it('an infinite loop is interrupted at its timeout, and the kernel keeps its state', async () => {
    await cell(a, 'loop', 'python', 'kept = 7');
    const t0 = Date.now();
    const r = await code(a, { language: 'python', code: 'while True:\n    pass', kernel: 'loop', timeout_ms: 1500 });
    assert.equal(r.sc.status, 'timeout');
    assert.ok(Date.now() - t0 < 10_000, `answered after ${Date.now() - t0} ms`);
    assert.match(r.sc.stderr, /KeyboardInterrupt/);
    assert.equal(r.sc.kernel.restarted, false);
    const next = await cell(a, 'loop', 'python', 'print(kept * 6)');
    assert.equal(next.sc.stdout, '42\n');
    // javascript's synchronous loop too
    await cell(a, 'jsloop', 'javascript', 'var k = 5');
    const js = await code(a, { language: 'javascript', code: 'while (true) {}', kernel: 'jsloop', timeout_ms: 1500 });
    assert.equal(js.sc.status, 'timeout');
    assert.equal((await cell(a, 'jsloop', 'javascript', 'k + 1')).sc.stdout, '6\n');
  });

  it('a cell past its CPU time is stopped, and the kernel keeps its state', async () => {
    await cell(a, 'cpu', 'python', 'kept = 5');
    const t0 = Date.now();
    const r = await code(a, { language: 'python', code: 'while True:\n    pass', kernel: 'cpu', timeout_ms: 30_000 });
    assert.equal(r.sc.status, 'killed', JSON.stringify(r.sc).slice(0, 600));
    assert.match(r.sc.message, /CPU time limit of 3000 ms/);
    assert.ok(Date.now() - t0 < 15_000, `stopped after ${Date.now() - t0} ms, its timeout being 30 s`);
    assert.equal(r.sc.kernel.restarted, false);
    assert.equal((await cell(a, 'cpu', 'python', 'kept + 1')).sc.stdout, '6\n');
  });

  it('a memory bomb ends the kernel: killed, naming the limit, restarted', async () => {
    await cell(b, 'mem', 'python', 'before = 1');
    const r = await code(b, { language: 'python', code: 'hog = bytearray(4 * 1024 ** 3)', kernel: 'mem' });
    assert.equal(r.sc.status, 'killed', JSON.stringify(r.sc));
    assert.match(r.sc.message, /memory limit of \d+ MB/);
    assert.equal(r.sc.kernel.restarted, true);
    const next = await code(b, { language: 'python', code: 'print(before)', kernel: 'mem' });
    assert.equal(next.sc.status, 'failed', 'a new kernel: its state is gone');
    assert.equal(next.sc.kernel.execution_count, 1);
    assert.equal((await cell(b, 'mem', 'python', 'print(6 * 7)')).sc.stdout, '42\n');
  });

  it('a fork bomb is contained: killed at the process limit, and the next kernel starts processes', async () => {
    const t0 = Date.now();
    // not the textbook bomb, which the policy blocks before it runs: processes started without end
    const src = 'import os, time\nkids = 0\nwhile True:\n    try:\n        if os.fork() == 0:\n            time.sleep(60)\n'
      + '            os._exit(0)\n        kids += 1\n    except OSError:\n        time.sleep(0.01)';
    const r = await code(b, { language: 'python', code: src, kernel: 'bomb', timeout_ms: 4000 });
    assert.equal(r.sc.status, 'killed', JSON.stringify(r.sc).slice(0, 800));
    assert.match(r.sc.message, /limit of \d+ processes/);
    assert.equal(r.sc.kernel.restarted, true);
    assert.ok(Date.now() - t0 < 20_000, `answered after ${Date.now() - t0} ms`);
    const next = await cell(b, 'bomb', 'python', 'import subprocess\nprint(subprocess.run(["echo", "forks"], '
      + 'capture_output=True, text=True).stdout)');
    assert.equal(next.sc.stdout, 'forks\n\n');
  });

  it('a matplotlib figure comes back as PNG image content, listed in outputs', async () => {
    const src = 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [3, 1, 2])\nplt.title("t")\nplt.show()';
    const { res, sc } = await cell(a, 'plots', 'python', src);
    const images = res.content.filter((c) => c.type === 'image');
    assert.equal(images.length, 1, JSON.stringify(res.content.map((c) => c.type)));
    assert.equal(images[0].mimeType, 'image/png');
    const png = Buffer.from(images[0].data, 'base64');
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
    assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
    assert.ok(png.readUInt32BE(16) > 100 && png.readUInt32BE(20) > 100, 'a real figure, not a pixel');
    assert.deepEqual(sc.outputs, [{ type: 'image', mime: 'image/png', bytes: png.length }]);
    // a figure left open at the end of a cell comes back too; none when nothing was drawn
    const open = await cell(a, 'plots', 'python', 'plt.figure()\nplt.bar([1, 2], [2, 1])');
    assert.equal(open.res.content.filter((c) => c.type === 'image').length, 1);
    const none = await cell(a, 'plots', 'python', 'print(len(plt.get_fignums()))');
    assert.equal(none.sc.stdout, '0\n');
    assert.equal(none.sc.outputs, undefined);
  });

  it('files a cell writes are its artifacts, and an image file comes back with its path in outputs', async () => {
    const src = ['import os, shutil', 'os.makedirs("out", exist_ok=True)', 'open("out/table.csv", "w").write("a,b\\n1,2\\n")',
      'plt.figure()', 'plt.plot([0, 1])', 'plt.savefig("out/line.png")', 'plt.close("all")'].join('\n');
    await cell(a, 'files', 'python', 'import matplotlib.pyplot as plt');
    const { res, sc } = await cell(a, 'files', 'python', src);
    assert.deepEqual(sc.artifacts.map((f) => f.path), ['out/line.png', 'out/table.csv']);
    assert.equal(sc.artifacts_truncated, false);
    assert.deepEqual(sc.outputs.map((o) => [o.type, o.mime, o.path]), [['image', 'image/png', 'out/line.png']]);
    const png = Buffer.from(res.content.find((c) => c.type === 'image').data, 'base64');
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
    assert.equal(res.content.filter((c) => c.type === 'resource_link').length, 2);
    // the next cell changed nothing: none listed
    assert.deepEqual((await cell(a, 'files', 'python', 'len(os.listdir("out"))')).sc.artifacts, []);
    // javascript's cells list theirs too
    const js = await cell(a, 'jsfiles', 'javascript', 'require("fs").writeFileSync("from-js.txt", "x")');
    assert.deepEqual(js.sc.artifacts.map((f) => f.path), ['from-js.txt']);
    // (a file changed within 15 ms before a run counts as the run's: the margin of a file's coarse ctime)
    await new Promise((r) => setTimeout(r, 100));
    const sh = await cell(a, 'shfiles', 'bash', 'echo x > from-bash.txt');
    assert.deepEqual(sh.sc.artifacts.map((f) => f.path), ['from-bash.txt']);
  });

  it('bad asks are invalid; a fifth kernel of a session is rate_limited', async () => {
    for (const [args, pattern] of [
      [{ language: 'python', code: '1', kernel: 'Bad Name' }, /kernel must be/],
      [{ language: 'python', code: '1', kernel: 'k', background: true }, /background/],
      [{ language: 'javascript', code: '1', kernel: 'main' }, /python kernel/],
      [{ language: 'python', code: '1', kernel: 'k', files: { 'a.txt': 'x' } }, /write_file/],
      [{ language: 'python', code: '1', restart_kernel: true }, /restart_kernel needs kernel/],
    ]) {
      const { sc } = await code(a, args);
      assert.equal(sc.status, 'invalid', JSON.stringify(sc));
      assert.match(sc.message, pattern);
    }
    // b holds main, mem and bomb: a fourth is the default most, a fifth is refused
    const { sc: c1 } = await code(b, { language: 'python', code: '1', kernel: 'cap-1' });
    assert.equal(c1.status, 'ok');
    const { sc: over } = await code(b, { language: 'python', code: '1', kernel: 'cap-2' });
    assert.equal(over.status, 'rate_limited', JSON.stringify(over));
    assert.match(over.message, /max_kernels_per_session/);
  });

  it('80 concurrent cells over 4 kernels: every call answered and audited, each kernel counted every cell it ran', async () => {
    const names = ['main', 'other', 'fresh', 'loop']; // python kernels a already holds (it is at its cap of 12)
    for (const k of names) await cell(a, k, 'python', 'n = 0');
    const calls = [];
    for (let i = 0; i < 80; i++) {
      calls.push(code(a, { language: 'python', code: 'n += 1\nprint(n)', kernel: names[i % 4] }).then((r) => r.sc));
    }
    const results = await Promise.all(calls);
    // 80 calls against 16 places and a queue of 64: each is run, or refused at once with a reason
    for (const r of results) {
      assert.ok(['ok', 'rate_limited'].includes(r.status), JSON.stringify(r).slice(0, 400));
      if (r.status === 'rate_limited') assert.ok(r.message && r.retry_after_ms > 0);
    }
    for (const k of names) {
      const ran = results.filter((r) => r.status === 'ok' && r.kernel.name === k);
      const seen = ran.map((r) => Number(r.stdout)).sort((x, y) => x - y);
      assert.deepEqual(seen, Array.from({ length: ran.length }, (_, i) => i + 1), `${k}: one cell at a time, none lost`);
      assert.equal((await cell(a, k, 'python', 'n')).sc.stdout, `${ran.length}\n`);
    }
    const audited = new Set(readAudit(audit).map((l) => l.execution_id));
    for (const r of results) assert.ok(audited.has(r.execution_id), `audited: ${r.execution_id}`);
  });

  it('the audit line names the kernel', async () => {
    const lines = readAudit(audit).filter((l) => l.tool === 'execute_code' && l.arguments?.kernel === 'main'
      && l.status !== 'invalid');
    assert.ok(lines.length >= 3, `${lines.length} lines`);
    assert.ok(lines.every((l) => l.execution_id && l.status && l.kernel?.name === 'main'), JSON.stringify(lines[0]));
  });
});

describe('an idle kernel ends', () => {
  let c;
  before(async () => {
    const dirs = serverDirs('kernels-idle', 'limits:\n  kernel_idle_timeout_s: 2\n');
    c = await stdioClient({ config: dirs.config });
    await c.listTools();
  });
  after(async () => {
    await c?.close();
  });

  it('after kernel_idle_timeout_s without a cell; the next cell says so', async () => {
    await cell(c, 'idle', 'python', 'x = 1');
    await new Promise((r) => setTimeout(r, 4500));
    const r = await code(c, { language: 'python', code: 'print(x)', kernel: 'idle' });
    assert.equal(r.sc.status, 'failed');
    assert.match(r.sc.stderr, /NameError/);
    assert.deepEqual(r.sc.kernel, { name: 'idle', language: 'python', execution_count: 1, restarted: true });
    assert.match(r.sc.message, /idle for more than 2 s/);
  });
});

describe('kernels over Streamable HTTP', () => {
  let server;
  let a;
  let b;
  before(async () => {
    server = await startHttpServer();
    [a, b] = await Promise.all([httpClient(server), httpClient(server)]);
    await Promise.all([a.listTools(), b.listTools()]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await server?.stop();
  });

  stateSuite(() => [a, b]);
});
