// Per-client limits, as Postfix's anvil: concurrent connections, and messages
// (MAIL FROM) and recipients (RCPT TO) per time window, per client address.
// State is in this process's memory only: with N intake replicas a client may
// get N times the configured rate (the connection limit is per replica too).
// A fixed window (anvil_rate_time_unit) is simple and good enough against
// floods; clients matching `exempt` (e.g. loopback, a monitoring host) are
// never limited. IPv6 clients are counted per /64, since one host usually owns
// a whole /64.

export interface ClientLimitOptions {
  /** Concurrent connections per client; 0 = no limit. */
  connections: number;
  /** MAIL FROM commands per client per window; 0 = no limit. */
  messages: number;
  /** RCPT TO commands per client per window; 0 = no limit. */
  recipients: number;
  windowMs: number;
  exempt?: (ip: string) => boolean;
}

interface Window {
  start: number;
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

export class ClientLimits {
  private readonly connections = new Map<string, number>();
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly o: ClientLimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  private exempt(ip: string): boolean {
    return this.o.exempt?.(ip) ?? false;
  }

  /** Counts a new connection; false when the client already has its maximum (not counted then). */
  openConnection(ip: string): boolean {
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
    return this.take(ip, 'messages', this.o.messages);
  }

  takeRecipient(ip: string): boolean {
    return this.take(ip, 'recipients', this.o.recipients);
  }

  private take(ip: string, what: 'messages' | 'recipients', limit: number): boolean {
    if (limit <= 0 || this.exempt(ip)) return true;
    const key = clientKey(ip);
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.o.windowMs) {
      if (this.windows.size > 100_000) this.prune(now);
      w = { start: now, messages: 0, recipients: 0 };
      this.windows.set(key, w);
    }
    if (w[what] >= limit) return false;
    w[what]++;
    return true;
  }

  private prune(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= this.o.windowMs) this.windows.delete(k);
  }
}
