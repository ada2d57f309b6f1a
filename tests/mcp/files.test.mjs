// The file tools through the official TypeScript SDK client (its output schemas checked): read_file,
// write_file and list_files round trips of text and random binary, offsets and lengths, paths that
// lead out of the workspace (.., absolute, a symlink a run planted to /etc) refused as invalid and the
// host unharmed, create on an existing file refused, secrets redacted from text, an image read whole
// also sent as image content, listings with and without recursion, and an audit line per call.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { readAudit, stdioClient, tempDir } from './lib/warden.mjs';

// a 1x1 PNG
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

describe('file tools', () => {
  const dir = tempDir('files');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const audit = path.join(dir, 'audit.jsonl');
  let c;

  async function tool(name, args) {
    const res = await c.client.callTool({ name, arguments: args });
    const sc = res.structuredContent;
    assert.ok(sc, JSON.stringify(res));
    assert.deepEqual(JSON.parse(res.content[0].text), sc);
    assert.equal(res.isError === true, sc.status !== 'ok', JSON.stringify(sc));
    assert.ok(typeof sc.execution_id === 'string');
    if (sc.status !== 'ok') assert.ok(sc.message, 'a refusal says why');
    return { sc, res };
  }

  before(async () => {
    c = await stdioClient({ audit, workspace, name: 'files' });
    await c.listTools(); // the SDK client then checks each structuredContent against the tool's outputSchema
  });

  after(async () => {
    await c?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('text: write, read, append, read by offset and length; create refuses an existing file', async () => {
    let { sc } = await tool('write_file', { path: 'notes/a.txt', content: 'héllo\nworld\n', mode: 'create' });
    assert.equal(sc.status, 'ok', JSON.stringify(sc));
    assert.equal(sc.size, 13);
    ({ sc } = await tool('write_file', { path: 'notes/a.txt', content: 'again', mode: 'create' }));
    assert.equal(sc.status, 'invalid');
    assert.match(sc.message, /exists already/);
    ({ sc } = await tool('write_file', { path: 'notes/a.txt', content: 'more\n', mode: 'append' }));
    assert.equal(sc.size, 18);
    ({ sc } = await tool('read_file', { path: 'notes/a.txt' }));
    assert.deepEqual([sc.content, sc.encoding, sc.mime, sc.size, sc.truncated], ['héllo\nworld\nmore\n', 'text', 'text/plain', 18, false]);
    ({ sc } = await tool('read_file', { path: 'notes/a.txt', offset: 7, length: 5 }));
    assert.deepEqual([sc.content, sc.truncated], ['world', true]);
    // a run sees what the tool wrote, and the tool what a run wrote
    const ran = await c.call('run_command', { command: 'cat notes/a.txt' });
    assert.equal(ran.stdout, 'héllo\nworld\nmore\n');
    await c.call('execute_code', { language: 'python', code: 'open("made.txt", "w").write("by a run\\n")' });
    ({ sc } = await tool('read_file', { path: 'made.txt' }));
    assert.equal(sc.content, 'by a run\n');
  });

  it('binary: 300 KB of random bytes round trip in base64, in pieces', async () => {
    const data = crypto.randomBytes(300_000);
    let { sc } = await tool('write_file', { path: 'bin/data.bin', content: data.subarray(0, 200_000).toString('base64'), encoding: 'base64' });
    assert.equal(sc.status, 'ok', JSON.stringify(sc));
    ({ sc } = await tool('write_file', { path: 'bin/data.bin', content: data.subarray(200_000).toString('base64'), encoding: 'base64', mode: 'append' }));
    assert.equal(sc.size, 300_000);
    const parts = [];
    let offset = 0;
    for (;;) {
      ({ sc } = await tool('read_file', { path: 'bin/data.bin', offset, length: 128 * 1024 }));
      assert.equal(sc.encoding, 'base64', 'binary is base64 unless text is asked for');
      const got = Buffer.from(sc.content, 'base64');
      parts.push(got);
      offset += got.length;
      if (!sc.truncated) break;
    }
    assert.ok(Buffer.concat(parts).equals(data), 'the bytes came back unaltered');
    const ran = await c.call('run_command', { command: 'sha256sum bin/data.bin' });
    assert.equal(ran.stdout.split(' ')[0], crypto.createHash('sha256').update(data).digest('hex'));
  });

  it('paths that lead out are invalid and the host is unharmed', async () => {
    await c.call('run_command', { command: 'ln -s /etc etclink' });
    await c.call('run_command', { command: 'ln -s /etc/hostname hostlink' });
    const marker = `warden-files-${crypto.randomBytes(4).toString('hex')}`;
    for (const [name, args] of [
      ['read_file', { path: '../../../../etc/passwd' }],
      ['read_file', { path: '/etc/passwd' }],
      ['read_file', { path: 'etclink/passwd' }],
      ['read_file', { path: 'hostlink' }],
      ['list_files', { path: 'etclink' }],
      ['list_files', { path: '..' }],
      ['write_file', { path: `../${marker}`, content: 'x' }],
      ['write_file', { path: `/tmp/${marker}`, content: 'x' }],
      ['write_file', { path: `etclink/${marker}`, content: 'x' }],
      ['write_file', { path: 'hostlink', content: 'x' }],
      ['read_file', { path: 'no/such/file' }],
      ['read_file', { path: 'notes' }],
    ]) {
      const { sc } = await tool(name, args);
      assert.equal(sc.status, 'invalid', `${name} ${JSON.stringify(args)}: ${JSON.stringify(sc)}`);
      assert.equal(sc.content, undefined, 'nothing of it came back');
    }
    for (const p of [`/tmp/${marker}`, `/etc/${marker}`, path.join(dir, marker), path.join(path.dirname(workspace), marker)]) {
      assert.ok(!fs.existsSync(p), `${p} was written`);
    }
    assert.notEqual(fs.readFileSync('/etc/hostname', 'utf8'), 'x');
  });

  it('secrets in text are redacted and counted; an image also comes back as image content', async () => {
    await tool('write_file', { path: '.env', content: 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' });
    let { sc } = await tool('read_file', { path: '.env' });
    assert.ok(sc.redactions >= 1, JSON.stringify(sc));
    assert.doesNotMatch(sc.content, /wJalrXUtnFEMI/);
    await tool('write_file', { path: 'plot.png', content: PNG.toString('base64'), encoding: 'base64' });
    const read = await tool('read_file', { path: 'plot.png' });
    assert.equal(read.sc.mime, 'image/png');
    const image = read.res.content.find((x) => x.type === 'image');
    assert.ok(image, JSON.stringify(read.res.content.map((x) => x.type)));
    assert.equal(image.mimeType, 'image/png');
    assert.ok(Buffer.from(image.data, 'base64').equals(PNG));
  });

  it('list_files: a directory, the whole tree, a cap; symlinks listed, not followed', async () => {
    await c.call('run_command', { command: "bash -c 'mkdir -p tree/a/b && for i in 1 2 3; do echo $i > tree/a/b/f$i; done && echo top > tree/top.txt && ln -s /etc tree/out'" });
    let { sc } = await tool('list_files', { path: 'tree' });
    assert.deepEqual(sc.entries.map((e) => [e.path, e.type]), [['tree/a', 'dir'], ['tree/out', 'symlink'], ['tree/top.txt', 'file']]);
    assert.equal(sc.truncated, false);
    assert.equal(sc.entries.find((e) => e.path === 'tree/top.txt').size, 4);
    assert.ok(!Number.isNaN(Date.parse(sc.entries[0].modified)));
    ({ sc } = await tool('list_files', { path: 'tree', recursive: true }));
    assert.deepEqual(sc.entries.map((e) => e.path), ['tree/a', 'tree/a/b', 'tree/a/b/f1', 'tree/a/b/f2', 'tree/a/b/f3', 'tree/out', 'tree/top.txt']);
    ({ sc } = await tool('list_files', { path: 'tree', recursive: true, max_entries: 2 }));
    assert.equal(sc.entries.length, 2);
    assert.equal(sc.truncated, true);
    ({ sc } = await tool('list_files', {}));
    assert.ok(sc.entries.some((e) => e.path === 'notes' && e.type === 'dir'), JSON.stringify(sc.entries));
  });

  it('bad arguments are invalid, and every call has its audit line', async () => {
    for (const [name, args, pattern] of [
      ['read_file', {}, /path is required/],
      ['read_file', { path: 'a', encoding: 'hex' }, /encoding/],
      ['write_file', { path: 'x', content: 'y', mode: 'replace' }, /mode/],
      ['write_file', { path: 'x', content: '%%%', encoding: 'base64' }, /base64/],
      ['list_files', { max_entries: 0 }, /max_entries/],
      ['list_files', { deep: true }, /unknown argument/],
    ]) {
      const { sc } = await tool(name, args);
      assert.equal(sc.status, 'invalid', `${name} ${JSON.stringify(args)}: ${JSON.stringify(sc)}`);
      assert.match(sc.message, pattern);
    }
    const lines = readAudit(audit).filter((l) => ['read_file', 'write_file', 'list_files'].includes(l.tool));
    assert.ok(lines.length >= 30, `${lines.length} file tool lines`);
    assert.ok(lines.every((l) => l.type === 'call' && l.execution_id && l.status));
    assert.ok(lines.some((l) => l.tool === 'read_file' && l.status === 'invalid' && /leads out|does not exist/.test(l.message)));
  });
});
