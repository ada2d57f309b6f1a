// Warden's warm javascript loader (node -e THIS): waits for "<length>\n" and that many bytes of code on
// fd 0, read with fs.readSync and never more, so the call's stdin follows untouched for process.stdin;
// then runs the code as `node -e CODE` does (vm.runInThisContext, file "[eval]", with the globals -e
// gives), from inside a closure: nothing of this loader is left in the global scope.
(() => {
  const fs = require('fs');
  const read = (buf, at, n) => {
    for (;;) {
      try {
        const got = fs.readSync(0, buf, at, n, null);
        if (got === 0) process.reallyExit(125); // Warden went away before sending code: nothing was asked to run
        return got;
      } catch (e) {
        if (e.code !== 'EAGAIN' && e.code !== 'EINTR') throw e;
      }
    }
  };
  const one = Buffer.alloc(1);
  let head = '';
  while (read(one, 0, 1) === 1 && one[0] !== 10) head += String.fromCharCode(one[0]);
  const code = Buffer.alloc(Number(head));
  for (let got = 0; got < code.length;) got += read(code, got, code.length - got);
  const src = code.toString('utf8');
  const args = process.execArgv;
  if (args.length >= 2 && args[args.length - 2] === '-e') args[args.length - 1] = src;
  require('vm').runInThisContext(src, {
    filename: '[eval]',
    displayErrors: true,
    // import() as -e resolves it (node 20.12 and later name that loader; node 18 takes a callback)
    importModuleDynamically: require('vm').constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER ?? ((specifier) => import(specifier)),
  });
})();
