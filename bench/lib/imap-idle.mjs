// Many idle IMAP connections for the memory figures: each logs in, selects
// INBOX and enters IDLE (RFC 2177), a few dozen opened at a time and spread
// over several loopback source addresses (127.0.0.1 … 127.0.0.n) so 10,000
// connections do not run a single address out of ephemeral ports. Then one
// message is APPENDed from another session and every idle client waits for
// its `* n EXISTS`: the time until the last one hears it is the fan-out time.
// runIdle() steps one server through 1 … n connections measuring memory
// (treeMemory) and fan-out; addIdleFigures() turns both sides into table rows.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { ImapClient } from './imap-client.mjs';
import { now, sleep, withTimeout } from './timing.mjs';

export class IdlePool {
  clients = [];
  failures = [];
  #next = 0;

  constructor({ port, user, password, sources = 8, concurrency = 64 }) {
    Object.assign(this, { port, user, password, sources, concurrency });
  }

  get size() {
    return this.clients.length;
  }

  async #openOne() {
    const localAddress = `127.0.0.${1 + (this.#next++ % this.sources)}`;
    const c = await ImapClient.connect({ port: this.port, localAddress, timeoutMs: 900_000 });
    try {
      await c.login(this.user, this.password);
      await c.command('SELECT INBOX');
      await c.idle();
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  /** Opens connections until `target` are idle; stops early after repeated failures. */
  async growTo(target, { timeoutMs = 1_800_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    const worker = async () => {
      while (this.clients.length + this.pending < target && Date.now() < deadline) {
        if (this.failures.length >= 20) return;
        this.pending++;
        try {
          this.clients.push(await this.#openOne());
        } catch (err) {
          this.failures.push(err.message);
        } finally {
          this.pending--;
        }
      }
    };
    this.pending = 0;
    await Promise.all(Array.from({ length: Math.min(this.concurrency, target) }, worker));
    return this.clients.length;
  }

  /**
   * APPENDs one small message from a separate session and waits until every
   * idle client has heard an EXISTS; returns { appendMs, firstMs, lastMs,
   * heard, of, serverCpuMs }. The server's CPU time over the same span (with
   * `cpuSeconds`, 10 ms ticks) tells its own work apart from waiting for a
   * busy machine's cores.
   */
  async deliver({ timeoutMs = 120_000, cpuSeconds = null } = {}) {
    const waits = this.clients.map((c) => c.waitFor(/^\* \d+ EXISTS/).then(() => now()));
    const sender = await ImapClient.connect({ port: this.port });
    await sender.login(this.user, this.password);
    const msg = Buffer.from(
      `From: <fanout@bench.example>\r\nTo: <${this.user}>\r\nSubject: fan-out ${Date.now()}\r\nMessage-ID: <fanout.${Date.now()}@bench.example>\r\n\r\nnew mail for the idle clients\r\n`,
    );
    const cpu0 = cpuSeconds?.() ?? null;
    const t0 = now();
    await sender.append('INBOX', msg);
    const appendMs = (now() - t0) * 1000;
    let heard = 0;
    let first = null;
    let last = t0;
    await withTimeout(
      Promise.all(
        waits.map((w) =>
          w.then((t) => {
            heard++;
            if (first === null || t < first) first = t;
            if (t > last) last = t;
          }),
        ),
      ),
      timeoutMs,
      'every idle client hearing EXISTS',
    ).catch(() => {});
    const cpu1 = cpuSeconds?.() ?? null;
    await sender.logout();
    return {
      appendMs,
      firstMs: first === null ? null : (first - t0) * 1000,
      lastMs: heard === this.clients.length ? (last - t0) * 1000 : null,
      heard,
      of: this.clients.length,
      serverCpuMs: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) * 1000,
    };
  }

  closeAll() {
    for (const c of this.clients.splice(0)) c.close();
  }
}

/** "1:3,7,9:10" for a list of numbers. */
export function toSet(numbers) {
  const v = [...numbers].sort((a, b) => a - b);
  const parts = [];
  for (let i = 0; i < v.length; ) {
    let j = i;
    while (j + 1 < v.length && v[j + 1] === v[j] + 1) j++;
    parts.push(i === j ? String(v[i]) : `${v[i]}:${v[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Number of members of a sequence set like "1:3,7" (no `*`). */
export function setSize(set) {
  let n = 0;
  for (const part of set.split(',')) {
    const [a, b] = part.split(':').map(Number);
    n += b === undefined ? 1 : Math.abs(b - a) + 1;
  }
  return n;
}

const memAvailable = () =>
  Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024;

export const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const mb = (b) => (b === null || b === undefined ? null : b / 2 ** 20);
const kb = (b) => (b === null || b === undefined ? null : b / 1024);

/** Memory of one server at each step of idle connections, and the fan-out time of a new message. */
export async function runIdle(server, { user, password, steps, sources, log, timeoutMs }) {
  const pool = new IdlePool({ port: server.port, user, password, sources });
  const points = [];
  const fanout = [];
  const notes = [];
  await sleep(2000);
  const base = server.memory();
  try {
    for (const target of steps) {
      if (points.length > 0) {
        // Enough memory for the next step? Projected from the PSS slope so far.
        const p = points.at(-1);
        const slope = (p.pss - base.pss) / Math.max(1, p.connections);
        const need = slope * (target - p.connections);
        if (need > 0.6 * memAvailable()) {
          notes.push(
            `skipped ${target} connections: about ${(need / 2 ** 30).toFixed(1)} GB more needed, ${(memAvailable() / 2 ** 30).toFixed(1)} GB available`,
          );
          break;
        }
      }
      const t0 = now();
      const got = await pool.growTo(target, { timeoutMs });
      const openS = now() - t0;
      await sleep(target >= 1000 ? 5000 : 1500);
      const m = server.memory();
      points.push({ connections: got, rss: m.rss, pss: m.pss, processes: m.processes, openSeconds: openS });
      log(
        `    ${got} idle: RSS ${(m.rss / 2 ** 20).toFixed(0)} MB, PSS ${(m.pss / 2 ** 20).toFixed(0)} MB in ${m.processes} processes (opened in ${openS.toFixed(0)} s, load ${load()})`,
      );
      if (got < target) {
        notes.push(`only ${got} of ${target} connections opened: ${pool.failures.slice(0, 3).join(' | ')}`);
        break;
      }
      const f = await pool.deliver({ cpuSeconds: server.cpuSeconds ? () => server.cpuSeconds() : null });
      fanout.push({ connections: got, ...f });
      const ms = (v) => (v === null || v === undefined ? '–' : v.toFixed(0));
      log(
        `    new message: APPEND ${f.appendMs.toFixed(0)} ms, ${f.heard}/${f.of} heard EXISTS, first after ${ms(f.firstMs)} ms, last after ${ms(f.lastMs)} ms; server CPU ${ms(f.serverCpuMs)} ms (load ${load()})`,
      );
    }
  } finally {
    pool.closeAll();
  }
  // Dovecot's processes go away one by one; wait so the next side runs alone.
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline && server.memory({ pss: false }).processes > base.processes + 2)
    await sleep(1000);
  return { base, points, fanout, notes };
}

/** Table rows and notes for the idle-connection results of both sides (`label`: the folder). */
export function addIdleFigures(figures, notes, idle, label) {
  const sides = ['postamt', 'dovecot'].filter((side) => idle[side]);
  const point = (side, n) => idle[side]?.points.find((p) => p.connections === n) ?? null;
  const fanout = (side, n) => idle[side]?.fanout.find((f) => f.connections === n) ?? null;
  const counts = [...new Set(sides.flatMap((side) => idle[side].points.map((p) => p.connections)))].sort(
    (a, b) => a - b,
  );
  for (const n of counts) {
    const [p, d] = [point('postamt', n), point('dovecot', n)];
    figures.push({
      name: `${label} folder: memory with ${n} idle connections, RSS sum`,
      unit: 'MB',
      better: 'lower',
      postamt: mb(p?.rss),
      peer: mb(d?.rss),
      note: `PSS ${mb(p?.pss)?.toFixed(0) ?? '–'} vs ${mb(d?.pss)?.toFixed(0) ?? '–'} MB${d ? `; ${d.processes} Dovecot processes` : ''}`,
    });
    const [fp, fd] = [fanout('postamt', n), fanout('dovecot', n)];
    const heard = (f) => (f ? `${f.heard}/${f.of}` : '–');
    figures.push({
      name: `${label} folder: new message heard by all ${n} idle clients`,
      unit: 'ms',
      better: 'lower',
      postamt: fp?.lastMs ?? null,
      peer: fd?.lastMs ?? null,
      note: `APPEND → last * EXISTS; heard ${heard(fp)} vs ${heard(fd)} in 120 s`,
    });
  }
  // Per-connection cost: the slope over the widest range both sides reached.
  const common = counts.filter((n) => sides.every((side) => point(side, n)));
  const range = common.length >= 2 ? [common[0], common.at(-1)] : null;
  const slope = (side, key, [a, b]) => {
    const [pa, pb] = [point(side, a), point(side, b)];
    return pa && pb ? (pb[key] - pa[key]) / (b - a) : null;
  };
  for (const key of ['rss', 'pss']) {
    const own = (side) => {
      const pts = idle[side]?.points ?? [];
      return pts.length >= 2 ? [pts[0].connections, pts.at(-1).connections] : null;
    };
    const rp = range ?? own('postamt');
    const rd = range ?? own('dovecot');
    const p = rp ? slope('postamt', key, rp) : null;
    const d = rd ? slope('dovecot', key, rd) : null;
    figures.push({
      name: `${label} folder: memory per idle connection (slope), ${key.toUpperCase()}`,
      unit: 'KB',
      better: 'lower',
      postamt: kb(p),
      peer: kb(d),
      note: range ? `from ${range[0]} to ${range[1]} connections` : 'each side over its own steps',
    });
    if (p !== null && d !== null)
      notes.push(
        `memory per idle connection (${key.toUpperCase()} slope, ${label} folder): Postamt/Dovecot = ${(p / d).toFixed(3)} (issue 8 target ≤ 0.2)`,
      );
  }
  for (const side of sides) {
    const [a, b] = [idle[side].points[0], idle[side].points.at(-1)];
    if (a && b && b !== a)
      notes.push(
        `${side}: PSS per idle connection from ${a.connections} to ${b.connections}: ${kb((b.pss - a.pss) / (b.connections - a.connections)).toFixed(0)} KB`,
      );
  }
  let inotify = '?';
  try {
    inotify = readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8').trim();
  } catch {}
  notes.push(
    `Dovecot: one imap process per connection; inotify max_user_instances is ${inotify}, so beyond that many IDLE processes fall back to polling every mailbox_idle_check_interval (30 s)`,
  );
}
