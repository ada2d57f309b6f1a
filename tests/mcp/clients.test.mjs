// The client set-ups of the README, tried as written: each configuration is read from README.md (the
// repository path /opt/warden replaced by this build's jar, the project by a directory of a test
// user's). The real Claude Code and Codex CLIs (npm) make a Warden tool call each, driven by a
// stand-in for their model's API (lib/model-mocks.mjs); what Warden answered is read from what the
// client passed back to the model. Cursor, VS Code and Claude Desktop do not run here: their
// configuration's command is started and called through the official MCP client instead.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { anthropicMock, openaiMock, resultJson } from './lib/model-mocks.mjs';
import { REPO, jarPath, operatorCli, tempDir } from './lib/warden.mjs';

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const BIN = path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules', '.bin');
const OWNER = 4242; // the project's owner: Warden refuses a root-owned project
const hasSudo = (() => { try { execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' }); return true; } catch { return false; } })();

/** The section of the README that starts at a bold client name and ends at the next one. */
function section(name) {
  const start = README.indexOf(`**${name}**`);
  assert.ok(start >= 0, `README has no **${name}** section`);
  const rest = README.slice(start + name.length + 4);
  const next = rest.search(/\n\*\*[A-Z][^*]+\*\* \(|\n### |\n## /);
  return next < 0 ? rest : rest.slice(0, next);
}

function codeBlocks(text, lang) {
  return [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

let jar;
let project;
let home;

/** The README's text with its paths replaced by this run's. */
function localize(text) {
  return text.replaceAll('/opt/warden/target/warden.jar', jar)
    .replaceAll('/opt/warden/target/warden.jsa', path.join(path.dirname(jar), 'warden.jsa'))
    .replaceAll('${workspaceFolder}', project)
    .replaceAll('"$PWD"', project);
}

function run(cmd, args, { env = {}, cwd = project, timeoutMs = 150_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

function ownedByTestUser(dir) {
  fs.mkdirSync(dir, { recursive: true });
  fs.chownSync(dir, OWNER, OWNER);
  return dir;
}

describe('the README\'s client set-ups, tried as written', { skip: process.getuid?.() !== 0 ? 'needs root (the server runs the sandbox)' : false }, () => {
  before(async () => {
    assert.ok(hasSudo, 'sudo is not installed: the README\'s configurations start Warden through `sudo -n` (apt-get install sudo)');
    const dir = tempDir('warden-clients-');
    fs.chmodSync(dir, 0o711);
    jar = path.join(dir, 'warden.jar');
    fs.copyFileSync(await jarPath(), jar);
    fs.chmodSync(jar, 0o644);
    project = ownedByTestUser(path.join(dir, 'project'));
    home = path.join(dir, 'home');
    fs.mkdirSync(home);
  });

  test('Claude Code: `claude mcp add` as in the README, Connected, and a run_command call from claude -p', async () => {
    const line = section('Claude Code').split('\n').find((l) => l.startsWith('claude mcp add warden -- '));
    assert.ok(line, 'no `claude mcp add warden -- …` line in the README\'s Claude Code section');
    const argv = localize(line).replace(/^claude /, '').match(/"[^"]*"|\S+/g).map((a) => a.replace(/^"|"$/g, ''));
    const add = await run(path.join(BIN, 'claude'), argv);
    assert.equal(add.code, 0, add.out);
    const list = await run(path.join(BIN, 'claude'), ['mcp', 'list']);
    assert.match(list.out, /warden: .*✔ Connected/, list.out);

    const mock = await anthropicMock({ tool: 'mcp__warden__run_command', input: { command: 'echo hello-from-claude > from-claude.txt && cat from-claude.txt' } });
    try {
      const r = await run(path.join(BIN, 'claude'), ['-p', 'run it', '--allowedTools', 'mcp__warden__run_command'],
        { env: { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'sk-ant-test', ENABLE_TOOL_SEARCH: 'false' } });
      assert.equal(mock.results.length, 1, `Claude Code passed no Warden result to the model (exit ${r.code}; offered ${mock.offered.join(',')}):\n${r.out.slice(-2000)}`);
      const res = resultJson(mock.results[0]);
      assert.equal(res.status, 'ok', JSON.stringify(res));
      assert.equal(res.stdout, 'hello-from-claude\n');
      // --project "$PWD": the file is in the project, owned by the project's owner
      assert.equal(fs.statSync(path.join(project, 'from-claude.txt')).uid, OWNER);
    }
    finally {
      await mock.close();
    }
  });

  test('Claude Code: a held call from claude -p is answered (its elicitation is cancelled by the client)', async () => {
    const mock = await anthropicMock({ tool: 'mcp__warden__run_command', input: { command: 'pip install requests' } });
    try {
      await run(path.join(BIN, 'claude'), ['-p', 'install it', '--allowedTools', 'mcp__warden__run_command'],
        { env: { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'sk-ant-test', ENABLE_TOOL_SEARCH: 'false' } });
      assert.equal(mock.results.length, 1, 'Claude Code passed no Warden result to the model');
      const res = resultJson(mock.results[0]);
      assert.equal(res.tier, 'L4');
      assert.equal(res.status, 'denied', JSON.stringify(res));
      assert.equal(res.approval?.channel, 'elicitation');
      assert.match(res.approval?.approver ?? '', /claude-code/);
    }
    finally {
      await mock.close();
    }
  });

  test('Codex: the README\'s config.toml, and a run_command call from codex exec', async () => {
    const toml = codeBlocks(section('Codex'), 'toml')[0];
    assert.ok(toml?.includes('[mcp_servers.warden]'), 'no [mcp_servers.warden] block in the README\'s Codex section');
    const mock = await openaiMock({ tool: 'run_command', input: { command: 'echo hello-from-codex' } });
    try {
      fs.mkdirSync(path.join(home, '.codex'), { recursive: true });
      // the model provider first: TOML keys after a table belong to it
      fs.writeFileSync(path.join(home, '.codex', 'config.toml'), [
        'model = "gpt-5"', 'model_provider = "mock"', '',
        '[model_providers.mock]', 'name = "mock"', `base_url = "${mock.url}/v1"`, 'wire_api = "responses"', 'env_key = "OPENAI_API_KEY"', '',
        localize(toml),
      ].join('\n'));
      const r = await run(path.join(BIN, 'codex'), ['exec', '--skip-git-repo-check', 'run it'], { env: { OPENAI_API_KEY: 'sk-test' } });
      assert.equal(mock.results.length, 1, `Codex passed no Warden result to the model (exit ${r.code}; offered ${mock.offered.join(',')}):\n${r.out.slice(-2000)}`);
      const res = resultJson(mock.results[0]);
      assert.equal(res.status, 'ok', JSON.stringify(res));
      assert.equal(res.stdout, 'hello-from-codex\n');
    }
    finally {
      await mock.close();
    }
  });

  test('Codex: its automatic decline of a held call falls through to the operator, who approves it; the agent\'s request_approval gets the run', async () => {
    const toml = codeBlocks(section('Codex'), 'toml')[0];
    const state = path.join(home, 'operator.json');
    const config = path.join(home, 'fall-through.yaml');
    fs.writeFileSync(config, ['approvals:', '  on_client_decline: operator', 'operator:', `  state_file: "${state}"`, ''].join('\n'));
    // the agent: a call that is held, then request_approval with the id Warden gave it
    const mock = await openaiMock({ next: (results) => {
      if (results.length === 0) return { tool: 'run_command', input: { command: 'echo approved-by-the-operator', timeout_ms: 300_000 } };
      const held = resultJson(results[0]);
      return results.length === 1 && held.status === 'needs_approval'
        ? { tool: 'request_approval', input: { execution_id: held.execution_id } } : null;
    } });
    try {
      fs.mkdirSync(path.join(home, '.codex'), { recursive: true });
      fs.writeFileSync(path.join(home, '.codex', 'config.toml'), [
        'model = "gpt-5"', 'model_provider = "mock"', '',
        '[model_providers.mock]', 'name = "mock"', `base_url = "${mock.url}/v1"`, 'wire_api = "responses"', 'env_key = "OPENAI_API_KEY"', '',
        localize(toml).replace(/^args = \[(.*)\]$/m, (_, a) => `args = [${a}, "--config", "${config}"]`),
        'tool_timeout_sec = 120',
      ].join('\n'));
      const codex = run(path.join(BIN, 'codex'), ['exec', '--skip-git-repo-check', 'run it'], { env: { OPENAI_API_KEY: 'sk-test' } });
      // the operator: the held call shows up in the CLI's list, and is approved there
      let id;
      for (let i = 0; i < 120 && !id; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        if (!fs.existsSync(state)) continue;
        const listed = await operatorCli(['approvals', 'list', '--state', state]);
        id = /ex_[0-9a-f]+/.exec(listed.stdout ?? '')?.[0];
      }
      assert.ok(id, `no held call reached the operator (Codex answered: ${mock.results.join(' | ').slice(0, 1000)})`);
      const approved = await operatorCli(['approvals', 'approve', id, '--state', state, '--as', 'alice']);
      assert.equal(approved.code, 0, approved.stderr);
      const r = await codex;
      assert.equal(mock.results.length, 2, `Codex passed ${mock.results.length} Warden result(s) to the model:\n${r.out.slice(-2000)}`);
      const held = resultJson(mock.results[0]);
      assert.equal(held.status, 'needs_approval', JSON.stringify(held));
      assert.match(held.message, /declined/);
      const done = resultJson(mock.results[1]);
      assert.equal(done.decision, 'approved', JSON.stringify(done));
      assert.equal(done.channel, 'cli');
      assert.equal(done.approver, 'alice');
      assert.equal(done.result?.status, 'ok', JSON.stringify(done));
      assert.equal(done.result.stdout, 'approved-by-the-operator\n');
    }
    finally {
      await mock.close();
    }
  });

  for (const [name, key] of [['Cursor', 'mcpServers'], ['VS Code', 'servers'], ['Claude Desktop', 'mcpServers']]) {
    test(`${name}: the README's stdio configuration starts Warden and answers a call`, async () => {
      const block = codeBlocks(section(name), 'json').map((b) => JSON.parse(localize(b))).find((j) => j[key]?.warden?.command);
      assert.ok(block, `no stdio "warden" entry under "${key}" in the README's ${name} section`);
      const { command, args } = block[key].warden;
      const client = new Client({ name: `${name} configuration`, version: '1.0.0' });
      await client.connect(new StdioClientTransport({ command, args, env: { PATH: process.env.PATH, HOME: home }, stderr: 'ignore' }));
      try {
        const tools = await client.listTools();
        assert.ok(tools.tools.some((t) => t.name === 'run_command'));
        const res = await client.callTool({ name: 'run_command', arguments: { command: `echo hello-from-${name.replace(/ /g, '-')}` } });
        assert.equal(res.structuredContent.status, 'ok', JSON.stringify(res.structuredContent));
        assert.equal(res.structuredContent.stdout, `hello-from-${name.replace(/ /g, '-')}\n`);
      }
      finally {
        await client.close();
      }
    });
  }

  after(() => {
    for (const f of ['from-claude.txt']) fs.rmSync(path.join(project ?? '/nonexistent', f), { force: true });
  });
});
