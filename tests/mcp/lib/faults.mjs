// Host-side faults and leak checks for the soak (lib/soak.mjs): a small tmpfs for the audit files
// that is filled and freed, the Docker engine stopped and started again (or, on a shared machine,
// only this soak's own path to it cut), memory samples of the servers, and the scan for what the
// servers may have left behind (processes, mounts, loop devices, cgroups, containers).
// Everything here needs root, like the server itself.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { REPO, sleep } from './warden.mjs';

/** Runs a program; its stdout, or null when it failed (stderr is kept in `lastError`). */
export function run(cmd, args, { timeout = 30_000 } = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    run.lastError = `${cmd} ${args.join(' ')}: ${(e.stderr || e.message || '').toString().trim()}`;
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// the audit filesystem

/**
 * A tmpfs of `mb` MB mounted at `dir` (created), so the test can fill the filesystem the audit
 * files are on. fill() writes a filler file until ENOSPC; free() removes it; unmount() ends it.
 */
export function auditFs(dir, mb) {
  fs.mkdirSync(dir, { recursive: true });
  if (run('mount', ['-t', 'tmpfs', '-o', `size=${mb}m,mode=0755`, 'soak-audit', dir]) === null) {
    throw new Error(`cannot mount a tmpfs for the audit files: ${run.lastError}`);
  }
  const filler = path.join(dir, 'filler.bin');
  return {
    dir,
    /** Fills the filesystem; returns the bytes written. Bounded by the filesystem's size. */
    fill() {
      const chunk = Buffer.alloc(1 << 20, 0x5a);
      const fd = fs.openSync(filler, 'a');
      let written = 0;
      try {
        for (let i = 0; i < mb * 2 + 16; i++) {
          try {
            written += fs.writeSync(fd, chunk);
          } catch (e) {
            if (e.code !== 'ENOSPC') throw e;
            break;
          }
        }
        // the last partial blocks too: a line of a few hundred bytes must not fit anywhere
        for (let size = 65536; size >= 1; size = Math.floor(size / 2)) {
          for (let i = 0; i < 64; i++) {
            try {
              written += fs.writeSync(fd, chunk.subarray(0, size));
            } catch (e) {
              if (e.code !== 'ENOSPC') throw e;
              break;
            }
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      return written;
    },
    free() {
      fs.rmSync(filler, { force: true });
    },
    /** Bytes still free (statfs). */
    available() {
      const s = fs.statfsSync(dir);
      return s.bavail * s.bsize;
    },
    unmount() {
      if (run('umount', [dir]) === null) run('umount', ['-l', dir]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the Docker engine

const ENGINE_SOCKET = '/var/run/docker.sock';

/** Whether L3 can be part of the mix: an engine answers and the images of `langs` exist. */
export function l3Available(langs) {
  if (!fs.existsSync(ENGINE_SOCKET)) return { ok: false, why: `no ${ENGINE_SOCKET}` };
  for (const lang of langs) {
    if (run('docker', ['image', 'inspect', '--format', '{{.Id}}', `warden/${lang}`], { timeout: 20_000 }) === null) {
      return { ok: false, why: `no image warden/${lang} (tools/build-images.sh builds it)` };
    }
  }
  return { ok: true };
}

/**
 * The engine fault. mode `engine` stops the real dockerd (it runs as tools/install-docker.sh starts
 * it: `dockerd --pidfile /var/run/docker.pid`, no systemd; or under systemd/service where those
 * manage it) and starts it again the same way; every container on the machine dies with it.
 * mode `socket` leaves the machine's engine alone (other work on a shared machine keeps running):
 * the servers talk to the engine through a socket this test owns (config container.docker_host),
 * and "stopping" removes that socket, drops its connections and removes the servers' own containers
 * (label dev.warden.pid), which is what the servers see of an engine that stops.
 */
export async function engineFault(mode, dir) {
  const proxyPath = path.join(dir, 'docker.sock');
  let listener = null;
  const conns = new Set();

  function listen() {
    return new Promise((resolve, reject) => {
      fs.rmSync(proxyPath, { force: true });
      // half-open both ways: docker-java closes its side of an attach stream after stdin and
      // still reads the output; without allowHalfOpen the proxy would cut that output off
      listener = net.createServer({ allowHalfOpen: true }, (down) => {
        const up = net.connect({ path: ENGINE_SOCKET, allowHalfOpen: true });
        conns.add(down);
        conns.add(up);
        const drop = () => { down.destroy(); up.destroy(); conns.delete(down); conns.delete(up); };
        down.on('error', drop).on('close', drop);
        up.on('error', drop).on('close', drop);
        down.pipe(up);
        up.pipe(down);
      });
      listener.on('error', reject);
      listener.listen(proxyPath, () => {
        fs.chmodSync(proxyPath, 0o660);
        resolve();
      });
    });
  }

  if (mode === 'socket') await listen();

  return {
    mode,
    /** The container.docker_host the servers are to use. */
    dockerHost: mode === 'socket' ? `unix://${proxyPath}` : `unix://${ENGINE_SOCKET}`,
    /** Stops the engine (as the servers see it); returns a description. */
    async stop(serverPids) {
      if (mode === 'socket') {
        // close() waits for open connections: drop them first
        const closed = new Promise((r) => listener.close(() => r()));
        for (const c of conns) c.destroy();
        conns.clear();
        await closed;
        fs.rmSync(proxyPath, { force: true });
        for (const pid of serverPids) removeContainersOf(pid);
        return 'socket to the engine removed, the servers\' containers removed';
      }
      return stopDockerd();
    },
    async start() {
      if (mode === 'socket') {
        await listen();
        return 'socket to the engine back';
      }
      return startDockerd();
    },
    async close() {
      if (mode === 'socket' && listener) {
        const closed = new Promise((r) => listener.close(() => r()));
        for (const c of conns) c.destroy();
        await closed;
        fs.rmSync(proxyPath, { force: true });
      }
    },
  };
}

/** Removes the containers of one server process (label dev.warden.pid), as an engine stop would. */
export function removeContainersOf(pid) {
  if (!fs.existsSync(ENGINE_SOCKET)) return;
  const ids = (run('docker', ['ps', '-aq', '--filter', `label=dev.warden.pid=${pid}`]) ?? '').split('\n').filter(Boolean);
  if (ids.length) run('docker', ['rm', '-f', ...ids], { timeout: 60_000 });
}

function dockerdPid() {
  try {
    const pid = Number(fs.readFileSync('/var/run/docker.pid', 'utf8').trim());
    if (pid > 0 && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd') return pid;
  } catch {
    // no pidfile or no such process
  }
  return null;
}

function systemdManaged() {
  return fs.existsSync('/run/systemd/system') && run('systemctl', ['is-active', '--quiet', 'docker']) !== null;
}

async function stopDockerd() {
  if (systemdManaged()) {
    if (run('systemctl', ['stop', 'docker.socket', 'docker'], { timeout: 90_000 }) === null) throw new Error(run.lastError);
    return 'systemctl stop docker';
  }
  const pid = dockerdPid();
  if (!pid) {
    if (run('service', ['docker', 'stop'], { timeout: 90_000 }) !== null) return 'service docker stop';
    throw new Error('no dockerd to stop: no /var/run/docker.pid naming a running dockerd, no systemd, no service');
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (fs.existsSync(`/proc/${pid}`) && Date.now() < deadline) await sleep(200);
  if (fs.existsSync(`/proc/${pid}`)) throw new Error(`dockerd ${pid} did not stop within 60 s of SIGTERM`);
  return `dockerd ${pid} stopped (SIGTERM)`;
}

async function startDockerd() {
  if (fs.existsSync('/run/systemd/system') && run('systemctl', ['cat', 'docker'], { timeout: 10_000 }) !== null) {
    if (run('systemctl', ['start', 'docker'], { timeout: 120_000 }) === null) throw new Error(run.lastError);
    return 'systemctl start docker';
  }
  // the way this project starts it: tools/install-docker.sh starts dockerd if no engine answers
  const script = path.join(REPO, 'tools', 'install-docker.sh');
  const out = await new Promise((resolve) => {
    const p = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d) => { text += d; });
    p.stderr.on('data', (d) => { text += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), 180_000);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, text }); });
  });
  if (out.code !== 0) throw new Error(`tools/install-docker.sh failed (${out.code}): ${out.text.slice(-800)}`);
  return `dockerd started again by tools/install-docker.sh (pid ${dockerdPid()})`;
}

// ---------------------------------------------------------------------------------------------
// memory

/** VmRSS of a process in kB, or null when it is gone. */
export function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// leaks

function procEntries() {
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
}

function readOr(file, fallback = '') {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/**
 * What is left on the host after the servers stopped. `pids`: every server process there was;
 * `roots`: directories only this soak uses (the workspace roots: no process should still have them
 * on its command line, no mount should be below them); `cgroupName`: the servers' cgroup subtree
 * (sandbox.cgroup_name, unique to this soak); `markers`: strings only a leaked run's command line
 * holds. Returns a list of human-readable leaks (empty: clean).
 */
export function scanLeaks({ pids, roots, cgroupName, markers }) {
  const leaks = [];
  const self = process.pid;
  const realRoots = roots.map((r) => { try { return fs.realpathSync(r); } catch { return r; } });
  for (const pid of procEntries()) {
    if (pid === self) continue;
    const cmd = readOr(`/proc/${pid}/cmdline`).split('\0').join(' ').trim();
    if (!cmd) continue;
    const cg = readOr(`/proc/${pid}/cgroup`);
    const why = [];
    if (pids.includes(pid)) why.push('a server process still running');
    if (cg.includes(`/${cgroupName}/`) || cg.includes(`/${cgroupName}\n`)) why.push(`in cgroup ${cgroupName}`);
    if (realRoots.some((r) => cmd.includes(r)) && !cmd.includes('node ')) why.push('names the workspace root');
    for (const m of markers) if (cmd.includes(m)) why.push(`carries marker ${m}`);
    if (why.length) leaks.push(`process ${pid} (${cmd.slice(0, 160)}): ${why.join(', ')}`);
  }
  for (const line of readOr('/proc/mounts').split('\n')) {
    const at = line.split(' ')[1];
    if (at && realRoots.some((r) => at === r || at.startsWith(`${r}/`))) leaks.push(`mount ${line}`);
  }
  const loops = run('losetup', ['-a']) ?? '';
  for (const line of loops.split('\n').filter(Boolean)) {
    if (pids.some((p) => line.includes(`/w${p}-`)) || realRoots.some((r) => line.includes(r))) leaks.push(`loop device ${line}`);
  }
  for (const ctl of ['memory', 'pids', 'cpuacct', 'unified', '']) {
    const base = path.join('/sys/fs/cgroup', ctl, cgroupName);
    if (!fs.existsSync(base)) continue;
    const procs = [];
    const dirs = [];
    const walk = (d, depth) => {
      if (depth > 6 || dirs.length > 500) return;
      dirs.push(d);
      for (const p of readOr(path.join(d, 'cgroup.procs')).split('\n').filter(Boolean)) procs.push(`${p} in ${d}`);
      let entries = [];
      try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { /* gone meanwhile */ }
      for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name), depth + 1);
    };
    walk(base, 0);
    if (procs.length) leaks.push(`cgroup ${base}: processes still inside: ${procs.slice(0, 10).join('; ')}`);
    leaks.push(`cgroup subtree ${base} still exists (${dirs.length} groups: ${dirs.slice(0, 4).join(', ')}${dirs.length > 4 ? ', …' : ''})`);
  }
  // the containers' parent groups (container executor: warden-l3/warden-<pid>-<n>)
  for (const ctl of ['memory', 'pids', 'cpuacct']) {
    const l3 = path.join('/sys/fs/cgroup', ctl, 'warden-l3');
    let names = [];
    try { names = fs.readdirSync(l3); } catch { continue; }
    for (const name of names) {
      const m = /^warden-(\d+)-/.exec(name);
      if (m && pids.includes(Number(m[1]))) leaks.push(`container cgroup ${path.join(l3, name)} of server ${m[1]}`);
    }
  }
  if (fs.existsSync(ENGINE_SOCKET)) {
    for (const pid of pids) {
      const ids = (run('docker', ['ps', '-a', '--format', '{{.ID}} {{.Image}} {{.Status}}', '--filter', `label=dev.warden.pid=${pid}`]) ?? '')
        .split('\n').filter(Boolean);
      for (const c of ids) leaks.push(`container of server ${pid}: ${c}`);
    }
  }
  return leaks;
}

/** Lazily unmounts whatever is mounted below `root` (after a leak was recorded), deepest first. */
export function unmountBelow(root) {
  let real;
  try { real = fs.realpathSync(root); } catch { return; }
  const ats = readOr('/proc/mounts').split('\n').map((l) => l.split(' ')[1])
    .filter((at) => at && (at === real || at.startsWith(`${real}/`))).sort((a, b) => b.length - a.length);
  for (const at of ats) run('umount', ['-l', at]);
}

/** Removes an (empty) cgroup subtree of this soak, deepest groups first; best effort. */
export function removeCgroupTree(cgroupName) {
  for (const ctl of ['memory', 'pids', 'cpuacct', 'unified', '']) {
    const base = path.join('/sys/fs/cgroup', ctl, cgroupName);
    if (!fs.existsSync(base)) continue;
    const dirs = [];
    const walk = (d, depth) => {
      if (depth > 6) return;
      dirs.push(d);
      let entries = [];
      try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { /* gone */ }
      for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name), depth + 1);
    };
    walk(base, 0);
    for (const d of dirs.sort((a, b) => b.length - a.length)) {
      try { fs.rmdirSync(d); } catch { /* busy or gone */ }
    }
  }
}
