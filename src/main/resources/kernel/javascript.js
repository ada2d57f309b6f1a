// Warden's javascript kernel: one live node that runs cells sent by the server, with the REPL's own
// evaluation (declarations persist, top-level await, the value of the last expression). Started by
// kernel/start.sh inside an L2 sandbox: fd 3 the requests, fd 4 the replies, fds 5 and 6 the files that
// stdout and stderr append to, 7 and 8 reading them (see Kernel.java for the protocol).
(() => {
  const fs = require('fs');
  const repl = require('repl');
  const util = require('util');
  const { PassThrough, Writable } = require('stream');
  const server = repl.start({
    input: new PassThrough(), output: new Writable({ write(c, e, cb) { cb(); } }),
    terminal: false, useGlobal: true, breakEvalOnSigint: true, prompt: '', ignoreUndefined: true,
  });
  let pending = null;
  // the REPL reports an exception to its domain, not to the callback of eval
  server._domain.removeAllListeners('error');
  server._domain.on('error', (e) => {
    if (pending) {
      const done = pending;
      pending = null;
      done(e, undefined);
    }
    else {
      fs.writeSync(2, 'Uncaught ' + (e && e.stack ? e.stack : String(e)) + '\n');
    }
  });
  // the stack of a cell's exception without the frames of the REPL and of this kernel
  const trimmed = (err) => {
    if (!err || typeof err.stack !== 'string') return util.inspect(err);
    const lines = err.stack.split('\n');
    const end = lines.findIndex((l) => /^\s+at .*(node:vm|node:repl|node:domain|\[eval\])/.test(l));
    return (end < 0 ? lines : lines.slice(0, end)).join('\n');
  };
  delete process.env.SHLVL; // start.sh's bash put it there; a one-off run has none
  const head = (fd, cap) => {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, cap));
    const n = buf.length ? fs.readSync(fd, buf, 0, buf.length, 0) : 0;
    return [buf.subarray(0, n), size];
  };
  // The regular files of the workspace whose ctime is after the cell's start, as find -P -xdev would list
  // them (SIZE TAB PATH NUL; at most 101; no symlink followed, nothing opened but directories).
  const skipped = new Set(['.git', 'node_modules', '__pycache__', '.npm', '.cache', '.local']); // ChangedFiles.SKIPPED
  const changed = (sinceNs, walkMs) => {
    const root = '/workspace';
    const deadline = Date.now() + walkMs;
    const found = [];
    let dev;
    try {
      dev = fs.lstatSync(root, { bigint: true }).dev;
    }
    catch (e) {
      return [Buffer.alloc(0), false];
    }
    const slash = Buffer.from('/');
    const dirs = [Buffer.alloc(0)];
    while (dirs.length) {
      const rel = dirs.pop();
      let names;
      try {
        names = fs.readdirSync(rel.length ? Buffer.concat([Buffer.from(root), slash, rel]) : root, { encoding: 'buffer' });
      }
      catch (e) {
        continue;
      }
      for (const name of names) {
        if (Date.now() > deadline) return [Buffer.concat(found), true];
        const path = rel.length ? Buffer.concat([rel, slash, name]) : name;
        let st;
        try {
          st = fs.lstatSync(Buffer.concat([Buffer.from(root), slash, path]), { bigint: true });
        }
        catch (e) {
          continue;
        }
        if (st.isDirectory()) {
          if (!skipped.has(name.toString('latin1')) && st.dev === dev) dirs.push(path);
        }
        else if (st.isFile() && st.ctimeNs > sinceNs) {
          found.push(Buffer.concat([Buffer.from(st.size + '\t'), path, Buffer.from([0])]));
          if (found.length > 100) return [Buffer.concat(found), true];
        }
      }
    }
    return [Buffer.concat(found), false];
  };
  fs.writeSync(4, JSON.stringify({ hello: 'warden-kernel', language: 'javascript', pid: process.pid }) + '\n');
  let buf = Buffer.alloc(0);
  let busy = false;
  const input = fs.createReadStream(null, { fd: 3, highWaterMark: 1 << 20 });
  input.on('end', () => process.exit(0));
  input.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (!busy) next();
  });
  let count = 0;
  function next() {
    const nl = buf.indexOf(10);
    if (nl < 0) {
      if (buf.length > 256) process.exit(2);
      return;
    }
    const [nonce, codeLen, stdinLen, cap, maxImages, maxImageBytes, walkMs, sinceNs] = buf.subarray(0, nl).toString('ascii').split(' ');
    const total = nl + 1 + Number(codeLen) + Number(stdinLen);
    if (buf.length < total) return;
    const code = buf.subarray(nl + 1, nl + 1 + Number(codeLen)).toString('utf8');
    buf = buf.subarray(total);
    busy = true;
    count += 1;
    fs.ftruncateSync(5, 0);
    fs.ftruncateSync(6, 0);
    const finish = (err, value, status) => {
      let exitCode = 0;
      if (err) {
        const interrupted = err && /Script execution was interrupted/.test(String(err.message));
        status = interrupted ? 'interrupted' : 'error';
        exitCode = interrupted ? 130 : 1;
        fs.writeSync(2, (interrupted ? String(err.message) : 'Uncaught ' + trimmed(err)) + '\n');
      }
      else if (value !== undefined) {
        fs.writeSync(1, util.inspect(value, { colors: false }) + '\n');
      }
      const [out, outSize] = head(7, Number(cap));
      const [errOut, errSize] = head(8, Number(cap));
      const reply = { nonce, status, exit_code: exitCode, out: out.length, err: errOut.length, out_size: outSize,
        err_size: errSize, images: [], images_dropped: 0 };
      let files = Buffer.alloc(0);
      if (Number(walkMs) > 0) {
        const [records, cut] = changed(BigInt(sinceNs), Number(walkMs));
        files = records;
        reply.changed = files.length;
        reply.changed_truncated = cut;
      }
      fs.writeSync(4, Buffer.concat([Buffer.from(JSON.stringify(reply) + '\n'), out, errOut, files]));
      busy = false;
      setImmediate(next);
    };
    pending = (err, value) => finish(err, value, 'ok');
    // While code runs synchronously, the REPL's own watchdog turns SIGINT into an exception (a listener of
    // ours would stop it from doing so); once the cell awaits, and between cells, the listener is ours.
    process.removeAllListeners('SIGINT');
    try {
      server.eval(code, server.context, '<cell-' + count + '>', (err, value) => {
        if (pending) {
          pending = null;
          finish(err, value, 'ok');
        }
      });
    }
    catch (e) {
      if (pending) {
        pending = null;
        finish(e, undefined, 'error');
      }
    }
    process.on('SIGINT', () => {
      if (pending) { // awaiting: the cell ends here, whatever it awaited goes on unobserved
        pending = null;
        const e = new Error('Script execution was interrupted by `SIGINT`');
        finish(e, undefined, 'error');
      }
    });
  }
})();
