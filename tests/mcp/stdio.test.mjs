// The official TypeScript SDK client against `java -jar warden.jar` over stdio.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  connectAll, assertAudited, assertOk, readAudit, sleep, stdioClient, tempDir, workspaceDirs,
} from './lib/warden.mjs';
import {
  defineBadInputTests, defineBasicToolTests, defineFeatureTests, defineHandshakeTests, defineWorkspaceTests,
} from './lib/suites.mjs';

describe('stdio transport (SDK StdioClientTransport)', () => {
  const dir = tempDir('stdio');
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  let a;
  let b;

  before(async () => {
    // Two server processes on one workspace root: two sessions, side by side.
    [a, b] = await connectAll([
      stdioClient({ audit, workspace, name: 'stdio-a' }),
      stdioClient({ audit, workspace, name: 'stdio-b' }),
    ]);
  });

  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('handshake', () => defineHandshakeTests(() => a));
  describe('tools', () => defineBasicToolTests(() => a));
  describe('workspace', () => defineWorkspaceTests(() => a, () => b));
  describe('arguments and outcomes', () => defineFeatureTests(() => a));
  describe('bad input', () => defineBadInputTests(() => b));

  describe('output limits', () => {
    it('output past output_bytes is cut and flagged', async () => {
      const sc = await a.call('execute_code', { language: 'python', code: 'import sys; sys.stdout.write("x" * 3000000)' });
      assert.equal(sc.stdout_truncated, true);
      assert.equal(sc.stderr_truncated, false);
      assert.ok(sc.stdout.length <= sc.limits.output_bytes, `stdout is ${sc.stdout.length} chars`);
      assert.ok(sc.stdout.length > 1000);
      assert.match(sc.stdout, /^x+/);
    });
  });

  describe('audit', () => {
    it('every execution_id either client received is in the audit file, marked stdio', async () => {
      const lines = assertAudited(audit, [...a.ids, ...b.ids], 'stdio');
      for (const l of lines) {
        assert.ok(['run_command', 'execute_code'].includes(l.tool), `tool ${l.tool}`);
        assert.ok(typeof l.ts === 'string' && !Number.isNaN(Date.parse(l.ts)), 'ts');
      }
      const clients = new Set(lines.map((l) => l.client));
      assert.ok([...clients].some((c) => String(c).startsWith('stdio-a/')), `clients ${[...clients]}`);
      assert.ok([...clients].some((c) => String(c).startsWith('stdio-b/')), `clients ${[...clients]}`);
    });

    it('an audit line matches the result it belongs to', async () => {
      const sc = await a.call('execute_code', { language: 'bash', code: 'exit 4' });
      const line = readAudit(audit).find((l) => l.execution_id === sc.execution_id);
      assert.ok(line, 'audit line present as soon as the result arrived');
      assert.equal(line.status, 'failed');
      assert.equal(line.exit_code, 4);
      assert.equal(line.tool, 'execute_code');
      assert.equal(line.tier, 'L2');
    });
  });

  describe('slot reuse', () => {
    it('L1 commands right after L2 runs are not refused with EAGAIN (exit 126)', async () => {
      // Sandboxed runs and read-only commands share the slot pool (and so the slot uids); an L1
      // run gets RLIMIT_NPROC=1, so any process of a previous run still alive (or not yet reaped)
      // under the same uid makes its execve fail with EAGAIN.
      const bad = [];
      let l1 = 0;
      for (let round = 0; round < 8; round++) {
        const sandboxed = await Promise.all(Array.from({ length: 3 }, () => a.call('execute_code', { language: 'bash', code: 'true' })));
        sandboxed.forEach((sc) => assertOk(sc));
        const inline = await Promise.all(Array.from({ length: 4 }, () => a.call('run_command', { command: 'echo hi' }, { retrySlotBug: false })));
        for (const sc of inline) {
          l1++;
          if (sc.status !== 'ok') bad.push(`${sc.status} ${sc.exit_code} ${sc.stderr.trim()}`);
        }
        const sequential = await a.call('run_command', { command: 'echo hi' }, { retrySlotBug: false });
        l1++;
        if (sequential.status !== 'ok') bad.push(`${sequential.status} ${sequential.exit_code} ${sequential.stderr.trim()}`);
      }
      assert.deepEqual(bad, [], `server bug: ${bad.length} of ${l1} L1 runs failed next to L2 runs: ${[...new Set(bad)].join('; ')}`);
    });
  });

  describe('end of session', () => {
    it('the workspace of a stdio session is removed when its server process ends', async () => {
      const before_ = workspaceDirs(workspace);
      assert.equal(before_.length, 2, `two live sessions, two workspaces: ${before_}`);
      const c = await stdioClient({ audit, workspace, name: 'stdio-c' });
      try {
        assertOk(await c.call('run_command', { command: 'echo x' }), 'x\n');
        assert.equal(workspaceDirs(workspace).length, 3);
      } finally {
        await c.close();
      }
      const deadline = Date.now() + 10_000;
      while (workspaceDirs(workspace).length !== 2 && Date.now() < deadline) {
        await sleep(100);
      }
      assert.deepEqual(workspaceDirs(workspace), before_);
    });
  });
});
