// The workspace quota (limits.disk_mb) through the official SDK client: a run that tries to fill the
// disk gets "No space left on device" from the kernel at the quota, the host's free space hardly
// moves, another session has its own quota, the session can free space and write again, and the
// volumes are gone (unmounted, images deleted) when the sessions and the server end.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { stdioClient, tempDir } from './lib/warden.mjs';

const QUOTA_MB = 48;

function freeMb(dir) {
  const s = fs.statfsSync(dir);
  return (s.bavail * s.bsize) / (1 << 20);
}

/** Loop mounts under the workspace root, from /proc/mounts. */
function volumesUnder(root) {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n')
    .filter((l) => l.startsWith('/dev/loop') && l.split(' ')[1].startsWith(root));
}

describe('workspace quota: every session a volume of its own', () => {
  const dir = tempDir('quota');
  const workspace = path.join(dir, 'ws');
  const config = path.join(dir, 'warden.yaml');
  let a;
  let b;
  before(async () => {
    fs.mkdirSync(workspace);
    fs.writeFileSync(config, `limits:\n  disk_mb: ${QUOTA_MB}\noperator:\n  listen: "off"\n`);
    [a, b] = await Promise.all([stdioClient({ workspace, config }), stdioClient({ workspace, config })]);
  });
  after(async () => {
    await Promise.allSettled([a, b].filter(Boolean).map((c) => c.client.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a run that writes past the quota gets ENOSPC, and the host disk is untouched', async () => {
    const before_ = freeMb(dir);
    // 8 files of 30 MB each (under the 64 MB file-size limit): 240 MB asked, 48 MB allowed
    const r = await a.call('execute_code', {
      language: 'bash',
      code: 'for i in 1 2 3 4 5 6 7 8; do head -c 31457280 /dev/zero > f$i 2>/dev/null || echo "f$i: full"; done; du -sm . | cut -f1',
      timeout_ms: 60_000,
    });
    assert.equal(r.limits.disk_mb, QUOTA_MB);
    assert.match(r.stdout, /full/, JSON.stringify(r));
    const used = Number(r.stdout.trim().split('\n').pop());
    assert.ok(used <= QUOTA_MB, `the workspace holds ${used} MB, over the quota`);
    const spent = before_ - freeMb(dir);
    assert.ok(spent < QUOTA_MB + 16, `the host lost ${spent.toFixed(0)} MB of free space`);
    const py = await a.call('execute_code', {
      language: 'python',
      code: 'try:\n    open("more", "wb").write(b"x" * 4_000_000)\nexcept OSError as e:\n    print(e.strerror)',
    });
    assert.match(py.stdout, /No space left on device/);
  });

  it("another session's quota is its own", async () => {
    const r = await b.call('execute_code', {
      language: 'bash', code: 'head -c 31457280 /dev/zero > big && echo wrote',
    });
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.equal(r.stdout, 'wrote\n');
  });

  it('freeing space lets the session write again', async () => {
    const r = await a.call('execute_code', { language: 'bash', code: 'rm -f f* more; head -c 20000000 /dev/zero > g && echo again' });
    assert.equal(r.stdout, 'again\n', JSON.stringify(r));
  });

  it('the workspace is a filesystem of its own, nosuid and nodev', async () => {
    const r = await a.call('execute_code', { language: 'bash', code: "grep ' /workspace ' /proc/mounts" });
    assert.match(r.stdout, /\/workspace ext4 [^ ]*nosuid/);
    assert.match(r.stdout, /nodev/);
  });

  it('the volumes go when the sessions end', async () => {
    // each session: its volume (.v-*, root only) and the workspace bound from it (s-*)
    const mounts = volumesUnder(fs.realpathSync(workspace)).map((l) => path.basename(l.split(' ')[1])).sort();
    assert.equal(mounts.filter((m) => m.startsWith('s-')).length, 2, mounts.join(' '));
    assert.equal(mounts.filter((m) => m.startsWith('.v-')).length, 2, mounts.join(' '));
    await a.client.close();
    await b.client.close();
    const deadline = Date.now() + 10_000;
    while (volumesUnder(fs.realpathSync(workspace)).length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(volumesUnder(fs.realpathSync(workspace)), []);
  });
});
