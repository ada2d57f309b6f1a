// Artifacts and workspace resources through the official TypeScript SDK client (its output schemas
// checked), over stdio and Streamable HTTP: a run that writes out.csv and plot.png lists both as
// artifacts {path, size, mime, uri}, with a resource_link for each and the PNG as image content;
// resources/read of the CSV's uri answers its text sanitized (a secret redacted), of the PNG a blob
// with the same bytes; another session (another server process over stdio) gets an error for the first
// one's URIs and nothing of their content; URIs with .., an absolute path or a symlink that leads out
// are refused; a run that changes nothing has artifacts [] (L2) or none at all (L1, read-only); the
// template is in resources/templates/list and resources/list is empty; reads are audited.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { checkResult, httpClient, readAudit, startHttpServer, stdioClient, tempDir } from './lib/warden.mjs';

// a 1x1 PNG
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const CSV = `name,value\nkey,AWS_SECRET_ACCESS_KEY=${SECRET}\nplain,42\n`;
const WRITE = [
  'import base64, os',
  `open("out.csv", "w").write(${JSON.stringify(CSV)})`,
  `open("plot.png", "wb").write(base64.b64decode("${PNG.toString('base64')}"))`,
  'os.makedirs("sub dir", exist_ok=True)',
  'open("sub dir/notes.txt", "w").write("nested\\n")',
  'print("wrote")',
].join('\n');

/** A tool call through the SDK client: the whole MCP result and its checked structuredContent. */
async function call(c, name, args) {
  await c.listTools(); // the SDK client then checks structuredContent against the outputSchema
  const res = await c.client.callTool({ name, arguments: args });
  return { res, sc: checkResult(res) };
}

/** resources/read that must fail: the SDK client's error, with nothing of the file in it. */
async function refused(c, uri, code) {
  const e = await c.client.readResource({ uri }).then(
    (r) => assert.fail(`${uri} was answered: ${JSON.stringify(r).slice(0, 300)}`),
    (err) => err,
  );
  if (code !== undefined) assert.equal(e.code, code, `${uri}: ${e.message}`);
  assert.doesNotMatch(String(e.message), /root:|wJalrXUtnFEMI|name,value/, 'no content in the error');
  return e;
}

for (const transport of ['stdio', 'http']) {
  describe(`artifacts and workspace resources over ${transport}`, () => {
    const dir = tempDir(`artifacts-${transport}`);
    const workspace = path.join(dir, 'ws');
    fs.mkdirSync(workspace);
    const audit = path.join(dir, 'audit.jsonl');
    let server;
    let c;
    let other;
    let first; // the writing run: { res, sc }

    before(async () => {
      if (transport === 'http') {
        server = await startHttpServer({ audit, workspace });
        c = await httpClient(server, { name: 'artifacts' });
        other = await httpClient(server, { name: 'artifacts-other' }); // another session, another identity (no tokens)
      } else {
        c = await stdioClient({ audit, workspace, name: 'artifacts' });
        other = await stdioClient({ audit: path.join(dir, 'audit-other.jsonl'), workspace, name: 'artifacts-other' });
      }
      first = await call(c, 'execute_code', { language: 'python', code: WRITE });
    });

    after(async () => {
      await c?.close();
      await other?.close();
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('a run that writes files lists them as artifacts, links each, and sends the PNG as image content', () => {
      const { res, sc } = first;
      assert.equal(sc.status, 'ok', JSON.stringify(sc));
      assert.equal(sc.tier, 'L2');
      assert.deepEqual(sc.artifacts.map((a) => [a.path, a.size, a.mime]), [
        ['out.csv', Buffer.byteLength(CSV), 'text/csv'],
        ['plot.png', PNG.length, 'image/png'],
        ['sub dir/notes.txt', 7, 'text/plain'],
      ]);
      assert.equal(sc.artifacts_truncated, false);
      const id = sc.artifacts[0].uri.match(/^warden:\/\/workspace\/([A-Za-z0-9_-]+)\/out\.csv$/)?.[1];
      assert.ok(id, sc.artifacts[0].uri);
      assert.equal(sc.artifacts[2].uri, `warden://workspace/${id}/sub%20dir/notes.txt`);
      const links = res.content.filter((x) => x.type === 'resource_link');
      assert.deepEqual(links.map((l) => [l.uri, l.mimeType, l.size]), sc.artifacts.map((a) => [a.uri, a.mime, a.size]));
      const images = res.content.filter((x) => x.type === 'image');
      assert.equal(images.length, 1, JSON.stringify(res.content.map((x) => x.type)));
      assert.equal(images[0].mimeType, 'image/png');
      assert.ok(Buffer.from(images[0].data, 'base64').equals(PNG));
    });

    it('resources/read answers the CSV as sanitized text and the PNG as a blob of the same bytes', async () => {
      const [csv, png, notes] = first.sc.artifacts;
      let r = await c.client.readResource({ uri: csv.uri });
      assert.equal(r.contents.length, 1);
      assert.equal(r.contents[0].uri, csv.uri);
      assert.equal(r.contents[0].mimeType, 'text/csv');
      assert.match(r.contents[0].text, /^name,value\nkey,AWS_SECRET_ACCESS_KEY=.*\nplain,42\n$/);
      assert.ok(!r.contents[0].text.includes(SECRET), 'the secret is redacted');
      assert.equal(r.contents[0]._meta?.['warden/redactions'] >= 1, true, JSON.stringify(r.contents[0]._meta));
      r = await c.client.readResource({ uri: png.uri });
      assert.equal(r.contents[0].mimeType, 'image/png');
      assert.equal(r.contents[0].text, undefined);
      assert.ok(Buffer.from(r.contents[0].blob, 'base64').equals(PNG), 'the same bytes');
      r = await c.client.readResource({ uri: notes.uri });
      assert.equal(r.contents[0].text, 'nested\n', 'a path with a directory and a space');
    });

    it('another session gets an error for these URIs, and nothing of their content', async () => {
      for (const a of first.sc.artifacts) {
        await refused(other, a.uri, -32002);
      }
      // and its own runs see nothing of the first session's files
      const { sc } = await call(other, 'execute_code', { language: 'python', code: 'import os; print(sorted(os.listdir(".")))' });
      assert.equal(sc.stdout.trim(), '[]');
      assert.deepEqual(sc.artifacts, []);
    });

    it('URIs with .., an absolute path, or a symlink that leads out are refused', async () => {
      const id = first.sc.artifacts[0].uri.split('/')[3];
      const { sc } = await call(c, 'run_command', { command: "bash -c 'ln -s /etc/hostname hostlink && ln -s /etc etclink && ln -s .. up'" });
      assert.equal(sc.status, 'ok', JSON.stringify(sc));
      assert.deepEqual(sc.artifacts, [], 'symlinks are not artifacts');
      for (const uri of [
        `warden://workspace/${id}/../etc/passwd`,
        `warden://workspace/${id}/sub%20dir/../../../etc/passwd`,
        `warden://workspace/${id}/%2E%2E/%2E%2E/etc/passwd`,
        `warden://workspace/${id}//etc/passwd`,
        `warden://workspace/${id}/%2Fetc%2Fpasswd`,
        `warden://workspace/${id}/hostlink`,
        `warden://workspace/${id}/etclink/passwd`,
        `warden://workspace/${id}/up/up/etc/passwd`,
        `warden://workspace/${id}/no-such-file`,
        `warden://workspace/${id}/sub%20dir`,
        'warden://workspace/00000000000000000000000000/out.csv',
        '/etc/passwd',
        'file:///etc/passwd',
      ]) {
        await refused(c, uri);
      }
    });

    it('a run that changes nothing has no artifacts: [] when Warden looked (L2), absent at L1', async () => {
      let { res, sc } = await call(c, 'execute_code', { language: 'python', code: 'print(6 * 7)' });
      assert.equal(sc.stdout, '42\n');
      assert.deepEqual(sc.artifacts, []);
      assert.equal(sc.artifacts_truncated, false);
      assert.equal(res.content.filter((x) => x.type !== 'text').length, 0);
      ({ res, sc } = await call(c, 'run_command', { command: 'cat out.csv' }));
      assert.equal(sc.tier, 'L1', JSON.stringify(sc));
      assert.equal(sc.artifacts, undefined, 'L1 is read-only: Warden does not look');
      // changing one file lists that one only
      ({ sc } = await call(c, 'run_command', { command: "bash -c 'echo more >> sub\\ dir/notes.txt'" }));
      assert.deepEqual(sc.artifacts.map((a) => [a.path, a.size]), [['sub dir/notes.txt', 12]]);
    });

    it('a background run\'s final result lists its artifacts (links, no images) in get_execution', async () => {
      const { sc } = await call(c, 'execute_code', {
        language: 'python', background: true,
        code: `import base64; open("bg.png", "wb").write(base64.b64decode("${PNG.toString('base64')}")); print("done")`,
      });
      assert.equal(sc.status, 'running', JSON.stringify(sc));
      assert.equal(sc.artifacts, undefined, 'nothing is known yet');
      let got;
      for (let i = 0; i < 20; i++) {
        got = await call(c, 'get_execution', { execution_id: sc.execution_id, wait_ms: 5000 });
        if (got.sc.status !== 'running') break;
      }
      assert.equal(got.sc.status, 'ok', JSON.stringify(got.sc));
      assert.deepEqual(got.sc.artifacts.map((a) => [a.path, a.size, a.mime]), [['bg.png', PNG.length, 'image/png']]);
      assert.deepEqual(got.res.content.filter((x) => x.type === 'resource_link').map((l) => l.uri), [got.sc.artifacts[0].uri]);
      assert.equal(got.res.content.filter((x) => x.type === 'image').length, 0);
      const r = await c.client.readResource({ uri: got.sc.artifacts[0].uri });
      assert.ok(Buffer.from(r.contents[0].blob, 'base64').equals(PNG));
    });

    it('the workspace template is listed; resources/list is empty', async () => {
      const caps = c.client.getServerCapabilities();
      assert.ok(caps.resources, 'resources capability');
      const { resourceTemplates } = await c.client.listResourceTemplates();
      assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ['warden://workspace/{workspace_id}/{+path}']);
      assert.ok(resourceTemplates[0].name && resourceTemplates[0].description);
      const { resources } = await c.client.listResources();
      assert.deepEqual(resources, []);
    });

    it('every read is audited, and the call line counts the artifacts', async () => {
      const lines = readAudit(audit);
      const reads = lines.filter((l) => l.tool === 'resources/read');
      // the last two refused URIs match no template: the SDK refuses them before Warden's handler
      assert.ok(reads.length >= 3 + 11, `${reads.length} resources/read lines`);
      assert.ok(reads.some((l) => l.status === 'ok'));
      assert.ok(reads.some((l) => l.status === 'invalid'));
      const run = lines.find((l) => l.execution_id === first.sc.execution_id);
      assert.equal(run.artifacts, 3);
    });
  });
}
