import { stdioClient, checkResult } from './lib/warden.mjs';
const c = await stdioClient({});
await c.listTools();
async function call(args) { const res = await c.client.callTool({ name: 'execute_code', arguments: args }); return res.structuredContent; }
for (const [label, a] of [['kernel', { language: 'python', code: 'print(1)', kernel: 'k' }], ['stateless', { language: 'python', code: 'print(1)' }]]) {
  const ts = [];
  for (let i = 0; i < 40; i++) { const t = process.hrtime.bigint(); const sc = await call(a); (globalThis.d ??= []).push(sc.duration_ms); ts.push(Number(process.hrtime.bigint() - t) / 1e6); if (sc.status !== 'ok') console.log(sc); }
  ts.sort((x, y) => x - y); const d = globalThis.d.sort((x,y)=>x-y); globalThis.d = []; console.log(label, "dur p50", d[20], 'p50', ts[20].toFixed(1), 'p90', ts[36].toFixed(1), 'min', ts[0].toFixed(1));
}
await c.close();
