// The worker's side of the supervisor channel (cluster-messages.ts): it answers
// the supervisor's /readyz and /metrics questions, says when its listeners are
// up, and asks the supervisor before it lets a client hold one more connection.
import { type ClientLimiter, type ClientLimitOptions, clientKey } from '@postamt/smtp-server';
import {
  type AskMessage,
  isPostamtMessage,
  type SupervisorMessage,
  type WorkerMessage,
  type WorkerReadiness,
} from './cluster-messages.js';

/** How long a connection waits for the supervisor's count before it is let in anyway. */
const OPEN_TIMEOUT_MS = 1000;

export interface WorkerAnswers {
  readyz(): Promise<WorkerReadiness>;
  /** prom-client's getMetricsAsJSON() of this worker's registry. */
  metrics(): Promise<unknown>;
}

export class SupervisorChannel {
  private nextId = 1;
  private readonly pending = new Map<number, (ok: boolean) => void>();
  private answers: WorkerAnswers | null = null;

  constructor(private readonly log: { warn(obj: object, msg: string): void }) {
    process.on('message', (m: unknown) => {
      if (!isPostamtMessage<SupervisorMessage>(m)) return;
      if (m.postamt === 'ask') this.answer(m);
      else if (m.postamt === 'opened') {
        this.pending.get(m.id)?.(m.ok);
        this.pending.delete(m.id);
      }
    });
  }

  /** From now on the supervisor's questions are answered. */
  serve(answers: WorkerAnswers): void {
    this.answers = answers;
  }

  ready(): void {
    this.send({ postamt: 'ready' });
  }

  /** Counts one more connection under `key` unless `limit` is reached (fails open without an answer). */
  open(key: string, limit: number): Promise<boolean> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.log.warn({ key }, 'no answer from the supervisor: connection let in uncounted');
        resolve(true);
      }, OPEN_TIMEOUT_MS);
      this.pending.set(id, (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
      if (!this.send({ postamt: 'open', id, key, limit })) this.pending.get(id)?.(true);
    });
  }

  closed(key: string): void {
    this.send({ postamt: 'closed', key });
  }

  private answer(m: AskMessage): void {
    const a = this.answers;
    if (!a) {
      this.send({ postamt: 'answer', id: m.id, error: 'starting' });
      return;
    }
    (m.what === 'readyz' ? a.readyz() : a.metrics()).then(
      (body) => this.send({ postamt: 'answer', id: m.id, body }),
      (err: Error) => this.send({ postamt: 'answer', id: m.id, error: err.message || 'failed' }),
    );
  }

  private send(m: WorkerMessage): boolean {
    if (!process.connected || !process.send) return false;
    process.send(m, undefined, {}, () => {}); // a closed channel is no error here: the worker is going
    return true;
  }
}

/**
 * The per-client concurrency limit counted by the supervisor; `rates` does the
 * rest (connection, message and recipient rates, shared in Redis) and must
 * have its own concurrency limit off.
 */
export class ClusterClientLimits implements ClientLimiter {
  constructor(
    private readonly listener: string,
    private readonly options: ClientLimitOptions,
    private readonly rates: ClientLimiter,
    private readonly channel: SupervisorChannel,
  ) {}

  async openConnection(ip: string): Promise<boolean> {
    const counted = this.counted(ip);
    if (counted && !(await this.channel.open(this.key(ip), this.options.connections))) return false;
    if (await this.rates.openConnection(ip)) return true;
    if (counted) this.channel.closed(this.key(ip));
    return false;
  }

  closeConnection(ip: string): void {
    this.rates.closeConnection(ip);
    if (this.counted(ip)) this.channel.closed(this.key(ip));
  }

  takeMessage(ip: string): boolean | Promise<boolean> {
    return this.rates.takeMessage(ip);
  }

  takeRecipient(ip: string): boolean | Promise<boolean> {
    return this.rates.takeRecipient(ip);
  }

  private counted(ip: string): boolean {
    return this.options.connections > 0 && !(this.options.exempt?.(ip) ?? false);
  }

  private key(ip: string): string {
    return `${this.listener} ${clientKey(ip)}`;
  }
}
