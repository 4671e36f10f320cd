import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { makeTempDir } from '@postamt/testkit';
import { deliver } from '../src/index.js';

export const WORKER = join(import.meta.dirname, 'workers/maildir-worker.mjs');

export function tempRoot(): string {
  return join(makeTempDir('maildir'), 'mail', 'example.test', 'alice');
}

export const msg = (subject: string, body = 'hello') => Buffer.from(`Subject: ${subject}\r\n\r\n${body}\r\n`);

/** Delivers messages K<from>…K<from+n-1> (subject m<i>) to the Maildir at `root`. */
export async function deliverN(root: string, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++)
    await deliver({
      dir: root,
      deliveryKey: `K${i}`,
      time: 1700000000 + i,
      host: 'mx',
      source: msg(`m${i}`),
    });
}

export interface WorkerRun {
  stdout: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function runWorker(args: string[], killAfterMs?: number): Promise<WorkerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    if (killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`worker failed (${code}): ${stderr}`));
      else resolve({ stdout, code, signal });
    });
  });
}
