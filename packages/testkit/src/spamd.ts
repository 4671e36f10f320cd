// A real spamd (SpamAssassin) for tests, with the rules Debian's package ships,
// network tests off (-L: no DNSBL, Razor or Pyzor lookups), learning allowed
// (--allow-tell) and Bayes in its own temp dir. Auto-learn is off so that
// Bayes results depend only on what a test teaches it.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { type ManagedProcess, makeTempDir, startProcess } from './process.js';

export interface SpamdServer {
  host: string;
  port: number;
  address: string;
  dir: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

export interface SpamdOptions {
  /** Lower bayes_min_spam_num / bayes_min_ham_num so a test can train Bayes with few messages. */
  bayesMinLearned?: number;
  children?: number;
  /** Extra SpamAssassin config lines (--cf). */
  extraConfig?: string[];
  /**
   * Per-user Bayes: spamd keeps each `User:`'s Bayes store in <home>/<user>/
   * (--virtual-config-dir) instead of one site-wide store.
   */
  perUserBayes?: boolean;
}

/** SPAMC PING → PONG. */
export function spamdPing(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(3000, () => done(false));
    sock.once('error', () => done(false));
    sock.connect(port, host, () => sock.write('PING SPAMC/1.5\r\n\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
    });
    sock.once('end', () => done(/^SPAMD\/[\d.]+ 0 PONG/.test(buf)));
  });
}

/** The spamd command line, shared by tests and the local run. */
export function spamdArgs(o: { port: number; home: string; dir: string; options?: SpamdOptions }): string[] {
  const isRoot = process.getuid?.() === 0;
  const children = o.options?.children ?? 2;
  const cf = [
    ...(o.options?.perUserBayes ? [] : [`bayes_path ${join(o.home, '.spamassassin/bayes')}`]),
    'bayes_file_mode 0770',
    'bayes_auto_learn 0',
    'use_bayes 1',
    ...(o.options?.bayesMinLearned
      ? [`bayes_min_spam_num ${o.options.bayesMinLearned}`, `bayes_min_ham_num ${o.options.bayesMinLearned}`]
      : []),
    ...(o.options?.extraConfig ?? []),
  ];
  return [
    '-x',
    ...(o.options?.perUserBayes ? [`--virtual-config-dir=${join(o.home, '%u')}`] : []),
    ...(isRoot ? ['-u', 'debian-spamd'] : []),
    '-H',
    o.home,
    '-i',
    `127.0.0.1:${o.port}`,
    '-A',
    '127.0.0.1',
    '--allow-tell',
    '-L',
    '-r',
    join(o.dir, 'spamd.pid'),
    '-s',
    join(o.dir, 'spamd.log'),
    `--max-children=${children}`,
    `--min-children=${Math.min(children, 2)}`,
    ...cf.map((line) => `--cf=${line}`),
  ];
}

/** Prepares the helper home so spamd's unprivileged children can write Bayes there. */
export function prepareSpamdHome(home: string): void {
  mkdirSync(join(home, '.spamassassin'), { recursive: true });
  if (process.getuid?.() === 0) spawnSync('chown', ['-R', 'debian-spamd:debian-spamd', home]);
}

export async function startSpamd(options: SpamdOptions = {}): Promise<SpamdServer> {
  const dir = makeTempDir('spamd');
  chmodSync(dir, 0o755); // spamd's children run as debian-spamd and must reach home/
  const home = join(dir, 'home');
  prepareSpamdHome(home);
  const port = await freePort();
  const args = spamdArgs({ port, home, dir, options });
  let proc: ManagedProcess;
  const launch = async () => {
    proc = startProcess('spamd', args, { logFile: join(dir, 'spamd.out') });
    await waitFor(`spamd on port ${port}`, () => spamdPing(port), 60_000, 200);
  };
  await launch();
  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    dir,
    stop: () => proc.stop(10_000),
    kill: () => proc.kill(),
    restart: async () => {
      await proc.stop(10_000);
      await launch();
    },
  };
}
