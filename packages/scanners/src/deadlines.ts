// Deadlines shared by both scanner clients. A scanner that accepts a
// connection and never answers must not hold a filter job forever, so every
// exchange has three clocks: until the TCP connection is up, between two
// bytes in either direction, and for the whole exchange.

export interface Deadlines {
  /** Milliseconds until the TCP connection is established. */
  connectMs: number;
  /** Milliseconds without any traffic in either direction. */
  idleMs: number;
  /** Milliseconds for the whole exchange, connect to last reply byte. */
  totalMs: number;
}

export interface Endpoint {
  host: string;
  port: number;
}

export const defaultDeadlines: Deadlines = { connectMs: 2_000, idleMs: 30_000, totalMs: 120_000 };
