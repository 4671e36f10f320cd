// Free loopback ports for servers started by tests.
//
// Chosen below the kernel's ephemeral range: a server that a test kills and
// restarts must get its port back, and while it is down an outgoing
// connection (a client, a Redis link) could otherwise be given that very port
// as its local end — the restart then fails with EADDRINUSE.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > 12_000 ? n : 32_768;
  } catch {
    return 32_768;
  }
}

const RANGE_END = ephemeralStart() - 1;
const RANGE_START = Math.max(10_000, RANGE_END - 12_000);

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = RANGE_START + Math.floor(Math.random() * (RANGE_END - RANGE_START + 1));
    if (await bindable(port, host)) return port;
  }
  throw new Error(`no free port in ${RANGE_START}-${RANGE_END} on ${host}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns true or the deadline passes. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}
