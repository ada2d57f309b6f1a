// Warden's egress preload (NODE_OPTIONS=--require /.warden/net/node-proxy.cjs): makes Node's built-in
// fetch use HTTPS_PROXY / HTTP_PROXY / NO_PROXY, which it ignores on its own (npm, curl, pip and
// Python's urllib read them already). A run's only way out is the relay at 127.0.0.1:3128.
//
// Costs nothing at start: fetch is only wrapped here; the proxy is set up at the first fetch call,
// by evaluating Node's own bundled undici (its exports are not reachable otherwise) and installing
//   Node 20+: its EnvHttpProxyAgent (reads the variables itself), else its ProxyAgent;
//   Node 18:  an Agent (taken from undici's default dispatcher) whose connector opens a CONNECT
//             tunnel through the proxy (what ProxyAgent does), as its bundle exports no proxy agent.
// as undici's global dispatcher. Anything missing or failing leaves plain fetch, silently.
'use strict';
(() => {
  const original = globalThis.fetch;
  if (typeof original !== 'function') {
    return;
  }
  let installed = false;

  function env(name) {
    return process.env[name] || process.env[name.toLowerCase()] || '';
  }

  // The CA bundle runs trust (SSL_CERT_FILE: the host's, with any CA of an intercepting proxy, and
  // the operator's): Node's TLS reads only its own bundled roots otherwise. Undefined: Node's default.
  function ca() {
    try {
      const file = env('SSL_CERT_FILE');
      const pem = file ? require('fs').readFileSync(file, 'latin1') : '';
      return pem.includes('BEGIN CERTIFICATE') ? pem : undefined;
    }
    catch (e) {
      return undefined;
    }
  }

  // NO_PROXY: "*", or names and suffixes (".example.com" or "example.com" also covers sub.example.com).
  function direct(host) {
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    return env('NO_PROXY').split(/[\s,]+/).filter(Boolean).some((entry) => {
      const e = entry.toLowerCase().replace(/:\d+$/, '');
      if (e === '*') {
        return true;
      }
      const bare = e.replace(/^\*?\./, '');
      return h === bare || h.endsWith('.' + bare);
    });
  }

  // A connector for undici's Agent: a socket to the origin through an HTTP CONNECT tunnel, TLS on
  // top for https (a custom connector does its own TLS).
  function tunnelConnector(net, tls, roots) {
    return (opts, callback) => {
      const https = opts.protocol === 'https:';
      const host = opts.hostname;
      const port = Number(opts.port) || (https ? 443 : 80);
      let called = false;
      const done = (err, socket) => {
        if (!called) {
          called = true;
          callback(err, socket);
        }
      };
      const secure = (socket) => {
        if (!https) {
          return done(null, socket);
        }
        const t = tls.connect({ socket, servername: opts.servername || host.replace(/^\[|\]$/g, ''),
          ALPNProtocols: ['http/1.1'], ca: roots });
        t.once('secureConnect', () => done(null, t));
        t.once('error', done);
        return undefined;
      };
      const proxyUrl = env(https ? 'HTTPS_PROXY' : 'HTTP_PROXY');
      if (!proxyUrl || direct(host)) {
        const s = net.connect(port, host.replace(/^\[|\]$/g, ''));
        s.once('error', done);
        s.once('connect', () => secure(s));
        return;
      }
      const proxy = new URL(proxyUrl);
      const s = net.connect(Number(proxy.port) || 80, proxy.hostname);
      const authority = host + ':' + port;
      let head = Buffer.alloc(0);
      const onData = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          return;
        }
        s.removeListener('data', onData);
        s.pause();
        const status = head.toString('latin1', 0, head.indexOf('\r\n'));
        if (!/^HTTP\/1\.[01] 2\d\d/.test(status)) {
          s.destroy();
          done(new Error('the proxy refused CONNECT ' + authority + ': ' + status));
          return;
        }
        if (end + 4 < head.length) {
          s.unshift(head.subarray(end + 4));
        }
        secure(s);
      };
      s.once('error', done);
      s.on('data', onData);
      s.once('connect', () => s.write('CONNECT ' + authority + ' HTTP/1.1\r\nHost: ' + authority + '\r\n\r\n'));
    };
  }

  function install() {
    installed = true;
    // undici warns that EnvHttpProxyAgent is experimental: the program did not ask for it, so no warning
    const emitWarning = process.emitWarning;
    process.emitWarning = () => {};
    try {
      const proxy = env('HTTPS_PROXY') || env('HTTP_PROXY');
      if (!proxy) {
        return;
      }
      const source = process.binding('natives')['internal/deps/undici/undici'];
      if (typeof source !== 'string') {
        return;
      }
      const m = { exports: {} };
      new Function('module', 'exports', 'require', source)(m, m.exports, require);
      const undici = m.exports;
      const key = Symbol.for('undici.globalDispatcher.1');
      const roots = ca();
      const tlsOptions = roots ? { connect: { ca: roots }, requestTls: { ca: roots } } : {};
      let dispatcher;
      if (typeof undici.EnvHttpProxyAgent === 'function') {
        dispatcher = new undici.EnvHttpProxyAgent(tlsOptions);
      }
      else if (typeof undici.ProxyAgent === 'function') {
        // ProxyAgent knows one proxy and no NO_PROXY: the names NO_PROXY lists go direct
        const proxied = new undici.ProxyAgent({ uri: proxy, ...tlsOptions });
        const plain = globalThis[key];
        dispatcher = plain && typeof plain.dispatch === 'function'
          ? { dispatch: (o, h) => (direct(new URL(o.origin).hostname) ? plain : proxied).dispatch(o, h),
            close: () => proxied.close(), destroy: () => proxied.destroy() }
          : proxied;
      }
      else {
        // Node 18: evaluating the bundle made its default dispatcher, an Agent; same class, our connector
        const plain = globalThis[key];
        if (!plain || typeof plain.constructor !== 'function') {
          return;
        }
        dispatcher = new plain.constructor({ connect: tunnelConnector(require('net'), require('tls'), roots) });
      }
      if (typeof undici.setGlobalDispatcher === 'function') {
        undici.setGlobalDispatcher(dispatcher);
      }
      else {
        Object.defineProperty(globalThis, key, { value: dispatcher, writable: true, enumerable: false,
          configurable: false });
      }
    }
    catch (e) {
      // plain fetch, as without this preload
    }
    finally {
      process.emitWarning = emitWarning;
    }
  }

  const fetch = function fetch(input, init) {
    if (!installed) {
      install();
    }
    return original.call(this, input, init);
  };
  Object.defineProperty(globalThis, 'fetch', { value: fetch, writable: true, enumerable: false, configurable: true });
})();
