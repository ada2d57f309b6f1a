// Background executions through the official TypeScript SDK client, over stdio and Streamable HTTP:
// background: true answers at once with status running; get_execution reads the output by offsets
// (long-polling with wait_ms) and gives the final result once the run ends; send_input writes to its
// stdin; stop_execution ends it with its whole process tree; list_executions lists the session's;
// another client cannot see or touch them; the caps refuse with rate_limited; the end of a session
// stops its runs; and every call and every run's end is in the audit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { l3Available } from './lib/faults.mjs';
import { checkResult, connectAll, httpClient, readAudit, sleep, startHttpServer, stdioClient, tempDir } from './lib/warden.mjs';

const l3 = l3Available(['go']);

const TOKEN_A = 'client-token-for-background-tests-a-0123';
const TOKEN_B = 'client-token-for-background-tests-b-0123';

async function call(c, name, args) {
  if (!c.listedForSchemas) {
    await c.listTools(); // the SDK client then checks every structuredContent against its tool's outputSchema
    c.listedForSchemas = true;
  }
  const res = await c.client.callTool({ name, arguments: args });
  if (name === 'run_command' || name === 'execute_code' || name === 'get_execution' || name === 'stop_execution') {
    return checkResult(res);
  }
  assert.equal(res.isError === true, res.structuredContent.status !== 'ok', JSON.stringify(res.structuredContent));
  assert.deepEqual(JSON.parse(res.content[0].text), res.structuredContent);
  return res.structuredContent;
}

/** Waits until none of the session's runs is running (what an earlier test started has ended). */
async function settle(c) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = await call(c, 'list_executions', {});
    if (!list.executions.some((e) => e.status === 'running')) return;
    assert.ok(Date.now() < deadline, `still running: ${JSON.stringify(list.executions)}`);
    await sleep(250);
  }
}

/** Reads a run to its end as a client would: every byte once, in order. */
async function readToEnd(c, id, { until = 60_000 } = {}) {
  let out = '';
  let err = '';
  let so = 0;
  let se = 0;
  const deadline = Date.now() + until;
  for (;;) {
    const r = await call(c, 'get_execution', { execution_id: id, wait_ms: 5000, stdout_offset: so, stderr_offset: se });
    out += r.stdout;
    err += r.stderr;
    assert.ok(r.stdout_offset >= so && r.stderr_offset >= se, 'offsets never go back');
    so = r.stdout_offset;
    se = r.stderr_offset;
    if (r.status !== 'running') return { final: r, out, err };
    assert.ok(Date.now() < deadline, `still running after ${until} ms`);
  }
}

describe('background executions', () => {
  const dir = tempDir('background');
  const workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
  const httpAudit = path.join(dir, 'audit-http.jsonl');
  const stdioAudit = path.join(dir, 'audit-stdio.jsonl');
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(config, 'limits:\n  max_background_per_session: 2\n  max_background: 5\n  background_buffer_bytes: 65536\n'
    + `http:\n  tokens: ["${TOKEN_B}"]\n`); // the second identity; WARDEN_TOKEN adds the first
  let server;
  let clients;
  let other;

  before(async () => {
    server = await startHttpServer({ audit: httpAudit, workspace, config, env: { WARDEN_TOKEN: TOKEN_A } });
    clients = await connectAll([
      stdioClient({ audit: stdioAudit, workspace, config, name: 'background-stdio' }),
      httpClient(server, { headers: { Authorization: `Bearer ${TOKEN_A}` }, name: 'background-http' }),
    ]);
  });

  after(async () => {
    await Promise.allSettled([...(clients ?? []), ...(other ? [other] : [])].map((c) => c.close()));
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers at once with running; get_execution reads every byte once, then the final result', async () => {
    await Promise.all(clients.map(async (c) => {
      const started = await call(c, 'run_command', {
        command: "bash -c 'for i in $(seq 1 6); do echo out $i; echo err $i >&2; sleep 0.5; done; exit 3'",
        background: true,
      });
      assert.equal(started.status, 'running', JSON.stringify(started)); // answered while the 3 s run goes on
      assert.equal(started.tier, 'L2');
      assert.ok(started.limits.timeout_ms >= 3_600_000, 'a background run gets the background wall limit');
      const { final, out, err } = await readToEnd(c, started.execution_id);
      assert.equal(final.status, 'failed');
      assert.equal(final.exit_code, 3);
      assert.equal(out, [1, 2, 3, 4, 5, 6].map((i) => `out ${i}\n`).join(''));
      assert.equal(err, [1, 2, 3, 4, 5, 6].map((i) => `err ${i}\n`).join(''));
      assert.equal(final.execution_id, started.execution_id);
      // the final result read again from 0 holds all of it
      const again = await call(c, 'get_execution', { execution_id: started.execution_id });
      assert.equal(again.stdout, out);
      assert.equal(again.stdout_dropped, 0);
    }));
  });

  it('execute_code in the background: python with input sent while it runs, then end of input', async () => {
    await Promise.all(clients.map(async (c) => {
      const started = await call(c, 'execute_code', {
        language: 'python',
        code: 'import sys\nprint("ready", flush=True)\nfor line in sys.stdin:\n    print("got", line.strip().upper(), flush=True)\nprint("eof")\n',
        background: true,
      });
      assert.equal(started.status, 'running');
      const id = started.execution_id;
      // a read returns what is there: 'ready' and its newline may be two writes (PYTHONUNBUFFERED)
      let first = await call(c, 'get_execution', { execution_id: id, wait_ms: 10_000 });
      let text = first.stdout;
      while (!text.includes('\n') && first.status === 'running') {
        first = await call(c, 'get_execution', { execution_id: id, wait_ms: 10_000, stdout_offset: first.stdout_offset });
        text += first.stdout;
      }
      assert.equal(text, 'ready\n');
      const sent = await call(c, 'send_input', { execution_id: id, data: 'hello\nworld\n' });
      assert.equal(sent.status, 'ok');
      assert.equal(sent.sent_bytes, 12);
      let so = first.stdout_offset;
      let seen = '';
      while (!seen.includes('got WORLD\n')) {
        const r = await call(c, 'get_execution', { execution_id: id, wait_ms: 10_000, stdout_offset: so });
        assert.equal(r.status, 'running', 'it waits for more input');
        seen += r.stdout;
        so = r.stdout_offset;
      }
      assert.equal(seen, 'got HELLO\ngot WORLD\n');
      const closed = await call(c, 'send_input', { execution_id: id, data: 'last\n', close: true });
      assert.equal(closed.stdin_closed, true);
      const { final, out } = await readToEnd(c, id);
      assert.equal(final.status, 'ok', JSON.stringify(final));
      assert.equal(out, 'ready\ngot HELLO\ngot WORLD\ngot LAST\neof\n', 'read again from the start: all of it');
      const late = await call(c, 'send_input', { execution_id: id, data: 'x' });
      assert.equal(late.status, 'invalid');
      assert.match(late.message, /has ended/);
    }));
  });

  it('stop_execution ends a server with every process it started; list_executions shows it; the caps hold', async () => {
    await Promise.all(clients.map(async (c) => {
      await settle(c); // the caps count what still runs
      const server1 = await call(c, 'run_command', { command: "bash -c 'sleep 300 & sleep 301 & echo up; wait'", background: true });
      const server2 = await call(c, 'run_command', { command: 'sleep 302', background: true });
      assert.equal(server1.status, 'running');
      assert.equal(server2.status, 'running');
      // the session's cap is 2
      const third = await call(c, 'run_command', { command: 'sleep 303', background: true });
      assert.equal(third.status, 'rate_limited', JSON.stringify(third));
      assert.match(third.message, /max_background_per_session/);
      const list = await call(c, 'list_executions', {});
      assert.equal(list.status, 'ok');
      const mine = list.executions.filter((e) => e.status === 'running').map((e) => e.execution_id);
      assert.deepEqual(new Set(mine), new Set([server1.execution_id, server2.execution_id]));
      const entry = list.executions.find((e) => e.execution_id === server1.execution_id);
      assert.equal(entry.tool, 'run_command');
      assert.match(entry.summary, /sleep 300/);
      assert.ok(!Number.isNaN(Date.parse(entry.started_at)));
      let up = { stdout: '' };
      while (!up.stdout.includes('\n')) {
        up = await call(c, 'get_execution', { execution_id: server1.execution_id, wait_ms: 10_000 });
      }
      assert.equal(up.stdout, 'up\n');
      const t0 = Date.now();
      const stopped = await call(c, 'stop_execution', { execution_id: server1.execution_id });
      assert.equal(stopped.status, 'killed', JSON.stringify(stopped));
      assert.ok(Date.now() - t0 < 10_000);
      assert.equal(stopped.stdout, 'up\n');
      await call(c, 'stop_execution', { execution_id: server2.execution_id });
    }));
    // nothing of them is left on the host: a killed process is gone once the kernel has torn it
    // down, which a loaded machine may take a moment to finish (bounded here at 10 s)
    // (a run never has root's uid on the host: a root `sleep 300` is someone's shell on this machine, not a leak)
    const leftover = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return /^sleep 30[0-2]$/.test(fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').replace(/\0/g, ' ').trim())
          && !/^Uid:\t0\t/m.test(fs.readFileSync(`/proc/${p}/status`, 'latin1'));
      } catch { return false; }
    });
    const deadline = Date.now() + 10_000;
    let left = leftover();
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(200);
      left = leftover();
    }
    const status = (p) => { try { return fs.readFileSync(`/proc/${p}/status`, 'latin1').split('\n').filter((l) => /^(State|PPid|Uid|NSpid):/.test(l)).join('; '); } catch { return 'gone'; } };
    assert.deepEqual(left.map((p) => `${p}: ${status(p)}`), [], 'every process of a stopped run is gone');
  });

  it('another client identity cannot read, write, stop or list them; bad input is invalid', async () => {
    const [, http] = clients;
    await settle(http);
    const started = await call(http, 'run_command', { command: 'sleep 30', background: true });
    other = await httpClient(server, { headers: { Authorization: `Bearer ${TOKEN_B}` }, name: 'background-other' });
    {
      for (const [tool, args] of [['get_execution', {}], ['send_input', { data: 'x' }], ['stop_execution', {}]]) {
        const r = await call(other, tool, { execution_id: started.execution_id, ...args });
        assert.equal(r.status, 'invalid', `${tool} by another client: ${JSON.stringify(r)}`);
      }
      const list = await call(other, 'list_executions', {});
      assert.deepEqual(list.executions, []);
    }
    for (const [tool, args, pattern] of [
      ['get_execution', {}, /execution_id is required/],
      ['get_execution', { execution_id: started.execution_id, wait_ms: 60_000 }, /wait_ms/],
      ['get_execution', { execution_id: started.execution_id, stdout_offset: -1 }, /stdout_offset/],
      ['get_execution', { execution_id: 'ex_nope' }, /No background execution/],
      ['send_input', { execution_id: started.execution_id }, /needs data/],
      ['send_input', { execution_id: started.execution_id, data: 5 }, /data must be a string/],
      ['stop_execution', { execution_id: started.execution_id, extra: 1 }, /unknown argument/],
      ['list_executions', { x: 1 }, /takes no arguments/],
      ['run_command', { command: 'true', background: 'yes' }, /background must be true or false/],
    ]) {
      const r = await call(http, tool, args);
      assert.equal(r.status, 'invalid', `${tool} ${JSON.stringify(args)}: ${JSON.stringify(r)}`);
      assert.match(r.message, pattern);
    }
    const stopped = await call(http, 'stop_execution', { execution_id: started.execution_id });
    assert.equal(stopped.status, 'killed');
  });

  it('a run past its own timeout_ms ends with timeout; a full buffer counts what it dropped', async () => {
    const [c] = clients;
    await settle(c);
    const slow = await call(c, 'run_command', { command: 'sleep 20', background: true, timeout_ms: 1500 });
    const { final } = await readToEnd(c, slow.execution_id);
    assert.equal(final.status, 'timeout');
    // 200 KB through a 64 KB buffer, read only at the end
    const loud = await call(c, 'execute_code', { language: 'python', code: 'import sys\nfor i in range(4000):\n    sys.stdout.write("%049d\\n" % i)\n', background: true });
    let r;
    do {
      r = await call(c, 'get_execution', { execution_id: loud.execution_id, wait_ms: 5000, stdout_offset: 1 << 30 });
    } while (r.status === 'running');
    const all = await call(c, 'get_execution', { execution_id: loud.execution_id });
    assert.equal(all.status, 'ok');
    assert.equal(all.stdout_dropped, 200_000 - 65_536);
    assert.equal(all.stdout.length, 65_536);
    assert.ok(all.stdout.endsWith(`${String(3999).padStart(49, '0')}\n`));
    assert.equal(all.stdout_offset, 200_000);
    assert.equal(all.stdout_truncated, false);
  });

  it('in an L3 container too: a compiled program reads its input, the output shows no marker of Warden\'s', { skip: !l3.ok && l3.why }, async () => {
    const [c] = clients;
    await settle(c);
    const started = await call(c, 'execute_code', {
      language: 'go',
      code: 'package main\nimport ("bufio";"fmt";"os")\nfunc main(){ fmt.Println("ready"); fmt.Fprintln(os.Stderr, "e1"); '
        + 'sc:=bufio.NewScanner(os.Stdin); for sc.Scan(){ fmt.Println("got", sc.Text()) }; fmt.Println("eof"); os.Exit(4) }\n',
      background: true,
    });
    assert.equal(started.status, 'running', JSON.stringify(started));
    assert.equal(started.tier, 'L3');
    assert.ok(started.limits.timeout_ms >= 3_600_000, 'the background limit, not the container\'s 30 s');
    // the two streams are separate pipes: stderr's line may come first, so wait for stdout's
    let first = { stdout: '', stdout_offset: 0 };
    const deadline = Date.now() + 60_000;
    while (!first.stdout.includes('\n') && Date.now() < deadline) {
      first = await call(c, 'get_execution', { execution_id: started.execution_id, wait_ms: 10_000 });
    }
    assert.equal(first.stdout, 'ready\n');
    await call(c, 'send_input', { execution_id: started.execution_id, data: 'abc\n', close: true });
    const { final, out, err } = await readToEnd(c, started.execution_id);
    assert.equal(final.status, 'failed');
    assert.equal(final.exit_code, 4);
    assert.equal(out, 'ready\ngot abc\neof\n');
    assert.equal(err, 'e1\n');
  });

  it('runs of a session share its loopback: a server started in the background is reached by its later runs, never by another session', async () => {
    const [, http] = clients;
    await settle(http);
    const serve = 'import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n'
      + 's.bind(("127.0.0.1", 8765))\ns.listen()\nprint("listening", flush=True)\nwhile True:\n'
      + '    c, _ = s.accept()\n    c.sendall(b"hello from the session\\n")\n    c.close()\n';
    const started = await call(http, 'execute_code', { language: 'python', code: serve, background: true });
    assert.equal(started.status, 'running', JSON.stringify(started));
    let up = { stdout: '' };
    while (!up.stdout.includes('listening') && up.status !== 'failed') {
      up = await call(http, 'get_execution', { execution_id: started.execution_id, wait_ms: 10_000 });
    }
    assert.equal(up.status, 'running', JSON.stringify(up));
    const probe = 'import socket\ntry:\n    c = socket.create_connection(("127.0.0.1", 8765), timeout=3)\n'
      + '    print(c.recv(100).decode(), end="")\nexcept OSError as e:\n    print("refused:", e)\n';
    // a later run of the same session, several times (each in a fresh sandbox)
    for (let i = 0; i < 3; i++) {
      const r = await call(http, 'execute_code', { language: 'python', code: probe });
      assert.equal(r.stdout, 'hello from the session\n', JSON.stringify(r));
    }
    // another session (the stdio server, and a second HTTP session) sees nothing there
    const stranger = await httpClient(server, { headers: { Authorization: `Bearer ${TOKEN_A}` }, name: 'background-stranger' });
    try {
      for (const c of [stranger, clients[0]]) {
        const r = await call(c, 'execute_code', { language: 'python', code: probe });
        assert.match(r.stdout, /^refused:/, `another session reached the server: ${JSON.stringify(r)}`);
      }
      // nor can a run of the session borrow another sandbox's relay to the proxy: only its own answers
      const relays = 'import os, socket\nown = int(os.environ["HTTP_PROXY"].rsplit(":", 1)[1])\nreached = []\n'
        + 'for port in range(28000, 28016):\n    try:\n        socket.create_connection(("127.0.0.1", port), timeout=2).close()\n'
        + '        reached.append(port)\n    except OSError:\n        pass\nprint(own, reached)\n';
      const r = await call(http, 'execute_code', { language: 'python', code: relays });
      const [own, reached] = r.stdout.trim().split(' ', 2);
      assert.ok(Number(own) >= 28000, `the relay's port is the slot's: ${r.stdout}`);
      assert.equal(reached.trim(), `[${own}]`, `only its own relay answers: ${r.stdout}`);
    } finally {
      await stranger.close();
    }
    await call(http, 'stop_execution', { execution_id: started.execution_id });
  });

  it('a client that disconnects and reconnects to its session finds its executions', async () => {
    const first = await httpClient(server, { headers: { Authorization: `Bearer ${TOKEN_A}` }, name: 'background-reconnect' });
    const started = await call(first, 'run_command', { command: "bash -c 'echo one; sleep 2; echo two'", background: true });
    assert.equal(started.status, 'running');
    const sessionId = first.transport.sessionId;
    await first.client.close(); // the connection goes, the session stays (no DELETE)
    const again = await httpClient(server, { headers: { Authorization: `Bearer ${TOKEN_A}` }, sessionId });
    try {
      const list = await call(again, 'list_executions', {});
      assert.ok(list.executions.some((e) => e.execution_id === started.execution_id), JSON.stringify(list));
      const { final, out } = await readToEnd(again, started.execution_id);
      assert.equal(final.status, 'ok');
      assert.equal(out, 'one\ntwo\n');
    } finally {
      await again.close();
    }
  });

  it('a server that stops audits the end of the runs it stopped', async () => {
    const own = path.join(dir, 'audit-stopping.jsonl');
    const c = await stdioClient({ audit: own, workspace, config, name: 'background-stopping' });
    const started = await call(c, 'run_command', { command: 'sleep 60', background: true });
    assert.equal(started.status, 'running');
    await c.close(); // stdin closes: the server shuts down
    const deadline = Date.now() + 30_000;
    let end;
    while (!end && Date.now() < deadline) {
      await sleep(250);
      end = readAudit(own).find((l) => l.type === 'execution_end' && l.execution_id === started.execution_id);
    }
    assert.ok(end, 'the stopped run\'s end is in the audit');
    assert.equal(end.status, 'killed');
  });

  it('the end of a session stops its runs, and every call and end is audited', async () => {
    const c = await httpClient(server, { headers: { Authorization: `Bearer ${TOKEN_A}` }, name: 'background-ending' });
    const started = await call(c, 'run_command', { command: 'sleep 299', background: true });
    assert.equal(started.status, 'running');
    await c.transport.terminateSession(); // DELETE /mcp: the session ends
    await c.close();
    const deadline = Date.now() + 20_000;
    let end;
    while (!end && Date.now() < deadline) {
      await sleep(250);
      end = readAudit(httpAudit).find((l) => l.type === 'execution_end' && l.execution_id === started.execution_id);
    }
    assert.ok(end, 'the run ended with its session');
    assert.equal(end.status, 'killed');
    assert.match(end.message, /session ended/);
    const lines = readAudit(httpAudit);
    const callLine = lines.find((l) => l.type === 'call' && l.execution_id === started.execution_id);
    assert.equal(callLine.status, 'running');
    assert.ok(lines.indexOf(callLine) < lines.findIndex((l) => l.type === 'execution_end' && l.execution_id === started.execution_id),
      'the call\'s line comes before its end\'s');
    // a run that ends at once is audited in that order too
    const quick = await call(clients[1], 'run_command', { command: 'true', background: true });
    await readToEnd(clients[1], quick.execution_id);
    const after = readAudit(httpAudit);
    const qCall = after.findIndex((l) => l.type === 'call' && l.execution_id === quick.execution_id);
    const qEnd = after.findIndex((l) => l.type === 'execution_end' && l.execution_id === quick.execution_id);
    assert.ok(qCall >= 0 && qEnd > qCall, `call line ${qCall}, end line ${qEnd}`);
    assert.equal(callLine.arguments.background, true);
    assert.ok(lines.some((l) => l.type === 'execution' && l.tool === 'get_execution'));
    assert.ok(lines.some((l) => l.type === 'execution' && l.tool === 'send_input'));
  });
});
