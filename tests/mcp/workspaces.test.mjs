// Workspaces that do real work, through the official TypeScript SDK client (its output schemas checked):
// one owner per session (the same uid and HOME at L1, L2 and L3 and across calls, so git works with
// no safe.directory), project mode (--project: a user's git repository with a Makefile and a python
// test, worked on across calls, files left on the host owned by the directory's owner, the directory
// intact after the session, escapes from it refused, .git/hooks and .git/config read-only unless
// approved, an approved call's overlay checkpoint undone or kept), and durable workspaces
// (create_workspace, reached from a second session and after a server restart, its disk quota,
// refused to another identity, deleted).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { l3Available } from './lib/faults.mjs';
import { assertClearFailure, httpClient, readAudit, sleep, startExpectingFailure, startHttpServer, stdioClient, tempDir } from './lib/warden.mjs';

/** Calls a tool whose result is not a run's (the workspace tools): structuredContent, checked against its text copy. */
async function raw(c, name, args) {
  const res = await c.client.callTool({ name, arguments: args });
  const sc = res.structuredContent;
  assert.ok(sc, JSON.stringify(res));
  assert.deepEqual(JSON.parse(res.content[0].text), sc);
  assert.equal(res.isError === true, sc.status !== 'ok', JSON.stringify(sc));
  return sc;
}

describe('one owner per session', () => {
  const dir = tempDir('owner');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  let c;
  let other;

  before(async () => {
    [c, other] = await Promise.all([stdioClient({ workspace, name: 'owner' }), stdioClient({ workspace, name: 'owner-2' })]);
  });

  after(async () => {
    await Promise.all([c?.close(), other?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every call and every tier runs as the session uid with the same HOME; files keep their owner; git works', async () => {
    const l1 = await c.call('run_command', { command: 'id -u' });
    assert.equal(l1.tier, 'L1', JSON.stringify(l1));
    const uid = l1.stdout.trim();
    assert.match(uid, /^\d+$/);
    assert.notEqual(uid, '0');
    const l2 = await c.call('run_command', { command: 'id -u; echo "$HOME"; touch made-by-one; stat -c %u made-by-one' });
    assert.equal(l2.tier, 'L2', JSON.stringify(l2));
    assert.deepEqual(l2.stdout.split('\n').slice(0, 3), [uid, '/home/sandbox', uid]);
    const git = await c.call('run_command', {
      command: 'git init -q repo && cd repo && git config user.email a@example.org && git config user.name A'
        + ' && echo one > f && git add f && git commit -qm one && echo committed',
    });
    assert.equal(git.stdout, 'committed\n', JSON.stringify(git));
    // a later call (a new sandbox) finds the files its own and git the repository
    const again = await c.call('run_command', { command: 'cd repo && echo two >> f && git commit -qam two && git log --oneline | wc -l && git status --short' });
    assert.equal(again.status, 'ok', JSON.stringify(again));
    assert.equal(again.stdout, '2\n', JSON.stringify(again));
    // HOME keeps what a call put there (git's global config)
    await c.call('run_command', { command: 'git config --global user.name "Home Kept"' });
    const home = await c.call('run_command', { command: 'git config --global user.name' });
    assert.equal(home.stdout, 'Home Kept\n', JSON.stringify(home));
    const py = await c.call('execute_code', { language: 'python', code: 'import os; print(os.getuid(), os.environ["HOME"])' });
    assert.equal(py.stdout, `${uid} /home/sandbox\n`, JSON.stringify(py));
    if (l3Available(['go']).ok) {
      const go = await c.call('execute_code', {
        language: 'go',
        code: 'package main\nimport ("fmt";"os")\nfunc main(){ b, err := os.ReadFile("made-by-one"); fmt.Println(os.Getuid(), os.Getenv("HOME"), len(b), err == nil) }',
      });
      assert.equal(go.tier, 'L3', JSON.stringify(go));
      assert.equal(go.stdout, `${uid} /home/sandbox 0 true\n`, JSON.stringify(go));
    }
    // another session has a uid of its own and sees nothing of this one
    const theirs = await other.call('run_command', { command: 'id -u; ls' });
    assert.equal(theirs.status, 'ok', JSON.stringify(theirs));
    assert.notEqual(theirs.stdout.split('\n')[0], uid);
    assert.equal(theirs.stdout.split('\n')[1], '');
  });
});

describe('project mode (--project)', () => {
  const dir = tempDir('project');
  const workspace = path.join(dir, 'ws');
  const project = path.join(dir, 'proj');
  const OWNER = 4321;
  let c;

  before(async () => {
    fs.mkdirSync(workspace);
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'Makefile'), 'test:\n\tpython3 -m unittest -q test_calc\n');
    fs.writeFileSync(path.join(project, '.gitignore'), '__pycache__/\n');
    fs.writeFileSync(path.join(project, 'calc.py'), 'def add(a, b):\n    return a + b\n');
    fs.writeFileSync(path.join(project, 'test_calc.py'),
      'import unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n');
    execFileSync('git', ['init', '-q', project]);
    // the user's own hook: the guard holds it, and the git check after each run leaves it alone
    fs.writeFileSync(path.join(project, '.git', 'hooks', 'post-merge'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    execFileSync('chown', ['-R', `${OWNER}:${OWNER}`, project]);
    fs.chmodSync(dir, 0o755);
    c = await stdioClient({
      workspace, name: 'project', args: ['--project', project],
      onElicit: async () => ({ action: 'accept', content: { decision: 'approve_once' } }),
    });
  });

  after(async () => {
    await c?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('make test, git status and git commit across calls; new files are the owner\'s; the project outlives the session', async () => {
    const who = await c.call('run_command', { command: 'id -u; id -g; ls' });
    assert.equal(who.stdout, `${OWNER}\n${OWNER}\nMakefile\ncalc.py\ntest_calc.py\n`, JSON.stringify(who));
    const test = await c.call('run_command', { command: 'make test' });
    assert.equal(test.status, 'ok', JSON.stringify(test));
    assert.match(test.stderr, /OK/);
    const status = await c.call('run_command', { command: 'git status --short' });
    assert.equal(status.stdout, '?? .gitignore\n?? Makefile\n?? calc.py\n?? test_calc.py\n', JSON.stringify(status));
    const commit = await c.call('run_command', {
      command: 'git -c user.email=a@example.org -c user.name=A add -A && git -c user.email=a@example.org -c user.name=A commit -qm first && echo ok',
    });
    assert.equal(commit.stdout, 'ok\n', JSON.stringify(commit));
    const written = await c.call('run_command', { command: 'mkdir -p out && echo result > out/answer.txt && git log --oneline | wc -l' });
    assert.equal(written.stdout, '1\n', JSON.stringify(written));
    // on the host: the agent's file, owned by the project's owner
    const st = fs.statSync(path.join(project, 'out', 'answer.txt'));
    assert.equal(st.uid, OWNER);
    assert.equal(fs.readFileSync(path.join(project, 'out', 'answer.txt'), 'utf8'), 'result\n');
    // the same through the file tools
    const wf = await c.client.callTool({ name: 'write_file', arguments: { path: 'notes.md', content: '# notes\n' } });
    assert.equal(wf.structuredContent.status, 'ok', JSON.stringify(wf.structuredContent));
    assert.equal(fs.statSync(path.join(project, 'notes.md')).uid, OWNER);
  });

  it('escapes from the project are refused and the host is unharmed', async () => {
    fs.writeFileSync(path.join(dir, 'outside.txt'), 'host file\n');
    const up = await c.call('run_command', { command: 'cat ../outside.txt; ls /workspace/..; echo x > /outside-write 2>&1; echo done' });
    assert.doesNotMatch(up.stdout, /host file/);
    const link = await c.call('run_command', { command: `ln -sf ${path.join(dir, 'outside.txt')} leak && cat leak; ln -sf /etc/shadow shadow; echo planted` });
    assert.doesNotMatch(link.stdout, /host file/);
    for (const p of ['leak', 'shadow', '../outside.txt', path.join(dir, 'outside.txt')]) {
      const r = await c.client.callTool({ name: 'read_file', arguments: { path: p } });
      assert.equal(r.structuredContent.status, 'invalid', `${p}: ${JSON.stringify(r.structuredContent)}`);
    }
    assert.equal(fs.readFileSync(path.join(dir, 'outside.txt'), 'utf8'), 'host file\n');
    // never root, even asked
    const root = await c.call('run_command', { command: 'id -u' });
    assert.notEqual(root.stdout.trim(), '0');
  });

  it('.git/hooks and .git/config are read-only and .git pinned, at every tier, unless a person approved the call', async () => {
    const hooks = path.join(project, '.git', 'hooks');
    const config = fs.readFileSync(path.join(project, '.git', 'config'), 'utf8');
    const tries = await c.call('run_command', {
      command: 'echo "#!/bin/sh" > .git/hooks/pre-commit; git config core.fsmonitor "touch /tmp/pwned"; '
        + 'mv .git .git-old; rm -rf .git/hooks .git/config; git log --oneline | wc -l',
    });
    assert.equal(tries.status, 'ok', JSON.stringify(tries));
    assert.match(tries.stderr, /Read-only file system/);
    assert.match(tries.stderr, /Device or resource busy/);
    assert.ok(!fs.existsSync(path.join(hooks, 'pre-commit')), 'no hook reached the project');
    assert.equal(fs.readFileSync(path.join(project, '.git', 'config'), 'utf8'), config);
    assert.ok(!fs.existsSync(path.join(project, '.git-old')));
    const wf = await c.client.callTool({ name: 'write_file', arguments: { path: '.git/config', content: '[core]\n\tfsmonitor = x\n' } });
    assert.notEqual(wf.structuredContent.status, 'ok', JSON.stringify(wf.structuredContent));
    assert.equal(fs.readFileSync(path.join(project, '.git', 'config'), 'utf8'), config);
    if (l3Available(['go']).ok) {
      const go = await c.call('execute_code', {
        language: 'go',
        code: 'package main\nimport ("fmt";"os")\nfunc main(){ fmt.Println(os.WriteFile(".git/hooks/post-checkout", []byte("x"), 0755) != nil) }',
      });
      assert.equal(go.stdout, 'true\n', JSON.stringify(go));
      assert.ok(!fs.existsSync(path.join(hooks, 'post-checkout')));
    }
    // approved: the call works on its own view, where a hook can be written (and is kept)
    const approved = await c.call('run_command', { command: 'echo "#!/bin/sh" > .git/hooks/pre-push && echo written', timeout_ms: 200_000 });
    assert.equal(approved.stdout, 'written\n', JSON.stringify(approved));
    assert.ok(fs.existsSync(path.join(hooks, 'pre-push')));
    fs.rmSync(path.join(hooks, 'pre-push'));
    // and the session's next call is guarded again
    const again = await c.call('run_command', { command: 'touch .git/hooks/x' });
    assert.match(again.stderr, /Read-only file system/);
  });

  it('a repository planted for the user\'s own git to enter (a submodule with core.fsmonitor and a hook, a commondir, a gitfile out) is set aside after the call', async () => {
    // where the planted programs would leave their mark on the host, writable by the project's owner
    const marks = path.join(dir, 'marks');
    fs.mkdirSync(marks, { mode: 0o777 });
    fs.chmodSync(marks, 0o777);
    const mark = path.join(marks, 'git-ran-it');
    const planted = await c.call('run_command', {
      command: [
        'set -e',
        'mkdir -p vendor/lib dep other',
        'git -C vendor/lib init -q',
        'git -C vendor/lib -c user.email=a@example.org -c user.name=A commit -q --allow-empty -m s',
        `git -C vendor/lib config core.fsmonitor "touch ${mark}; false"`,
        `printf '#!/bin/sh\\ntouch ${mark}\\n' > vendor/lib/.git/hooks/post-checkout`,
        'chmod +x vendor/lib/.git/hooks/post-checkout',
        'git update-index --add --cacheinfo 160000,$(git -C vendor/lib rev-parse HEAD),vendor/lib',
        'echo ../elsewhere > .git/commondir',
        'echo "gitdir: /tmp/evil" > other/.git',
        'git -C dep init -q', // a plain nested repository: nothing in it runs anything
        'mkdir -p alias && echo "gitdir: ../.git" > alias/.git', // names the project's own gitdir: the user's, left alone
        'echo planted',
      ].join('\n'),
    });
    assert.equal(planted.stdout, 'planted\n', JSON.stringify(planted));
    const f = planted.findings.find((x) => x.rule === 'project.git_exec');
    assert.ok(f, `a finding: ${JSON.stringify(planted.findings)}`);
    assert.equal(f.severity, 'critical');
    assert.equal(planted.findings.filter((x) => x.rule === 'project.git_exec').length, 1, 'nothing failed to be set aside');
    for (const p of ['vendor/lib/.git/config', 'vendor/lib/.git/hooks/post-checkout', '.git/commondir', 'other/.git']) {
      assert.match(f.detail, new RegExp(p.replace(/\./g, '\\.')), f.detail);
      assert.ok(!fs.existsSync(path.join(project, p)), `${p} set aside`);
      assert.ok(fs.existsSync(path.join(project, `${p}.warden-quarantined`)), `${p}.warden-quarantined kept for the user`);
    }
    assert.ok(fs.existsSync(path.join(project, 'dep', '.git', 'config')), 'a plain nested repository keeps its config');
    assert.ok(fs.existsSync(path.join(project, '.git', 'hooks', 'post-merge')), 'the user\'s own hook is left alone');
    assert.doesNotMatch(f.detail, /dep\//);
    // the user's own git on the host, as the project's owner: status enters the submodule, and runs nothing
    const home = path.join(marks, 'home');
    fs.mkdirSync(home, { mode: 0o777 });
    execFileSync('setpriv', ['--reuid', String(OWNER), '--regid', String(OWNER), '--clear-groups', '--',
      'git', '-C', project, 'status', '--short'], { env: { PATH: process.env.PATH, HOME: home }, stdio: 'ignore' });
    assert.ok(!fs.existsSync(mark), 'the user\'s git status ran nothing the agent planted');
    // a background run is checked when it ends
    const bg = await c.call('run_command', { command: 'sleep 1; git init -q later && printf "#!/bin/sh\\n" > later/.git/hooks/pre-commit && chmod +x later/.git/hooks/pre-commit', background: true });
    assert.equal(bg.status, 'running', JSON.stringify(bg));
    let end = bg;
    for (let i = 0; i < 10 && end.status === 'running'; i++) {
      end = await c.call('get_execution', { execution_id: bg.execution_id, wait_ms: 5000 });
    }
    assert.equal(end.status, 'ok', JSON.stringify(end));
    assert.ok(end.findings.some((x) => x.rule === 'project.git_exec' && /later\/\.git\/hooks\/pre-commit/.test(x.detail)),
      JSON.stringify(end.findings));
    assert.ok(!fs.existsSync(path.join(project, 'later', '.git', 'hooks', 'pre-commit')));
    await c.call('run_command', { command: 'rm -rf vendor dep other later alias; git rm -q --cached vendor/lib; rm -f .git/commondir.warden-quarantined' });
  });

  it('an approved call that fails leaves the project as it was; one that succeeds keeps every kind of change', async () => {
    const LONG = 200_000; // more than max_timeout_ms: held for a person, approved by the client above
    fs.mkdirSync(path.join(project, 'keepdir'));
    fs.writeFileSync(path.join(project, 'keepdir', 'inner.txt'), 'inner\n');
    execFileSync('chown', ['-R', `${OWNER}:${OWNER}`, path.join(project, 'keepdir')]);
    const before = fs.readFileSync(path.join(project, 'calc.py'), 'utf8');
    const bad = await c.call('run_command', {
      command: 'echo broken > calc.py; rm -f Makefile; rm -rf keepdir; echo junk > junk.txt; exit 3', timeout_ms: LONG,
    });
    assert.equal(bad.status, 'failed', JSON.stringify(bad));
    assert.equal(bad.approval?.decision, 'approved', JSON.stringify(bad));
    assert.equal(bad.workspace_restored, true, JSON.stringify(bad));
    assert.equal(fs.readFileSync(path.join(project, 'calc.py'), 'utf8'), before);
    assert.ok(fs.existsSync(path.join(project, 'Makefile')));
    assert.equal(fs.readFileSync(path.join(project, 'keepdir', 'inner.txt'), 'utf8'), 'inner\n');
    assert.ok(!fs.existsSync(path.join(project, 'junk.txt')));
    const seen = await c.call('run_command', { command: 'cat calc.py; ls junk.txt 2>&1 || true' });
    assert.equal(seen.stdout.startsWith(before), true, JSON.stringify(seen));
    const good = await c.call('run_command', {
      command: 'echo "# v2" >> calc.py; rm -f notes.md; rm -rf keepdir && mkdir keepdir && echo fresh > keepdir/other.txt;'
        + ' mkdir -p deep/er && echo new > deep/er/new.txt', timeout_ms: LONG,
    });
    assert.equal(good.status, 'ok', JSON.stringify(good));
    assert.equal(good.workspace_restored, false);
    assert.equal(fs.readFileSync(path.join(project, 'calc.py'), 'utf8'), `${before}# v2\n`);
    assert.ok(!fs.existsSync(path.join(project, 'notes.md')), 'a deleted file is deleted');
    assert.deepEqual(fs.readdirSync(path.join(project, 'keepdir')), ['other.txt'], 'a directory replaced whole');
    assert.equal(fs.readFileSync(path.join(project, 'deep', 'er', 'new.txt'), 'utf8'), 'new\n');
    assert.equal(fs.statSync(path.join(project, 'deep', 'er', 'new.txt')).uid, OWNER);
    // the session goes on working in the project itself
    const after = await c.call('run_command', { command: 'cat deep/er/new.txt; echo later > later.txt' });
    assert.equal(after.stdout, 'new\n');
    assert.ok(fs.existsSync(path.join(project, 'later.txt')));
    fs.writeFileSync(path.join(project, 'notes.md'), '# notes\n'); // for the next test
  });

  it('a session that ends leaves the project in place with everything in it', async () => {
    await c.close();
    c = null;
    for (const f of ['Makefile', 'calc.py', 'test_calc.py', 'notes.md', 'out/answer.txt', '.git/HEAD']) {
      assert.ok(fs.existsSync(path.join(project, f)), `${f} is still there`);
    }
    assert.equal(execFileSync('git', ['-C', project, 'log', '--oneline'], { env: { ...process.env, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: '*' } })
      .toString().trim().split('\n').length, 1);
    // nothing of Warden's is left bound on it
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(project));
  });

  it('a root-owned project is refused at start with a clear message', async () => {
    const rootOwned = path.join(dir, 'rootproj');
    fs.mkdirSync(rootOwned);
    const r = await startExpectingFailure(['--project', rootOwned]);
    assertClearFailure(r, /belongs to root/);
  });
});

describe('durable workspaces', () => {
  const dir = tempDir('durable');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const state = path.join(dir, 'state');
  const audit = path.join(dir, 'audit.jsonl');
  const env = { XDG_STATE_HOME: state, WARDEN_TOKEN: 'durable-token-one-0123456789' };
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, 'http:\n  tokens: ["durable-token-two-0123456789"]\nlimits:\n  disk_mb: 64\n');
  let server;

  before(async () => {
    server = await startHttpServer({ env, workspace, audit, config });
  });

  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const one = { Authorization: 'Bearer durable-token-one-0123456789' };
  const two = { Authorization: 'Bearer durable-token-two-0123456789' };

  it('made by one client, reached from its second session and after a restart, refused to another, deleted', async () => {
    let a = await httpClient(server, { headers: one });
    await a.listTools();
    const made = await raw(a, 'create_workspace', { name: 'analysis', ttl_s: 3600 });
    assert.equal(made.status, 'ok', JSON.stringify(made));
    assert.match(made.workspace_id, /^ws-[0-9a-f]{24}$/);
    assert.equal(made.name, 'analysis');
    assert.ok(Date.parse(made.expires_at) > Date.now() + 3500_000);
    const id = made.workspace_id;
    const w = await a.call('run_command', { command: 'echo kept > data.txt && id -u', workspace: id });
    assert.equal(w.status, 'ok', JSON.stringify(w));
    const uid = w.stdout.trim();
    // the session's own workspace is another one
    const own = await a.call('run_command', { command: 'ls' });
    assert.equal(own.stdout, '');
    // it has the session workspaces' disk quota: a run cannot fill the host's disk through it
    const fill = await a.call('run_command', { command: 'dd if=/dev/zero of=big bs=1M count=100 2>&1 | grep -o "No space left on device"; rm -f big', workspace: id });
    assert.match(fill.stdout, /No space left on device/, JSON.stringify(fill));
    await a.close();

    // a second session of the same client
    a = await httpClient(server, { headers: one });
    await a.listTools();
    let r = await a.call('run_command', { command: 'cat data.txt; id -u', workspace: id });
    assert.equal(r.stdout, `kept\n${uid}\n`, JSON.stringify(r));
    const read = await a.client.callTool({ name: 'read_file', arguments: { path: 'data.txt', workspace: id } });
    assert.equal(read.structuredContent.content, 'kept\n');
    await a.close();

    // another identity: the same answer as for an unknown id
    const b = await httpClient(server, { headers: two });
    await b.listTools();
    const refused = await b.call('run_command', { command: 'cat data.txt', workspace: id });
    assert.equal(refused.status, 'invalid', JSON.stringify(refused));
    const unknown = await b.call('run_command', { command: 'true', workspace: 'ws-000000000000000000000000' });
    assert.equal(unknown.status, 'invalid');
    assert.equal(refused.message.replace(id, 'X'), unknown.message.replace('ws-000000000000000000000000', 'X'));
    const del = await raw(b, 'delete_workspace', { workspace_id: id });
    assert.equal(del.status, 'invalid');
    const bad = await b.call('run_command', { command: 'true', workspace: '../../etc' });
    assert.equal(bad.status, 'invalid');
    await b.close();

    // a restart of the server: the workspace is still there, with its uid
    await server.stop();
    server = await startHttpServer({ env, workspace, audit, config });
    a = await httpClient(server, { headers: one });
    await a.listTools();
    r = await a.call('run_command', { command: 'cat data.txt; id -u; stat -c %u data.txt', workspace: id });
    assert.equal(r.stdout, `kept\n${uid}\n${uid}\n`, JSON.stringify(r));
    const gone = await raw(a, 'delete_workspace', { workspace_id: id });
    assert.equal(gone.status, 'ok', JSON.stringify(gone));
    r = await a.call('run_command', { command: 'true', workspace: id });
    assert.equal(r.status, 'invalid');
    assert.ok(!fs.existsSync(path.join(state, 'warden', 'workspaces', id)));
    await a.close();
    const lines = readAudit(audit).filter((l) => l.tool === 'create_workspace' || l.tool === 'delete_workspace');
    assert.ok(lines.length >= 3, JSON.stringify(lines));
  });

  it('a quota of workspaces per client, bad arguments invalid, and a short TTL expires', async () => {
    const a = await httpClient(server, { headers: two });
    await a.listTools();
    const ids = [];
    for (let i = 0; i < 4; i++) {
      // the longest TTL a client may ask for is the server's limit (30 days), however long it asks
      const m = await raw(a, 'create_workspace', i === 0 ? { ttl_s: Number.MAX_SAFE_INTEGER } : {});
      if (i === 0) assert.ok(Math.abs(Date.parse(m.expires_at) - Date.now() - 30 * 86400_000) < 60_000, JSON.stringify(m));
      assert.equal(m.status, 'ok', JSON.stringify(m));
      ids.push(m.workspace_id);
    }
    const over = await raw(a, 'create_workspace', { ttl_s: Number.MAX_SAFE_INTEGER });
    assert.equal(over.status, 'invalid');
    assert.match(over.message, /quota/);
    for (const args of [{ ttl_s: 0 }, { ttl_s: 'soon' }, { name: 7 }, { nope: 1 }]) {
      const r = await raw(a, 'create_workspace', args);
      assert.equal(r.status, 'invalid', JSON.stringify(args));
    }
    for (const id of ids) assert.equal((await raw(a, 'delete_workspace', { workspace_id: id })).status, 'ok');
    assert.equal((await raw(a, 'delete_workspace', {})).status, 'invalid');
    const short = await raw(a, 'create_workspace', { ttl_s: 1 });
    assert.equal((await a.call('run_command', { command: 'true', workspace: short.workspace_id })).status, 'ok');
    await sleep(1500);
    const expired = await a.call('run_command', { command: 'true', workspace: short.workspace_id });
    assert.equal(expired.status, 'invalid', JSON.stringify(expired));
    assert.match(expired.message, /expired/);
    await a.close();
  });
});
