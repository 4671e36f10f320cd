// Per-client limits, as Postfix's anvil: concurrent connections, and new
// connections, messages (MAIL FROM) and recipients (RCPT TO) per time window,
// per client address. ClientLimits keeps its counts in this process's memory;
// an application with several replicas passes its own ClientLimiter (the
// intake shares the rates through Redis) and may use ClientLimits as the
// local fallback. Windows are fixed and aligned to multiples of `windowMs`
// (anvil_rate_time_unit), so every replica counts in the same window. Clients
// matching `exempt` (e.g. loopback, a monitoring host) are never limited.
// IPv6 clients are counted per /64, since one host usually owns a whole /64.

export interface ClientLimitOptions {
  /** Concurrent connections per client; 0 = no limit. */
  connections: number;
  /** New connections per client per window; 0 = no limit. */
  connectionRate?: number;
  /** MAIL FROM commands per client per window; 0 = no limit. */
  messages: number;
  /** RCPT TO commands per client per window; 0 = no limit. */
  recipients: number;
  windowMs: number;
  exempt?: (ip: string) => boolean;
}

/** What the SMTP layer asks before it lets a client go on; a promise may ask a shared store. */
export interface ClientLimiter {
  /** Counts a new connection; false refuses it (and it is not counted). */
  openConnection(ip: string): boolean | Promise<boolean>;
  /** Called once for every connection that openConnection let in. */
  closeConnection(ip: string): void;
  takeMessage(ip: string): boolean | Promise<boolean>;
  takeRecipient(ip: string): boolean | Promise<boolean>;
}

export type RateKind = 'connections' | 'messages' | 'recipients';

interface Window {
  index: number;
  connections: number;
  messages: number;
  recipients: number;
}

/** The counting key: the address, or its /64 for IPv6. */
export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export class ClientLimits implements ClientLimiter {
  private readonly connections = new Map<string, number>();
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly o: ClientLimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  exempt(ip: string): boolean {
    return this.o.exempt?.(ip) ?? false;
  }

  /** The configured limit of one rate; 0 = none. */
  limit(kind: RateKind): number {
    return kind === 'connections' ? (this.o.connectionRate ?? 0) : this.o[kind];
  }

  /** Index of the current window; the same in every process with the same clock. */
  windowIndex(): number {
    return Math.floor(this.now() / this.o.windowMs);
  }

  openConnection(ip: string): boolean {
    if (!this.openConcurrent(ip)) return false;
    if (this.take(ip, 'connections')) return true;
    this.closeConnection(ip);
    return false;
  }

  /** The concurrency half of openConnection (always per process). */
  openConcurrent(ip: string): boolean {
    const key = clientKey(ip);
    const n = this.connections.get(key) ?? 0;
    if (this.o.connections > 0 && n >= this.o.connections && !this.exempt(ip)) return false;
    this.connections.set(key, n + 1);
    return true;
  }

  closeConnection(ip: string): void {
    const key = clientKey(ip);
    const n = (this.connections.get(key) ?? 1) - 1;
    if (n <= 0) this.connections.delete(key);
    else this.connections.set(key, n);
  }

  takeMessage(ip: string): boolean {
    return this.take(ip, 'messages');
  }

  takeRecipient(ip: string): boolean {
    return this.take(ip, 'recipients');
  }

  /** Counts one event in this process's window; false when the limit is already reached. */
  take(ip: string, kind: RateKind): boolean {
    const limit = this.limit(kind);
    if (limit <= 0 || this.exempt(ip)) return true;
    const key = clientKey(ip);
    const index = this.windowIndex();
    let w = this.windows.get(key);
    if (!w || w.index !== index) {
      if (this.windows.size > 100_000) this.prune(index);
      w = { index, connections: 0, messages: 0, recipients: 0 };
      this.windows.set(key, w);
    }
    if (w[kind] >= limit) return false;
    w[kind]++;
    return true;
  }

  private prune(index: number): void {
    for (const [k, w] of this.windows) if (w.index !== index) this.windows.delete(k);
  }
}
