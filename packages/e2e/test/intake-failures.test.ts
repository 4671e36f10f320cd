// Intake under failure: a volume that is full before or during DATA, and a
// client that leaves in the middle of DATA. These were found as bugs by this
// suite (see docs/RELIABILITY.md) and are now regression tests.
import { Socket } from 'node:net';
import { freePort, type ServiceProcess } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMount, mountSmallVolume, type SmallVolume } from './helpers/small-volume.js';
import { sendMail } from './helpers/smtp-client.js';
import { intakeEnv, type Stack, startStack } from './helpers/stack.js';
import { spoolState } from './helpers/volume.js';

function body(bytes: number): Buffer {
  const line = `${'x'.repeat(76)}\r\n`;
  return Buffer.from(
    `From: <s@example.org>\r\nSubject: big\r\n\r\n${line.repeat(Math.ceil(bytes / line.length))}`,
  );
}

describe.skipIf(!canMount())('intake on a full disk', () => {
  let volume: SmallVolume;
  let stack: Stack;
  let intake: ServiceProcess;
  let smtpPort: number;

  beforeAll(async () => {
    volume = mountSmallVolume('2m');
    stack = await startStack({ data: volume.dir, scanners: false, label: 'intake-disk-full' });
    smtpPort = await freePort();
    intake = await stack.start('intake', await intakeEnv(smtpPort));
  });

  afterAll(async () => {
    await intake?.stop();
    await stack?.stop();
    volume?.unmount();
  });

  // RFC 3463 §3.4 4.3.1 "Mail system full", RFC 5321 §4.2.3 452 "insufficient
  // system storage" (Postfix: 452 4.3.1 Insufficient system storage).
  it('a full volume gets 452 4.3.1', async () => {
    volume.fill(0);
    try {
      const r = await sendMail({
        port: smtpPort,
        from: 's@example.org',
        to: ['alice@example.test'],
        body: body(2000),
      });
      expect(r.kind === 'rejected' ? r.reply : r.kind).toMatch(/^452 4\.3\.1 /);
    } finally {
      volume.free();
    }
  });

  // A disk that fills up in the middle of DATA (ENOSPC from a later write): the
  // final dot must still be answered (RFC 5321 §4.5.3.2.6), with 452 4.3.1.
  it('a disk that fills up during DATA is answered, not left hanging', async () => {
    volume.fill(100_000);
    try {
      const r = await sendMail({
        port: smtpPort,
        from: 's@example.org',
        to: ['alice@example.test'],
        body: body(400_000),
        timeoutMs: 10_000,
      });
      expect(r.kind === 'rejected' ? r.reply : `${r.kind}: ${'error' in r ? r.error : ''}`).toMatch(
        /^45[12] /,
      );
      expect(spoolState(volume.dir).tmp).toEqual([]);
    } finally {
      volume.free();
    }
  });
});

describe('intake: client leaving during DATA', () => {
  let stack: Stack;
  let intake: ServiceProcess;
  let smtpPort: number;

  beforeAll(async () => {
    stack = await startStack({ scanners: false, label: 'intake-data-gone' });
    smtpPort = await freePort();
    intake = await stack.start('intake', await intakeEnv(smtpPort));
  });

  afterAll(async () => {
    await intake?.stop();
    await stack?.stop();
  });

  // A client that half-closes (FIN) in the middle of DATA must not take the
  // intake down with it (an unhandled stream 'error' once did). Found by fuzzing.
  it('a client that half-closes during DATA does not crash the intake', async () => {
    // The whole session in one write, then FIN while the message is unfinished.
    const sock = new Socket();
    await new Promise<void>((r) => sock.connect(smtpPort, '127.0.0.1', r));
    sock.on('error', () => {});
    await new Promise((r) => sock.once('data', r));
    const closedByServer = new Promise<boolean>((resolve) => {
      sock.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 5000).unref();
    });
    sock.end(
      'EHLO client.example.org\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.test>\r\n' +
        'DATA\r\nSubject: cut short\r\n\r\nhalf a messa',
    );
    // The server ends its side too (a half-open session would wait for the DATA timeout).
    expect(await closedByServer).toBe(true);
    sock.destroy();
    expect(intake.child.exitCode).toBeNull();
    const again = await sendMail({
      port: smtpPort,
      from: 's@example.org',
      to: ['alice@example.test'],
      body: body(100),
    });
    expect(again.kind).toBe('accepted');
  });
});
