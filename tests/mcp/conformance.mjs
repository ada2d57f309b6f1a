#!/usr/bin/env node
// Runs the official MCP conformance suite (@modelcontextprotocol/conformance) against Warden's
// Streamable HTTP endpoint, with an expected-failures file as the baseline. Two lines of the suite:
//   - 0.1.16 (default): every server scenario it lists (`--suite all`), mostly 2025-11-25, with
//     conformance-expected-failures.yml;
//   - 0.2.0-alpha.12 (`--next`, npm alias conformance-next): the scenarios revision 2026-07-28
//     requires (`--requirements 2026-07-28`, plus the extension and pending ones it runs beside
//     them), with conformance-next-expected-failures.yml.
// The suite needs Node 22; it runs under the node binary of the `node` devDependency, whatever node
// runs this script.
//
//   WARDEN_URL=http://127.0.0.1:PORT/mcp node conformance.mjs [--next]   # against a running server
//   node conformance.mjs [--next]                                        # starts its own server
//
// Prints one line per scenario (pass / expected-fail with its reason / FAIL / STALE), then
// `N passed, N failed` as its last line: N failed counts unexpected failures and stale baseline
// entries. Exit status 0 only if that is 0 and the suite itself exited 0.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const next = process.argv.includes('--next');
const baselineFile = path.join(here, next ? 'conformance-next-expected-failures.yml' : 'conformance-expected-failures.yml');
const cli = next ? path.join(here, 'node_modules', 'conformance-next', 'dist', 'index.js')
  : path.join(here, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const node22 = path.join(here, 'node_modules', 'node', 'bin', 'node');

class Fatal extends Error {}

function die(msg) {
  throw new Fatal(msg);
}

/** The baseline: scenario -> reason (the comment line just above its entry). */
function readBaseline(file) {
  const entries = new Map();
  let comment = null;
  let inServer = false;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trimEnd();
    if (/^server:\s*$/.test(line)) { inServer = true; continue; }
    if (/^\S/.test(line) && !line.startsWith('#')) { inServer = false; continue; }
    if (!inServer) continue;
    const c = line.match(/^\s+#\s?(.*)$/);
    if (c) { comment = c[1]; continue; }
    const e = line.match(/^\s+-\s+([A-Za-z0-9_.-]+)\s*$/);
    if (e) {
      if (!comment) die(`${path.basename(file)}: entry ${e[1]} has no reason comment above it`);
      entries.set(e[1], comment);
      comment = null;
    }
  }
  return entries;
}

function runCli(args, opts = {}) {
  return spawnSync(node22, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
}

async function main() {
  if (!fs.existsSync(cli)) die(`${cli} is missing: run npm ci in ${here}`);
  if (!fs.existsSync(node22)) die(`${node22} is missing: run npm ci in ${here} (the node@22 devDependency)`);
  const version = spawnSync(node22, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (!/^v2[2-9]\./.test(version)) die(`the suite needs Node 22, ${node22} is ${version}`);

  const baseline = readBaseline(baselineFile);

  let url = process.env.WARDEN_URL;
  let server = null;
  if (!url) {
    const { startHttpServer, tempDir } = await import('./lib/warden.mjs');
    const dir = tempDir('conformance');
    server = await startHttpServer({ audit: path.join(dir, 'audit.jsonl') });
    url = server.url;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }

  try {
    const listed = runCli(['list', '--server']);
    let scenarios = [...listed.stdout.matchAll(/^\s+-\s+([a-z0-9-]+)/gm)].map((m) => m[1]);
    if (listed.status !== 0 || scenarios.length === 0) die(`conformance list --server failed: ${listed.stderr}`);
    for (const name of baseline.keys()) {
      if (!scenarios.includes(name)) die(`baseline entry ${name} is not a scenario of this suite version`);
    }
    const selection = next ? ['--requirements', '2026-07-28'] : ['--suite', 'all'];

    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-conformance-'));
    let run;
    try {
      console.log(next ? `conformance ${path.basename(path.dirname(path.dirname(cli)))}: the 2026-07-28 requirement set against ${url} (node ${version})`
        : `conformance: ${scenarios.length} server scenarios against ${url} (node ${version})`);
      run = runCli(['server', '--url', url, ...selection, '--expected-failures', baselineFile, '-o', out],
        { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60 * 1000 });
      const summaryAt = run.stdout.indexOf('=== SUMMARY ===');
      if (next) {
        // the requirement set decides which scenarios run: the summary names each one it ran
        const ran = [...run.stdout.slice(Math.max(0, summaryAt)).matchAll(/^[✓✗]\s+([a-z0-9-]+):/gmu)].map((m) => m[1]);
        if (ran.length === 0) die(`conformance server ran no scenario: ${run.stdout.slice(-2000)}${run.stderr}`);
        scenarios = ran;
        for (const name of baseline.keys()) {
          if (!scenarios.includes(name)) die(`baseline entry ${name} is not a scenario of --requirements 2026-07-28`);
        }
      }
      // The suite counts checks per scenario; say so, so those lines are not read as the closing tally.
      const shown = (summaryAt >= 0 ? run.stdout.slice(summaryAt) : run.stdout)
        .replace(/(\d+) passed, (\d+) failed/g, '$1 checks passed, $2 checks failed');
      process.stdout.write(shown);
      if (run.stderr.trim()) process.stderr.write(run.stderr);

      // Per scenario, from the suite's own checks.json files.
      const results = new Map();
      for (const d of fs.readdirSync(out)) {
        const m = d.match(/^server-(.+)-(\d{4}-\d{2}-\d{2}T[\d-]+Z)$/);
        if (!m) continue;
        const checks = JSON.parse(fs.readFileSync(path.join(out, d, 'checks.json'), 'utf8'));
        const failures = checks.filter((c) => c.status === 'FAILURE');
        const warnings = checks.filter((c) => c.status === 'WARNING');
        results.set(m[1], { failures, warnings, checks });
      }

      let passed = 0;
      let failed = 0;
      let expected = 0;
      console.log('\nconformance scenarios:');
      for (const name of scenarios) {
        const r = results.get(name);
        const why = baseline.get(name);
        if (!r) {
          failed++;
          console.log(`  FAIL           ${name}: no result (the scenario did not run)`);
          continue;
        }
        // Same rule as the suite's baseline logic: a WARNING counts against a scenario too.
        const bad = r.failures.length > 0 || r.warnings.length > 0;
        const detail = [...r.failures, ...r.warnings].map((c) => `${c.status} ${c.id}: ${c.errorMessage ?? c.description ?? ''}`)
          .join(' | ').slice(0, 300);
        if (!bad && !why) {
          passed++;
          console.log(`  pass           ${name} (${r.checks.filter((c) => c.status === 'SUCCESS').length} checks)`);
        } else if (bad && why) {
          expected++;
          console.log(`  expected-fail  ${name}: ${why}`);
        } else if (bad) {
          failed++;
          console.log(`  FAIL           ${name}: ${detail}`);
        } else {
          failed++;
          console.log(`  STALE          ${name}: passes now; remove it from ${path.basename(baselineFile)}`);
        }
      }
      console.log(`\nconformance: ${passed} passed, ${expected} expected failures (baseline), ${failed} failed; suite exit ${run.status}`);
      if (run.status !== 0 && failed === 0) {
        failed++;
        console.log('conformance: the suite exited non-zero although every scenario matched the baseline');
      }
      console.log(`${passed} passed, ${failed} failed`);
      return failed === 0 ? 0 : 1;
    } finally {
      if (!process.env.CONFORMANCE_KEEP_RESULTS) fs.rmSync(out, { recursive: true, force: true });
    }
  } finally {
    await server?.stop();
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(`conformance: ${e instanceof Fatal ? e.message : e?.stack ?? e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
