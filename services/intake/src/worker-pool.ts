// The supervisor's side of the workers: forks N intake workers with
// node:cluster, restarts one that dies, asks them for /readyz and /metrics,
// counts every client's open connections for all of them, and stops them on
// SIGTERM. Each worker binds the listening ports itself with SO_REUSEPORT
// (packages/smtp-server), so the kernel spreads connections over the workers
// by their address hash and this process is never in a connection's path —
// round-robin through this process cost each message an IPC hand-off that ate
// what the second core gained. A dying worker's not yet accepted connections
// are reset (the client retries); the others are unaffected.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@postamt/observability';
import {
  type AnswerMessage,
  isPostamtMessage,
  SLOT_ENV,
  type SupervisorMessage,
  type WorkerMessage,
} from './cluster-messages.js';

/** A worker that dies sooner than this after its start waits before it is forked again. */
const QUICK_DEATH_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

interface Slot {
  index: number;
  worker: Worker | null;
  ready: boolean;
  startedAt: number;
  quickDeaths: number;
  restartTimer: NodeJS.Timeout | null;
  /** Open connections this worker holds, per key. */
  open: Map<string, number>;
}

interface Pending {
  resolve(body: unknown): void;
  reject(err: Error): void;
  slot: Slot;
}

export interface WorkerPoolOptions {
  size: number;
  logger: Logger;
  /** A worker died and a replacement is being started. */
  onDeath?(slot: number): void;
}

export class WorkerPool {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, Pending>();
  /** Open connections per key, over all workers (see OpenMessage). */
  private readonly open = new Map<string, number>();
  private nextId = 1;
  private stopping = false;
  private starting: { resolve(): void; reject(err: Error): void } | null = null;

  constructor(private readonly o: WorkerPoolOptions) {
    this.slots = Array.from({ length: o.size }, (_, i) => ({
      index: i + 1,
      worker: null,
      ready: false,
      startedAt: 0,
      quickDeaths: 0,
      restartTimer: null,
      open: new Map(),
    }));
  }

  /** Forks every worker; resolves once all are listening, rejects if one dies first. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.starting = { resolve, reject };
      for (const slot of this.slots) this.fork(slot);
    });
  }

  get readyCount(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /** Asks every listening worker; a worker that does not answer within `timeoutMs` is left out. */
  async askAll(
    what: 'readyz' | 'metrics',
    timeoutMs: number,
  ): Promise<{ slot: number; body?: unknown; error?: string }[]> {
    return Promise.all(
      this.slots.map(async (slot) => {
        if (!slot.ready || !slot.worker) return { slot: slot.index, error: 'not running' };
        try {
          return { slot: slot.index, body: await this.ask(slot, what, timeoutMs) };
        } catch (err) {
          return { slot: slot.index, error: (err as Error).message };
        }
      }),
    );
  }

  /** SIGTERM to every worker (each drains within the stop timeout); SIGKILL to those left after `killAfterMs`. */
  async stop(killAfterMs: number): Promise<void> {
    this.stopping = true;
    const exits: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      const w = slot.worker;
      if (!w || w.isDead()) continue;
      exits.push(new Promise((resolve) => w.once('exit', () => resolve())));
      w.process.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      for (const slot of this.slots)
        if (slot.worker && !slot.worker.isDead()) slot.worker.process.kill('SIGKILL');
    }, killAfterMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }

  private fork(slot: Slot): void {
    slot.restartTimer = null;
    slot.ready = false;
    slot.startedAt = Date.now();
    const w = cluster.fork({ [SLOT_ENV]: String(slot.index) });
    slot.worker = w;
    w.on('message', (m: unknown) => {
      if (isPostamtMessage<WorkerMessage>(m)) this.onMessage(slot, w, m);
    });
    w.on('exit', (code, signal) => this.onExit(slot, w, code, signal));
  }

  private onMessage(slot: Slot, w: Worker, m: WorkerMessage): void {
    switch (m.postamt) {
      case 'ready':
        slot.ready = true;
        this.o.logger.info({ worker: slot.index, pid: w.process.pid }, 'worker listening');
        if (this.starting && this.slots.every((s) => s.ready)) {
          this.starting.resolve();
          this.starting = null;
        }
        break;
      case 'answer':
        this.settle(m);
        break;
      case 'open': {
        const n = this.open.get(m.key) ?? 0;
        const ok = n < m.limit;
        if (ok) {
          this.open.set(m.key, n + 1);
          slot.open.set(m.key, (slot.open.get(m.key) ?? 0) + 1);
        }
        this.send(w, { postamt: 'opened', id: m.id, ok });
        break;
      }
      case 'closed':
        this.release(slot, m.key, 1);
        break;
    }
  }

  private onExit(slot: Slot, w: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== w) return;
    slot.worker = null;
    slot.ready = false;
    // Its connections died with it.
    for (const [key, n] of slot.open) this.release(slot, key, n);
    for (const [id, p] of this.pending)
      if (p.slot === slot) {
        this.pending.delete(id);
        p.reject(new Error('worker exited'));
      }
    if (this.stopping) return;
    if (this.starting) {
      this.starting.reject(
        new Error(`worker ${slot.index} exited during start (code ${code}, signal ${signal})`),
      );
      this.starting = null;
      return;
    }
    const quick = Date.now() - slot.startedAt < QUICK_DEATH_MS;
    slot.quickDeaths = quick ? slot.quickDeaths + 1 : 0;
    const delay = quick ? Math.min(MAX_BACKOFF_MS, 250 * 2 ** (slot.quickDeaths - 1)) : 0;
    this.o.logger.error(
      { worker: slot.index, pid: w.process.pid, code, signal, restartInMs: delay },
      'worker died: starting a new one',
    );
    this.o.onDeath?.(slot.index);
    slot.restartTimer = setTimeout(() => this.fork(slot), delay);
  }

  private release(slot: Slot, key: string, count: number): void {
    const mine = slot.open.get(key) ?? 0;
    const n = Math.min(count, mine);
    if (n <= 0) return;
    if (mine - n > 0) slot.open.set(key, mine - n);
    else slot.open.delete(key);
    const total = (this.open.get(key) ?? 0) - n;
    if (total > 0) this.open.set(key, total);
    else this.open.delete(key);
  }

  private ask(slot: Slot, what: 'readyz' | 'metrics', timeoutMs: number): Promise<unknown> {
    const w = slot.worker;
    if (!w) return Promise.reject(new Error('not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('no answer'));
      }, timeoutMs);
      this.pending.set(id, {
        slot,
        resolve: (body) => {
          clearTimeout(timer);
          resolve(body);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.send(w, { postamt: 'ask', id, what });
    });
  }

  private settle(m: AnswerMessage): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.body);
  }

  private send(w: Worker, m: SupervisorMessage): void {
    if (w.isConnected()) w.send(m, undefined, () => {});
  }
}
