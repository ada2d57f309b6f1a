// The operator page in a real browser: Debian's headless Chromium driven by playwright-core. A held
// call appears on the page with its details, a click approves it, and the agent's request_approval
// returns the call's result. Also: login, escaping of what the agent wrote, deny, the kill switch,
// and what makes the page readable: expiry as time left (counting down), two sessions of one client
// told apart, commands in full-width monospace that scroll sideways rather than wrap mid-word; and a
// session's kernel listed with its memory and ended from the page.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';

import { httpClient, readAudit, startHttpServer, tempDir } from './lib/warden.mjs';

const OPERATOR_TOKEN = 'operator-ui-token-0123456789abcdef';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const LONG = 200_000;

describe('operator page in headless Chromium', () => {
  const dir = tempDir('operator-ui');
  const audit = path.join(dir, 'audit.jsonl');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, 'approval:\n  timeout_s: 40\n');
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, `operator:\n  token: "${OPERATOR_TOKEN}"\n  state_file: "${path.join(dir, 'op.json')}"\npolicy:\n  file: "${policy}"\n`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-chromium-'));
  let server;
  let agent;
  let browser;
  let page;
  const dialogs = [];

  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    server = await startHttpServer({ audit, workspace, config });
    agent = await httpClient(server, { name: 'ui-agent' });
    // a fresh profile (Playwright passes it as --user-data-dir); without the flags below Chromium's
    // background traffic floods a closed network
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    page = browser.pages()[0] ?? await browser.newPage();
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  });

  after(async () => {
    await browser?.close();
    await agent?.close();
    await server?.stop();
    fs.rmSync(profile, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function held(command) {
    const sc = await agent.call('run_command', { command, timeout_ms: LONG });
    assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
    return sc.execution_id;
  }

  /** Denies a held call through the operator API (channel api, so the page's decisions stay counted apart). */
  async function denyByApi(id) {
    const res = await fetch(`${server.base}/operator/api/approvals/${id}/deny`, {
      method: 'POST', headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    assert.equal(res.status, 200, await res.text());
  }

  async function apiState() {
    const res = await fetch(`${server.base}/operator/api/state`, { headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` } });
    return res.json();
  }

  async function approval(id) {
    const res = await agent.client.callTool({ name: 'request_approval', arguments: { execution_id: id } }, undefined,
      { timeout: 60_000 });
    return res.structuredContent;
  }

  it('refuses the page without the operator token, and a wrong token', async () => {
    await page.goto(`${server.base}/operator`);
    assert.equal(await page.locator('#pending').count(), 0, 'nothing shown before login');
    await page.fill('#token', 'not-the-token-not-the-token');
    await page.click('#login');
    await page.waitForSelector('#message');
    assert.match(await page.textContent('#message'), /not the operator token/);
    assert.equal(await page.locator('#pending').count(), 0);
  });

  it('a held call appears with its details; a click approves it and request_approval returns its result', async () => {
    const id = await held('echo "<b>bold</b>" && echo approved-in-browser');
    const waiting = approval(id);
    await page.goto(`${server.base}/operator`);
    await page.fill('#token', OPERATOR_TOKEN);
    await page.click('#login');
    const row = page.locator(`#pending [data-id="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    const text = await row.textContent();
    assert.match(text, /echo "<b>bold<\/b>" && echo approved-in-browser/, 'the exact command, as text');
    assert.match(text, /\/workspace/);
    assert.match(text, /request\.long_timeout/);
    assert.match(text, /L2/);
    assert.equal(await row.locator('b').count(), 0, 'what the agent wrote is escaped, never markup');
    await page.click(`#approve-${id}`);
    const r = await waiting;
    assert.equal(r.decision, 'approved');
    assert.equal(r.channel, 'operator');
    assert.equal(r.result.status, 'ok');
    assert.equal(r.result.stdout, '<b>bold</b>\napproved-in-browser\n');
    await page.locator(`#recent [data-id="${id}"]`).waitFor({ timeout: 10_000 });
    assert.match(await page.locator(`#recent [data-id="${id}"] .decision`).textContent(), /approved \(once\) by operator via operator/);
  });

  it('the page updates itself when a new call is held, and deny works', async () => {
    const id = await held('rm -rf ./build && echo "<img src=x onerror=alert(1)>"');
    const waiting = approval(id);
    await page.locator(`#pending [data-id="${id}"]`).waitFor({ timeout: 15_000 });
    await page.click(`#deny-${id}`);
    const r = await waiting;
    assert.equal(r.decision, 'denied');
    assert.equal(r.channel, 'operator');
    assert.deepEqual(dialogs, [], 'no script of the agent ran in the operator page');
  });

  it('expiry reads as time left and counts down; never a raw timestamp', async () => {
    const id = await held('echo expiry-check');
    const row = page.locator(`#pending [data-id="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    const left = row.locator('time.left');
    const first = await left.textContent();
    assert.match(first, /^expires in (\d+ min( \d+ s)?|\d+ s)$/, first);
    const seconds = (t) => { const m = t.match(/(?:(\d+) min)? ?(?:(\d+) s)?$/); return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0); };
    assert.ok(seconds(first) <= 40 && seconds(first) >= 25, `the policy's 40 s timeout: ${first}`);
    await page.waitForFunction(([sel, before]) => document.querySelector(sel)?.textContent !== before,
      [`#pending [data-id="${id}"] time.left`, first], { timeout: 5_000 });
    const later = await left.textContent();
    assert.ok(seconds(later) < seconds(first), `counts down: ${first} then ${later}`);
    const text = (await row.textContent()).replace(id, '');
    assert.doesNotMatch(text, /\d{4}-\d\d-\d\dT\d\d:\d\d/, 'no ISO instant in the text');
    assert.doesNotMatch(text, /\d{9,}/, 'no raw nanoseconds (or other long number) in the text');
    // the API gives the same in machine form, beside the old field
    const p = (await apiState()).pending.find((x) => x.execution_id === id);
    assert.match(p.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(p.expires_in_ms > 0 && p.expires_in_ms <= 40_000, String(p.expires_in_ms));
    assert.equal(typeof p.expires, 'string');
    await denyByApi(id);
  });

  it('two sessions of the same client are told apart', async () => {
    const second = await httpClient(server, { name: 'ui-agent' });
    try {
      const a = await held('echo from-session-a');
      const sc = await second.call('run_command', { command: 'echo from-session-b', timeout_ms: LONG });
      assert.equal(sc.status, 'needs_approval', JSON.stringify(sc));
      const b = sc.execution_id;
      const rowA = page.locator(`#pending [data-id="${a}"]`);
      const rowB = page.locator(`#pending [data-id="${b}"]`);
      await rowA.waitFor({ timeout: 15_000 });
      await rowB.waitFor({ timeout: 15_000 });
      const whoA = (await rowA.locator('.who').textContent()).trim();
      const whoB = (await rowB.locator('.who').textContent()).trim();
      assert.match(whoA, /^ui-agent\/1\.0\.0 · session [0-9a-f]{8}$/, whoA);
      assert.match(whoB, /^ui-agent\/1\.0\.0 · session [0-9a-f]{8}$/, whoB);
      assert.notEqual(whoA, whoB, 'the two sessions read differently');
      const s = await apiState();
      const pa = s.pending.find((x) => x.execution_id === a);
      const pb = s.pending.find((x) => x.execution_id === b);
      assert.equal(pa.client, pb.client, 'the same client');
      assert.notEqual(pa.session, pb.session);
      assert.equal(pa.client_label, whoA);
      await denyByApi(a);
      await denyByApi(b);
    }
    finally {
      await second.close();
    }
  });

  it('a hostile command is shown as text, whole, in full-width monospace that scrolls rather than wraps', async () => {
    const token = 'A'.repeat(600);
    const hostile = `echo '</pre><script>window.__pwned = 1; alert(1)</script><img src=x onerror="window.__pwned = 2">' ${token}`;
    const id = await held(hostile);
    const row = page.locator(`#pending [data-id="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    const pre = row.locator('pre.agent.subject');
    assert.equal(await pre.textContent(), hostile, 'exact, as text');
    assert.equal(await row.locator('script, img').count(), 0, 'nothing the agent wrote became an element');
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script of the agent ran');
    assert.deepEqual(dialogs, []);
    const box = await pre.evaluate((el) => {
      const css = getComputedStyle(el);
      const section = el.closest('section').getBoundingClientRect();
      return { whiteSpace: css.whiteSpace, font: css.fontFamily, overflowX: css.overflowX, scroll: el.scrollWidth,
        client: el.clientWidth, width: el.getBoundingClientRect().width, section: section.width,
        lineHeight: parseFloat(css.lineHeight) || 16, height: el.clientHeight };
    });
    assert.equal(box.whiteSpace, 'pre', 'never wrapped, so never broken mid-word');
    assert.match(box.font, /monospace/);
    assert.equal(box.overflowX, 'auto');
    assert.ok(box.scroll > box.client, `the long line scrolls sideways: ${JSON.stringify(box)}`);
    assert.ok(box.width > box.section * 0.9, `full width: ${JSON.stringify(box)}`);
    assert.ok(box.height < box.lineHeight * 3, `one line, not wrapped: ${JSON.stringify(box)}`);
    await denyByApi(id);
  });

  it('a session\'s kernel is listed with its memory, and End ends its interpreter', async () => {
    const first = await agent.call('execute_code', { language: 'python', code: 'x = 41', kernel: 'ui' });
    assert.equal(first.status, 'ok', JSON.stringify(first));
    const k = (await apiState()).kernels.find((x) => x.name === 'ui');
    assert.ok(k, 'listed in the API\'s state');
    assert.match(k.kernel_id, /^k-[0-9a-f]{1,8}$/);
    assert.ok(k.memory_kb > 0, JSON.stringify(k));
    const row = page.locator(`#kernels tr[data-id="${k.kernel_id}"]`);
    await row.waitFor({ timeout: 15_000 });
    assert.equal(await row.locator('.name').textContent(), 'ui');
    assert.equal(await row.locator('.language').textContent(), 'python');
    assert.equal(await row.locator('.session').textContent(), k.session);
    assert.equal(await row.locator('.client').textContent(), 'ui-agent/1.0.0');
    assert.equal(await row.locator('.cells').textContent(), '1');
    assert.match(await row.locator('.memory').textContent(), /^\d+\.\d MB$/);
    assert.equal(await row.locator('.busy').textContent(), 'no');
    await page.click(`#end-kernel-${k.kernel_id}`);
    await page.waitForFunction(() => /was ended/.test(document.querySelector('#message')?.textContent ?? ''));
    assert.equal(await page.textContent('#message'), `kernel ${k.kernel_id} (ui, python, session ${k.session}) was ended`);
    assert.equal(await page.locator('#no-kernels').count(), 1);
    const again = await agent.call('execute_code', { language: 'python', code: 'print(x)', kernel: 'ui' });
    assert.notEqual(again.status, 'ok', 'a fresh interpreter has no x');
    assert.match(again.stderr, /NameError/);
    assert.equal(again.kernel.restarted, true, 'the agent is told its state is gone');
    assert.match(again.message, /an operator ended it/);
    const ended = readAudit(audit).filter((l) => l.event === 'operator.end_kernel');
    assert.equal(ended.length, 1);
    assert.equal(ended[0].by, 'operator');
    assert.equal(ended[0].target, k.kernel_id);
    assert.equal(ended[0].kernel, 'ui');
    assert.equal(ended[0].language, 'python');
    // the same session's new kernel under that name has the same id; the API ends it with the token
    const res = await fetch(`${server.base}/operator/api/kernels/${k.kernel_id}/end`, {
      method: 'POST', headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    assert.equal(res.status, 200, await res.text());
    assert.deepEqual((await apiState()).kernels, []);
  });

  it('the kill switch from the page stops what runs and refuses new calls until turned off', async () => {
    const running = agent.call('execute_code', { language: 'bash', code: 'sleep 30' });
    await page.locator('#running .call').first().waitFor({ timeout: 15_000 });
    await page.click('#kill-on');
    await page.waitForSelector('#kill-off');
    const sc = await running;
    assert.equal(sc.status, 'killed');
    const refused = await agent.call('run_command', { command: 'echo no' });
    assert.equal(refused.status, 'denied');
    await page.click('#kill-off');
    await page.waitForSelector('#kill-on');
    const ok = await agent.call('run_command', { command: 'echo yes' });
    assert.equal(ok.stdout, 'yes\n');
  });

  it('a form posted without the page\'s CSRF token or from another origin is refused', async () => {
    const cookies = await page.context().cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const noCsrf = await fetch(`${server.base}/operator/kill-switch`, {
      method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'on=on', redirect: 'manual',
    });
    assert.equal(noCsrf.status, 403);
    const foreign = await fetch(`${server.base}/operator/kill-switch`, {
      method: 'POST', headers: { Cookie: cookie, Origin: 'http://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'on=on', redirect: 'manual',
    });
    assert.equal(foreign.status, 403);
    const ok = await agent.call('run_command', { command: 'echo still-on' });
    assert.equal(ok.status, 'ok', 'the kill switch was not turned on');
    const decisions = readAudit(audit).filter((l) => l.type === 'decision' && l.channel === 'operator');
    assert.equal(decisions.length, 2);
  });
});
