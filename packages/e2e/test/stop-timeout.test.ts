// Graceful stop within POSTAMT_STOP_TIMEOUT: an SMTP session in the middle of
// DATA when SIGTERM arrives may finish (and is answered 250 only once the
// message is spooled and queued); one that outlasts the timeout is cut and the
// process still exits by itself, before the orchestrator's grace period ends.
import { connect } from 'node:net';
import { freePort, LineClient, type ServiceProcess, sleep } from '@postamt/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { intakeEnv, type Stack, startStack } from './helpers/stack.js';
import { spoolState } from './helpers/volume.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

async function untilRefused(port: number): Promise<void> {
  while (!(await refused(port))) await sleep(100);
}

async function openData(port: number, token: string): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await c.expect(/^220 /);
  await c.command('EHLO client.example.org', /^250 /);
  await c.command('MAIL FROM:<s@example.org>', /^250 /);
  await c.command('RCPT TO:<alice@example.test>', /^250 /);
  await c.command('DATA', /^354 /);
  c.write(`From: <s@example.org>\r\nSubject: stop ${token}\r\nX-E2E-Token: ${token}\r\n\r\nfirst half, `);
  return c;
}

describe('intake stops within POSTAMT_STOP_TIMEOUT', () => {
  let stack: Stack | undefined;
  let intake: ServiceProcess | undefined;

  afterEach(async () => {
    await intake?.stop();
    await stack?.stop();
    intake = undefined;
    stack = undefined;
  });

  it('a message in DATA at SIGTERM finishes, is queued, and then the process exits 0', async () => {
    stack = await startStack({ scanners: false, label: 'stop-timeout-finish' });
    const port = await freePort();
    intake = await stack.start('intake', await intakeEnv(port, { POSTAMT_STOP_TIMEOUT: '60s' }));
    const client = await openData(port, 'finish');

    intake.child.kill('SIGTERM');
    await untilRefused(port); // the listener is closed: the stop has begun
    // Longer than the SMTP server's own default drain (10 s), which a fixed
    // deadline used to apply: only the configured timeout keeps this session.
    await sleep(11_000);
    expect(intake.child.exitCode).toBeNull();
    client.write('second half.\r\n.\r\n');
    const reply = await client.expect(/^\d{3} /);
    expect(reply).toMatch(/^250 /);

    expect(await intake.exited).toBe(0);
    expect(spoolState(stack.data).committed).toHaveLength(1);
    expect(await stack.redis.llen('bull:filter:wait')).toBe(1);
    client.close();
  });

  it('a session that outlasts the timeout is cut, without a 250, and the process still exits', async () => {
    stack = await startStack({ scanners: false, label: 'stop-timeout-cut' });
    const port = await freePort();
    intake = await stack.start('intake', await intakeEnv(port, { POSTAMT_STOP_TIMEOUT: '2s' }));
    const client = await openData(port, 'cut');

    intake.child.kill('SIGTERM');
    // The client never ends its message; the stop must not wait for the DATA timeout (3 min).
    const code = await intake.exited;
    expect(code).toBe(0);
    await client.waitClosed(5_000);
    expect(client.lines.some((l) => l.startsWith('250 '))).toBe(false);
    expect(spoolState(stack.data).committed).toEqual([]);
    expect(intake.log()).toMatch(/"stopTimeoutMs":2000/);
  });
});
