// The operator page in a real browser: Debian's headless Chromium driven by playwright-core. A held
// call appears on the page with its details, a click approves it, and the agent's request_approval
// returns the call's result. Also: login, escaping of what the agent wrote, deny, the kill switch.
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
    const row = page.locator(`#pending tr[data-id="${id}"]`);
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
    await page.locator(`#recent tr[data-id="${id}"]`).waitFor({ timeout: 10_000 });
    assert.match(await page.locator(`#recent tr[data-id="${id}"] .decision`).textContent(), /approved \(once\) by operator via operator/);
  });

  it('the page updates itself when a new call is held, and deny works', async () => {
    const id = await held('rm -rf ./build && echo "<img src=x onerror=alert(1)>"');
    const waiting = approval(id);
    await page.locator(`#pending tr[data-id="${id}"]`).waitFor({ timeout: 15_000 });
    await page.click(`#deny-${id}`);
    const r = await waiting;
    assert.equal(r.decision, 'denied');
    assert.equal(r.channel, 'operator');
    assert.deepEqual(dialogs, [], 'no script of the agent ran in the operator page');
  });

  it('the kill switch from the page stops what runs and refuses new calls until turned off', async () => {
    const running = agent.call('execute_code', { language: 'bash', code: 'sleep 30' });
    await page.locator('#running tr').nth(1).waitFor({ timeout: 15_000 });
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
