// Disk full: the data volume is a 2 MB tmpfs. When a message no longer fits,
// intake answers a temporary failure (never 250), leaves nothing half-written
// in the spool, keeps serving, and accepts again as soon as space returns.
// (The exact code, 452 4.3.1 per RFC 3463 §3.4, and a disk filling up in the
// middle of DATA are checked in intake-failures.test.ts.)
import { freePort, type ServiceProcess } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMount, mountSmallVolume, type SmallVolume } from './helpers/small-volume.js';
import { sendMail } from './helpers/smtp-client.js';
import { intakeEnv, type Stack, startStack } from './helpers/stack.js';
import { spoolState } from './helpers/volume.js';

let volume: SmallVolume;
let stack: Stack;
let intake: ServiceProcess;
let smtpPort: number;

function body(bytes: number, token: string): Buffer {
  const line = `${'x'.repeat(76)}\r\n`;
  const head = `From: <s@example.org>\r\nTo: <alice@example.test>\r\nSubject: ${token}\r\nX-E2E-Token: ${token}\r\n\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil(bytes / line.length)));
}

const send = (bytes: number, token: string) =>
  sendMail({ port: smtpPort, from: 's@example.org', to: ['alice@example.test'], body: body(bytes, token) });

describe.skipIf(!canMount())('disk full', () => {
  beforeAll(async () => {
    volume = mountSmallVolume('2m');
    // No scanners and no filter: accepted mail stays in the spool where the test can see it.
    stack = await startStack({ data: volume.dir, scanners: false, label: 'disk-full' });
    smtpPort = await freePort();
    intake = await stack.start('intake', await intakeEnv(smtpPort));
  });

  afterAll(async () => {
    await intake?.stop();
    await stack?.stop();
    volume?.unmount();
  });

  it('refuses with a temporary failure, leaves nothing behind, resumes when space returns', async () => {
    const before = await send(10_000, 'fits');
    expect(before.kind).toBe('accepted');

    // Full to the last byte: the spool file cannot take even the Received header.
    // (A disk that fills up in the middle of DATA: intake-failures.test.ts.)
    volume.fill(0);
    const refused = await send(2_000, 'disk-is-full');
    expect(refused.kind).toBe('rejected');
    if (refused.kind === 'rejected') {
      expect(refused.stage).toBe('end-of-data');
      expect(refused.reply).toMatch(/^452 4\.3\.1 /);
    }
    // Only the first message is visible; no partial file was left in spool/tmp.
    expect(spoolState(volume.dir)).toEqual({
      committed: [`${before.kind === 'accepted' ? before.id : ''}.msg`],
      tmp: [],
    });

    // Still serving while full: a second attempt is refused the same way, not hung.
    const again = await send(2_000, 'still-full');
    expect(again.kind).toBe('rejected');

    volume.free();
    const after = await send(400_000, 'space-is-back');
    expect(after.kind).toBe('accepted');
    expect(spoolState(volume.dir).committed).toHaveLength(2);
    expect(spoolState(volume.dir).tmp).toEqual([]);
  });
});
