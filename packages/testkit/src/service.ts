// Starts one of Postamt's own services (its built dist/main.js) as a real
// process with POSTAMT_* variables, and waits until its /readyz says ready.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { type ManagedProcess, makeTempDir, startProcess } from './process.js';

const repoRoot = resolve(import.meta.dirname, '../../..');

export interface ServiceProcess extends ManagedProcess {
  name: string;
  metricsPort: number;
  env: Record<string, string>;
  /** Starts the same service again with the same environment. */
  restart(): Promise<ServiceProcess>;
}

async function ready(metricsPort: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => null);
  return res?.status === 200;
}

export async function startService(
  name: 'intake' | 'filter' | 'pop3' | 'imap' | 'relay' | 'admin',
  env: Record<string, string>,
  opts: { waitReady?: boolean; logDir?: string } = {},
): Promise<ServiceProcess> {
  const main = join(repoRoot, 'services', name, 'dist/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (npm run build)`);
  const metricsPort = env.POSTAMT_METRICS_PORT ? Number(env.POSTAMT_METRICS_PORT) : await freePort();
  const fullEnv = {
    // Tests run several intakes at once: the submission listeners are off unless a test asks for them.
    ...(name === 'intake' ? { POSTAMT_SUBMISSION_PORT: 'off', POSTAMT_SUBMISSIONS_PORT: 'off' } : {}),
    POSTAMT_BIND: '127.0.0.1',
    POSTAMT_LOG_LEVEL: 'info',
    ...env,
    POSTAMT_METRICS_PORT: String(metricsPort),
  };
  const logDir = opts.logDir ?? makeTempDir(`svc-${name}`);
  const proc = startProcess(process.execPath, [main], {
    env: { PATH: process.env.PATH, ...fullEnv },
    logFile: join(logDir, `${name}.log`),
  });
  if (opts.waitReady !== false) {
    let starting = true;
    const exitedEarly = proc.exited.then((code) => {
      if (starting) throw new Error(`${name} exited with ${code} during start:\n${proc.log()}`);
    });
    exitedEarly.catch(() => {});
    try {
      await Promise.race([waitFor(`${name} ready`, () => ready(metricsPort), 30_000), exitedEarly]);
    } catch (err) {
      // Never leave a half-started service behind: it would hold ports and consume jobs.
      starting = false;
      await proc.kill();
      throw err;
    } finally {
      starting = false;
    }
  }
  return {
    ...proc,
    name,
    metricsPort,
    env: fullEnv,
    restart: () => startService(name, fullEnv, { ...opts, logDir }),
  };
}
