// Child processes: finding programs, starting and stopping them with their
// output in a log file, and reading their CPU time from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { onCleanup } from './cleanup.mjs';
import { withTimeout } from './timing.mjs';

/** Full path of a program on PATH (plus the sbin dirs, where Postfix lives), or null. */
export function which(cmd) {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/lib/postfix/sbin']);
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

export function requireProgram(cmd, hint) {
  const path = which(cmd);
  if (!path) throw new Error(`${cmd} not found${hint ? ` (${hint})` : ''}`);
  return path;
}

/** Runs a command to completion (bounded); returns { code, out } with stdout+stderr. */
export function runSync(cmd, args, { timeoutMs = 60_000, env } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, env: env ?? process.env });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
  return { code: r.status ?? -1, out: out.trim() };
}

/**
 * Starts a long-running child with stdout/stderr in `logFile`. It is stopped
 * at cleanup (SIGTERM, SIGKILL after a grace period) and killed at exit.
 */
export function startChild(name, cmd, args, { env, cwd, logFile, graceMs = 5000 }) {
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', out, out] });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => resolve({ code: null, signal: null, error: err }));
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (gone() || child.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const release = onCleanup(name, stop, () => {
    if (!gone()) child.kill('SIGKILL');
  });
  return {
    name,
    child,
    pid: child.pid,
    exited,
    gone,
    logTail: (lines = 30) => tail(logFile, lines),
    stop: release,
  };
}

export function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// --- CPU accounting from /proc ---------------------------------------------

let clockTicks;
function ticksPerSecond() {
  if (clockTicks === undefined) {
    const r = runSync('getconf', ['CLK_TCK'], { timeoutMs: 5000 });
    clockTicks = Number.parseInt(r.out, 10) || 100;
  }
  return clockTicks;
}

/** { ppid, own, children } in ticks from /proc/<pid>/stat, or null if it is gone. */
function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and ')' — split after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid = field 4, utime..cstime = fields 14..17.
  return {
    ppid: Number(f[1]),
    own: Number(f[11]) + Number(f[12]),
    children: Number(f[13]) + Number(f[14]),
  };
}

function allStats() {
  const stats = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(name);
    if (s) stats.set(Number(name), s);
  }
  return stats;
}

/**
 * CPU seconds used so far by a process and all its descendants, living or
 * reaped. Reaped children count in their parent's cutime/cstime, so the
 * difference of two readings is the CPU spent in between — also for Postfix,
 * whose master forks smtpd and cleanup processes that come and go.
 */
export function treeCpuSeconds(rootPid) {
  const stats = allStats();
  if (!stats.has(rootPid)) return null;
  const kids = new Map();
  for (const [pid, s] of stats) {
    if (!kids.has(s.ppid)) kids.set(s.ppid, []);
    kids.get(s.ppid).push(pid);
  }
  let ticks = 0;
  const stack = [rootPid];
  const seen = new Set();
  while (stack.length > 0) {
    const pid = stack.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    const s = stats.get(pid);
    ticks += s.own + s.children;
    stack.push(...(kids.get(pid) ?? []));
  }
  return ticks / ticksPerSecond();
}

// --- memory from /proc -------------------------------------------------------

/** Pids of `rootPid` and all its living descendants. */
export function treePids(rootPid) {
  const stats = allStats();
  if (!stats.has(rootPid)) return [];
  const kids = new Map();
  for (const [pid, s] of stats) {
    if (!kids.has(s.ppid)) kids.set(s.ppid, []);
    kids.get(s.ppid).push(pid);
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop();
    out.push(pid);
    stack.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/** `Name: <n> kB` from a /proc file, in bytes (0 when the process is gone). */
function procKb(file, name) {
  try {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Resident memory of a process tree: `rss` sums each process's RSS (shared
 * library pages counted once per process, as `ps` would add them up), `pss`
 * sums the proportional set size (shared pages split between their users),
 * the fairer figure for a server made of many processes. Bytes.
 */
export function treeMemory(rootPid, { pss = true } = {}) {
  const pids = treePids(rootPid);
  let rss = 0;
  let pssBytes = 0;
  for (const pid of pids) {
    rss += procKb(`/proc/${pid}/status`, 'VmRSS');
    if (pss) pssBytes += procKb(`/proc/${pid}/smaps_rollup`, 'Pss');
  }
  return { processes: pids.length, rss, pss: pss ? pssBytes : null };
}

// --- probes -------------------------------------------------------------------

/**
 * True when a server on host:port greets with a line starting with `prefix`;
 * `quit` (e.g. 'QUIT') is sent after a good greeting so the server logs a
 * clean end rather than a dropped connection.
 */
export function greets(port, prefix, { host = '127.0.0.1', timeoutMs = 3000, quit = null } = {}) {
  const probe = new Promise((resolve) => {
    const sock = new Socket();
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('error', () => done(false));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (!buf.includes('\n')) return;
      const ok = buf.startsWith(prefix);
      if (ok && quit) sock.write(`${quit}\r\n`);
      setTimeout(() => done(ok), quit ? 20 : 0);
    });
    sock.connect(port, host);
  });
  return withTimeout(probe, timeoutMs, `greeting on ${host}:${port}`).catch(() => false);
}

/** True when an SMTP server on host:port sends a 220 greeting (then QUIT). */
export const smtpBanner = (port, host = '127.0.0.1', timeoutMs = 3000) =>
  greets(port, '220', { host, timeoutMs, quit: 'QUIT' });

/** True when a POP3 server on host:port greets with +OK (then QUIT). */
export const popGreeting = (port, host = '127.0.0.1', timeoutMs = 3000) =>
  greets(port, '+OK', { host, timeoutMs, quit: 'QUIT' });

/** True when an IMAP server on host:port greets with * OK (then LOGOUT). */
export const imapGreeting = (port, host = '127.0.0.1', timeoutMs = 3000) =>
  greets(port, '* OK', { host, timeoutMs, quit: 'z LOGOUT' });

/** True when GET http://127.0.0.1:<port><path> answers 200. */
export async function httpOk(port, path, timeoutMs = 2000) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
