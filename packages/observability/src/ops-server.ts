// The small HTTP listener every service runs for its operators and orchestrator:
//   /healthz  the process is alive (liveness)
//   /readyz   every dependency it needs answers (readiness): 503 with details if not
//   /metrics  Prometheus text format
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A readiness check: resolves to null when fine, or a short reason when not. */
export type ReadinessCheck = () => Promise<string | null>;

export interface OpsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  checks?: Record<string, ReadinessCheck>;
  /** Shown in /readyz (`warnings`) when they return text; they never make the service unready. */
  warnings?: Record<string, () => string | null>;
  /** Checks may not hang the probe. */
  checkTimeoutMs?: number;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), timeoutMs);
  });
  try {
    return await Promise.race([check().catch((err: Error) => err.message || 'failed'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(
  checks: Record<string, ReadinessCheck>,
  timeoutMs = 2000,
): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((n) => runCheck(checks[n] as ReadinessCheck, timeoutMs)));
  const out: Record<string, string> = {};
  names.forEach((n, i) => {
    out[n] = results[i] ?? 'ok';
  });
  return { ready: results.every((r) => r === null), checks: out };
}

/** `{ warnings: {...} }` when any warning has text, else nothing (the body stays as it was). */
function warningsOf(warnings: Record<string, () => string | null> = {}): {
  warnings?: Record<string, string>;
} {
  const out: Record<string, string> = {};
  for (const [name, get] of Object.entries(warnings)) {
    const text = get();
    if (text) out[name] = text;
  }
  return Object.keys(out).length ? { warnings: out } : {};
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const checks = options.checks ?? {};
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
    } else if (path === '/readyz') {
      readiness(checks, options.checkTimeoutMs).then(
        (r) =>
          res
            .writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' })
            .end(`${JSON.stringify({ ...r, ...warningsOf(options.warnings) })}\n`),
        () => res.writeHead(500).end(),
      );
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
