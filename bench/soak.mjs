// The long soak: tests/mcp/lib/soak.mjs (the same code as tests/mcp/soak.test.mjs) at full size,
// printing its figures. Run it through bench/soak.sh; see bench/README.md.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runSoak } from '../tests/mcp/lib/soak.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
function flag(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}
const clients = Number(flag('clients', 8));
const stdio = Number(flag('stdio', Math.max(1, Math.round(clients * 3 / 8))));
const options = {
  calls: Number(flag('calls', 10_000)),
  stdioClients: stdio,
  httpClients: clients - stdio,
  concurrency: Number(flag('concurrency', 3)),
  dockerFault: flag('docker-fault', 'engine'),
  maxMinutes: Number(flag('max-minutes', 120)),
  sampleMs: Number(flag('sample-ms', 2000)),
  log: (line) => process.stderr.write(`${line}\n`),
};
if (flag('seed')) options.seed = Number(flag('seed'));

const result = await runSoak(options);
const out = flag('out', path.join(here, 'out'));
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'soak.txt'), `${result.summary}\n`);
fs.writeFileSync(path.join(out, 'soak-samples.json'), JSON.stringify({ rss: result.samples, faults: result.faults }, null, 1));
console.log(result.summary);
process.exit(result.problems.length ? 1 : 0);
