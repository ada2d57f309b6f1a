// The L3 container tier through the official TypeScript SDK client over stdio: compiled languages
// listed, compiled and run in their containers, the compile phase in the result (validated by the
// SDK against the tool's outputSchema). Needs a Docker engine and the warden/* images
// (tools/install-docker.sh, tools/build-images.sh); WARDEN_IT_DOCKER=skip skips these explicitly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { assertOk, stdioClient, tempDir } from './lib/warden.mjs';

const skip = process.env.WARDEN_IT_DOCKER === 'skip';

describe('containers (L3) over stdio', { skip: skip && 'WARDEN_IT_DOCKER=skip' }, () => {
  const dir = tempDir('containers');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  let a;

  before(async () => {
    a = await stdioClient({ audit: path.join(dir, 'audit.jsonl'), workspace, name: 'containers' });
  });

  after(async () => {
    await a?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists the container-only languages when the engine and their images are there', async () => {
    const { tools } = await a.listTools();
    const langs = tools.find((t) => t.name === 'execute_code').inputSchema.properties.language.enum;
    for (const lang of ['c', 'go']) {
      assert.ok(langs.includes(lang), `language ${lang} offered (${langs}); is Docker up and are the images built? `
        + `(bash tools/install-docker.sh && bash tools/build-images.sh) server log:\n${a.serverLog()}`);
    }
  });

  it('compiles and runs C in a container, stdin included, with the compile phase reported', async () => {
    const sc = await a.call('execute_code', {
      language: 'c',
      code: '#include <stdio.h>\nint main(void){int x; if (scanf("%d", &x) != 1) return 2; printf("%d\\n", x * 2); return 0;}\n',
      stdin: '21',
    }, { timeout: 120_000 });
    assertOk(sc, '42\n', { tier: 'L3', executor: 'container' });
    assert.equal(sc.compile.status, 'ok');
    assert.equal(sc.compile.exit_code, 0);
    assert.ok(sc.compile.duration_ms > 0);
    assert.ok(sc.usage.peak_memory_kb > 0, `usage ${JSON.stringify(sc.usage)}`);
    assert.equal(sc.limits.memory_mb, 512);
  });

  it('a failed compile is status failed with the compiler output, and nothing runs', async () => {
    const sc = await a.call('execute_code', { language: 'c', code: 'int main(void) { return nope; }\n' },
      { timeout: 120_000 });
    assert.equal(sc.status, 'failed');
    assert.equal(sc.exit_code, null);
    assert.match(sc.message, /compile failed/);
    assert.equal(sc.compile.status, 'failed');
    assert.match(sc.compile.stderr, /nope/);
  });

  it('go runs in its container and sees the session workspace', async () => {
    await a.call('execute_code', { language: 'python', code: 'open("from_l2.txt", "w").write("L2 wrote this")' });
    const sc = await a.call('execute_code', {
      language: 'go',
      code: 'package main\nimport ("fmt"; "os")\nfunc main() { b, _ := os.ReadFile("from_l2.txt"); fmt.Println(string(b)) }\n',
    }, { timeout: 120_000 });
    assertOk(sc, 'L2 wrote this\n', { tier: 'L3', executor: 'container' });
  });
});
