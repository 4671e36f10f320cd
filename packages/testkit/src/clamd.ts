// A real clamd for tests. There is no internet here (no freshclam), so it runs
// with a hand-made signature database that detects the EICAR test string: an
// .ndb body signature (matches inline text and decoded attachments) plus an .hdb
// whole-file hash. AlertExceedsMax is on, as in production.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { EICAR } from './eicar.js';
import { freePort, waitFor } from './ports.js';
import { type ManagedProcess, makeTempDir, startProcess } from './process.js';

export interface ClamdServer {
  host: string;
  port: number;
  /** `host:port` for POSTAMT_CLAMD. */
  address: string;
  dir: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/** Writes the offline EICAR signature database into `dbDir`. */
export function writeEicarSignatures(dbDir: string): void {
  mkdirSync(dbDir, { recursive: true });
  const hex = Buffer.from(EICAR).toString('hex');
  writeFileSync(join(dbDir, 'postamt-eicar.ndb'), `Postamt.Test.EICAR:0:*:${hex}\n`);
  const md5 = createHash('md5').update(EICAR).digest('hex');
  writeFileSync(join(dbDir, 'postamt-eicar.hdb'), `${md5}:${EICAR.length}:Postamt.Test.EICAR.File\n`);
}

/** clamd.conf for a loopback TCP listener; shared by tests and the local run. */
export function clamdConfig(o: {
  port: number;
  dbDir: string;
  dir: string;
  streamMaxLength?: string;
  foreground?: boolean;
}): string {
  return [
    `Foreground ${o.foreground === false ? 'no' : 'yes'}`,
    `TCPSocket ${o.port}`,
    'TCPAddr 127.0.0.1',
    `DatabaseDirectory ${o.dbDir}`,
    `PidFile ${join(o.dir, 'clamd.pid')}`,
    `TemporaryDirectory ${o.dir}`,
    'MaxThreads 4',
    `StreamMaxLength ${o.streamMaxLength ?? '30M'}`,
    'MaxScanSize 100M',
    'MaxFileSize 30M',
    'AlertExceedsMax yes',
    'ReadTimeout 30',
    'CommandReadTimeout 10',
    'SelfCheck 0',
    'LogTime yes',
  ].join('\n');
}

/** zPING → PONG. */
export function clamdPing(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => done(false));
    sock.once('error', () => done(false));
    sock.connect(port, host, () => sock.write('zPING\0'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\0')) done(buf.startsWith('PONG'));
    });
    sock.once('end', () => done(buf.startsWith('PONG')));
  });
}

export async function startClamd(opts: { streamMaxLength?: string } = {}): Promise<ClamdServer> {
  const dir = makeTempDir('clamd');
  const dbDir = join(dir, 'db');
  writeEicarSignatures(dbDir);
  const port = await freePort();
  const conf = join(dir, 'clamd.conf');
  writeFileSync(conf, clamdConfig({ port, dbDir, dir, streamMaxLength: opts.streamMaxLength }));
  let proc: ManagedProcess;
  const launch = async () => {
    proc = startProcess('clamd', [`--config-file=${conf}`], { logFile: join(dir, 'clamd.log') });
    await waitFor(`clamd on port ${port}`, () => clamdPing(port), 30_000, 100);
  };
  await launch();
  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    dir,
    stop: () => proc.stop(),
    kill: () => proc.kill(),
    restart: async () => {
      await proc.stop();
      await launch();
    },
  };
}
