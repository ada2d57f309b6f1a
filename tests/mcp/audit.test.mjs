// The audit through the real server and the official SDK client: when the audit file cannot be
// written (its filesystem is full), Warden refuses new calls (status failed, a message that says
// why) rather than run them unaudited, and serves again by itself once space is freed; the lines it
// could not write come late, after an audit_gap line, and none is lost. Needs root (a small tmpfs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { readAudit, stdioClient, tempDir } from './lib/warden.mjs';

const root = process.getuid?.() === 0;

/** Writes until the filesystem is full. */
function fill(file) {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (let i = 0; i < 1000; i++) fs.writeSync(fd, chunk);
  } catch (e) {
    assert.equal(e.code, 'ENOSPC', e.message);
  } finally {
    fs.closeSync(fd);
  }
}

const REFUSED = /^It did not run: the audit log cannot be written \(No space left on device\); Warden refuses calls rather than run them unaudited\.$/;

describe('an audit that cannot be written: fail closed', { skip: !root && 'needs root to mount a tmpfs' }, () => {
  const dir = tempDir('audit-full');
  const disk = path.join(dir, 'disk');
  const audit = path.join(disk, 'audit.jsonl');
  const config = path.join(dir, 'warden.yaml');
  let t;
  before(async () => {
    fs.mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', disk]);
    fs.writeFileSync(config, 'operator:\n  listen: "off"\n');
    t = await stdioClient({ audit, config });
  });
  after(async () => {
    await t?.client.close();
    try {
      execFileSync('umount', ['-l', disk]);
    } catch {
      // not mounted
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses new calls while the disk is full and serves again once space is freed', async () => {
    const first = await t.call('run_command', { command: 'echo before' });
    assert.equal(first.status, 'ok');
    const filler = path.join(disk, 'filler');
    fill(filler);

    // the audit file's last page may still take a line or two; then a call's line cannot be
    // written, the audit is down, and the next call is refused
    let refused;
    const answered = [];
    for (let i = 0; i < 30 && !refused; i++) {
      const r = await t.call('execute_code', { language: 'bash', code: `echo run ${i}` });
      answered.push(r);
      if (r.status !== 'ok') refused = r;
    }
    assert.ok(refused, 'a call is refused once the audit cannot be written');
    assert.equal(refused.status, 'failed', JSON.stringify(refused));
    assert.match(refused.message, REFUSED);
    assert.equal(refused.executor, 'none');
    assert.equal(refused.exit_code, null);
    assert.equal(refused.stdout, '');

    // every tool is refused, not just the one that found out
    const again = await t.call('run_command', { command: 'echo still refused' });
    assert.equal(again.status, 'failed');
    assert.match(again.message, REFUSED);

    fs.rmSync(filler);
    const back = await t.call('run_command', { command: 'echo back' });
    assert.equal(back.status, 'ok', JSON.stringify(back));
    assert.equal(back.stdout, 'back\n');

    // every answered call has its one line, the late ones after the gap line that explains them
    const lines = readAudit(audit);
    // a gap line small enough for the slack of the file's last block may be written while the
    // backlog after it is not: that is a second outage with a gap line of its own, so count them all
    const gaps = lines.filter((l) => l.type === 'audit_gap');
    assert.ok(gaps.length >= 1, 'an audit_gap line');
    for (const gap of gaps) {
      assert.equal(gap.reason, 'No space left on device');
      assert.equal(gap.lost_lines, 0, JSON.stringify(gap));
    }
    assert.ok(gaps.reduce((n, g) => n + g.late_lines, 0) >= 2, JSON.stringify(gaps));
    const calls = lines.filter((l) => l.type === 'call');
    for (const id of t.ids) {
      assert.equal(calls.filter((l) => l.execution_id === id).length, 1, `the audit line of ${id}`);
    }
    const refusedLine = calls.find((l) => l.execution_id === refused.execution_id);
    assert.equal(refusedLine.status, 'failed');
    assert.match(refusedLine.message, REFUSED);
    const incidents = readAudit(path.join(disk, 'incidents.jsonl'));
    assert.ok(incidents.some((l) => l.type === 'audit_gap'), 'the gap is an incident');
  });
});

describe('audit.fail_closed: false lets calls run while the audit is down', { skip: !root && 'needs root to mount a tmpfs' }, () => {
  const dir = tempDir('audit-open');
  const disk = path.join(dir, 'disk');
  const audit = path.join(disk, 'audit.jsonl');
  const config = path.join(dir, 'warden.yaml');
  let t;
  before(async () => {
    fs.mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', disk]);
    fs.writeFileSync(config, 'operator:\n  listen: "off"\naudit:\n  fail_closed: false\n');
    t = await stdioClient({ audit, config });
  });
  after(async () => {
    await t?.client.close();
    try {
      execFileSync('umount', ['-l', disk]);
    } catch {
      // not mounted
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('calls go on, and their lines are written once space is freed', async () => {
    fill(path.join(disk, 'filler'));
    for (let i = 0; i < 12; i++) {
      const r = await t.call('run_command', { command: `echo open${i}` });
      assert.equal(r.status, 'ok', JSON.stringify(r));
    }
    assert.match(t.serverLog(), /AUDIT DOWN: .* \(No space left on device\); audit.fail_closed is off, calls go on/);
    fs.rmSync(path.join(disk, 'filler'));
    const r = await t.call('run_command', { command: 'echo freed' });
    assert.equal(r.status, 'ok');
    const calls = readAudit(audit).filter((l) => l.type === 'call');
    for (const id of t.ids) {
      assert.equal(calls.filter((l) => l.execution_id === id).length, 1, `the audit line of ${id}`);
    }
  });
});
