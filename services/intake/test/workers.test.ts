// POSTAMT_SMTP_WORKERS=2: a supervisor and two intake workers sharing the MX
// port, against a real redis-server and real SMTP clients. Which worker took a
// message is read from the workers' own log lines (`worker`, `pid`). The
// kernel picks the worker by a hash of the connection's addresses, so tests
// that need a given worker send until it has taken one.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineClient, waitFor } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Env, type Intake, startEnv, startIntake, transact } from './helpers.js';

let env: Env;
let intake: Intake;

interface LogLine {
  msg?: string;
  worker?: number | string;
  pid?: number;
  queueId?: string;
}

function logLines(): LogLine[] {
  return intake.proc
    .log()
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return [];
      }
    });
}

/** Slot → pid of the workers that said they are listening (the latest per slot). */
function workerPids(): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of logLines())
    if (l.msg === 'worker listening' && typeof l.worker === 'number' && l.pid) out.set(l.worker, l.pid);
  return out;
}

/** Queue id → the worker (slot and pid) that answered 250 for it. */
function queuedBy(): Map<string, { worker: number; pid: number }> {
  const out = new Map<string, { worker: number; pid: number }>();
  for (const l of logLines())
    if (l.msg === 'queued' && l.queueId && typeof l.worker === 'number' && l.pid)
      out.set(l.queueId, { worker: l.worker, pid: l.pid });
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function spooledAndQueued(id: string): Promise<boolean> {
  const file = readdirSync(join(intake.data, 'spool')).includes(`${id}.msg`);
  return file && (await env.redis.exists(`bull:filter:${id}`)) === 1;
}

/** Messages answered 250 so far (each counts one recipient decision). */
let sent = 0;

async function sendOne(): Promise<string> {
  const i = sent++;
  const t = await transact(intake.port, { body: `Subject: m${i}\r\n\r\nhello ${i}\r\n` });
  expect(t.data).toMatch(/^250 /);
  return t.id as string;
}

async function sendSome(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await sendOne());
  return ids;
}

/**
 * Sends messages until `done` holds for the workers that queued them (by their
 * log lines); 64 tries, so a fair spread fails this by chance about 2^-63.
 */
async function sendUntil(done: (takers: { worker: number; pid: number }[]) => boolean): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 64; i++) {
    ids.push(await sendOne());
    await waitFor('queued log lines', async () => ids.every((id) => queuedBy().has(id)));
    const by = queuedBy();
    if (done(ids.map((id) => by.get(id) as { worker: number; pid: number }))) return ids;
  }
  throw new Error(`after ${ids.length} messages the workers that took them still do not satisfy the test`);
}

/** Listening TCP sockets on `port` (/proc/net/tcp and tcp6, state 0A = LISTEN). */
function listeningSockets(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 in this kernel
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) n++;
    }
  }
  return n;
}

async function readyz(): Promise<{ status: number; body: { checks: Record<string, string> } }> {
  const res = await fetch(`http://127.0.0.1:${intake.proc.metricsPort}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
}

beforeAll(async () => {
  env = await startEnv();
  intake = await startIntake(env, {
    POSTAMT_SMTP_WORKERS: '2',
    POSTAMT_LOG_LEVEL: 'info',
    POSTAMT_MYNETWORKS: '127.0.0.0/8',
    POSTAMT_SMTP_PREGREET_WAIT: '0s',
    // Loopback is limited here (the default exempts it), to see the instance-wide count.
    POSTAMT_SMTP_LIMIT_EXCEPTIONS: '192.0.2.1/32',
    POSTAMT_SMTP_CLIENT_CONNECTION_LIMIT: '2',
    // The sweep after a worker's death may take the dead worker's files at once.
    POSTAMT_SWEEP_MIN_AGE: '0s',
    POSTAMT_STOP_TIMEOUT: '10s',
  });
}, 60_000);

afterAll(async () => {
  await intake?.proc.stop();
  env?.redis.disconnect();
  await env?.redisServer.stop();
});

describe('intake with POSTAMT_SMTP_WORKERS=2', () => {
  it('both workers accept connections; every message is spooled and queued', async () => {
    const pids = workerPids();
    expect([...pids.keys()].sort()).toEqual([1, 2]);
    expect(new Set(pids.values()).size).toBe(2);
    expect(pids.has(intake.proc.child.pid as number)).toBe(false);

    const ids = await sendUntil((takers) => new Set(takers.map((t) => t.worker)).size === 2);
    for (const id of ids) expect(await spooledAndQueued(id)).toBe(true);
  });

  it('each worker listens on the MX port itself: the supervisor passes no connections on', () => {
    // One socket per worker (SO_REUSEPORT); round-robin through the supervisor would show one.
    expect(listeningSockets(intake.port)).toBe(2);
  });

  it('has one /readyz and one /metrics for all workers', async () => {
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body.checks).toEqual({ redis: 'ok', workers: 'ok' });
    const metrics = await (await fetch(`http://127.0.0.1:${intake.proc.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^postamt_intake_workers_ready\{service="intake"\} 2$/m);
    // Each worker's counters once, told apart by its slot: each took some of the messages.
    for (const w of ['1', '2'])
      expect(metrics).toMatch(
        new RegExp(
          `^postamt_intake_policy_decisions_total\\{check="recipient",[^}]*worker="${w}"\\} \\d+$`,
          'm',
        ),
      );
    const recipients = [
      ...metrics.matchAll(/^postamt_intake_policy_decisions_total\{check="recipient".*\} (\d+)$/gm),
    ];
    expect(recipients.reduce((sum, m) => sum + Number(m[1]), 0)).toBe(sent);
  });

  it('counts a client’s concurrent connections over all workers', async () => {
    // Whichever workers the kernel picks, the third is over the limit: a
    // per-worker count would let it in whenever the first two went to different workers.
    const a = await LineClient.connect(intake.port);
    const b = await LineClient.connect(intake.port);
    try {
      expect(await a.expect(/^\d{3} /)).toMatch(/^220 /);
      expect(await b.expect(/^\d{3} /)).toMatch(/^220 /);
      const c = await LineClient.connect(intake.port);
      expect(await c.expect(/^\d{3} /)).toMatch(/^421 4\.7\.0 .*too many connections/);
      c.close();
    } finally {
      a.close();
      b.close();
    }
    // Closed connections are taken out of the count.
    await waitFor('a new connection is let in', async () => {
      const t = await transact(intake.port, {});
      return t.greeting.startsWith('220') && t.data?.startsWith('250') === true;
    });
  });

  it('restarts a SIGKILLed worker; mail it accepted is kept, its half-received message is swept', async () => {
    const before = await sendSome(4);
    // A transfer in progress on some worker: its temp file names the worker's pid.
    const c = await LineClient.connect(intake.port);
    await c.expect(/^220 /);
    c.send('EHLO client.example.org');
    await c.expect(/^250 /);
    await c.command('MAIL FROM:<bob@example.org>', /^250 /);
    await c.command('RCPT TO:<alice@example.test>', /^250 /);
    await c.command('DATA', /^354 /);
    // More than the intake gathers before its first write (256 KiB): a streamed message in tmp/.
    c.write(`Subject: partial\r\n\r\n${'half a message\r\n'.repeat(20000)}`);
    const tmp = join(intake.data, 'spool/tmp');
    await waitFor('partial spool file', async () => readdirSync(tmp).length === 1);
    const [tmpName] = readdirSync(tmp);
    const victim = [...workerPids()].find(([, pid]) => tmpName?.split('.')[2] === String(pid));
    expect(victim).toBeDefined();
    const [slot, pid] = victim as [number, number];

    process.kill(pid, 'SIGKILL');
    await waitFor('the worker is gone', async () => !alive(pid));
    c.close();
    await waitFor('a new worker in its slot', async () => {
      const now = workerPids().get(slot);
      return now !== undefined && now !== pid;
    });
    await waitFor('ready again', async () => (await readyz()).status === 200);
    expect(intake.proc.log()).toMatch(/worker died: starting a new one/);

    for (const id of before) expect(await spooledAndQueued(id)).toBe(true);
    // The supervisor sweeps after the death: the dead worker's temp file goes.
    await waitFor('the partial file removed', async () => readdirSync(tmp).length === 0);
    const spoolIds = readdirSync(join(intake.data, 'spool'))
      .filter((n) => n.endsWith('.msg'))
      .map((n) => n.slice(0, -4));
    for (const id of spoolIds) expect(await spooledAndQueued(id)).toBe(true);

    // The new worker takes its share again.
    const newPid = workerPids().get(slot) as number;
    const after = await sendUntil((takers) => takers.some((t) => t.pid === newPid));
    for (const id of after) expect(await spooledAndQueued(id)).toBe(true);
  });

  it('SIGTERM stops the supervisor and every worker', async () => {
    const pids = [...workerPids().values()];
    expect(pids.every(alive)).toBe(true);
    await intake.proc.stop(20_000);
    expect(await intake.proc.exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(intake.proc.log()).toMatch(/"worker":"supervisor".*"msg":"stopped"/);
  });
});
