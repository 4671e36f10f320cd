// onShutdown in a real child process: SIGTERM runs the stop steps with the drain
// time, and a stop that hangs is ended by the stop timeout (exit 1).
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { drainTime } from '../src/lifecycle.js';

const dist = pathToFileURL(resolve(import.meta.dirname, '../dist/index.js')).href;

/** Runs a service-like script whose stop step is `stopBody`; SIGTERM once it is ready. */
function runStop(stopBody: string, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const script = `
    import { createLogger, onShutdown } from ${JSON.stringify(dist)};
    const logger = createLogger({ service: 'lifecycle-test' });
    setInterval(() => {}, 1000); // a service keeps its event loop busy
    onShutdown(logger, async (drainMs) => { ${stopBody} }, ${timeoutMs});
    process.stdout.write('ready\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n') && !child.killed) child.kill('SIGTERM');
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((done) => child.once('exit', (code) => done({ code, out })));
}

describe('drainTime', () => {
  it('keeps a fifth of the stop timeout, at most 5 s, for closing', () => {
    expect(drainTime(30_000)).toBe(25_000);
    expect(drainTime(600_000)).toBe(595_000);
    expect(drainTime(2_000)).toBe(1_600);
  });
});

describe('onShutdown', () => {
  it('runs the stop steps with the drain time and exits 0', async () => {
    const r = await runStop('console.log("drain", drainMs);', 4_000);
    expect(r.code).toBe(0);
    expect(r.out).toContain('drain 3200');
    expect(r.out).toMatch(/"msg":"stopped"/);
  });

  it('exits 1 when the stop steps outlast the stop timeout', async () => {
    const r = await runStop('await new Promise(() => {});', 1_000);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/"stopTimeoutMs":1000,"msg":"stop timeout passed, exiting"/);
  });

  it('exits 1 when a stop step fails', async () => {
    const r = await runStop('throw new Error("redis gone");', 4_000);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/error while stopping/);
  });
});
