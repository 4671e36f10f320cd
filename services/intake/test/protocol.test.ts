// What the MX listener does with hostile or unusual SMTP on the wire (issue 4,
// "Protocol"): SMTP smuggling, STARTTLS command injection, early talkers, bare
// LF/CR, and interop with swaks and Postfix's smtp-source. Tests named
// "LIMITATION" pin down what smtp-server does today where the issue asks for
// more; they are meant to flip when our own SMTP layer replaces it.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LineClient } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Env, type Intake, startEnv, startIntake, storedMessage } from './helpers.js';

const run = promisify(execFile);
let env: Env;
let intake: Intake;

beforeAll(async () => {
  env = await startEnv();
  // Protocol only: the loopback client is trusted, so no check needs DNS.
  intake = await startIntake(env, { POSTAMT_MYNETWORKS: '127.0.0.0/8' });
});

afterAll(async () => {
  await intake.proc.stop();
  env.redis.disconnect();
  await env.redisServer.stop();
});

function spooled(): string[] {
  return readdirSync(join(intake.data, 'spool')).filter((n) => n.endsWith('.msg'));
}

async function ready(): Promise<LineClient> {
  const c = await LineClient.connect(intake.port);
  await c.expect(/^220 /);
  await c.command('EHLO client.example.org', /^250 /);
  return c;
}

/** Waits a little and returns every line the server sent meanwhile. */
async function quietLines(c: LineClient, ms = 300): Promise<string[]> {
  await new Promise((r) => setTimeout(r, ms));
  return c.lines.splice(0);
}

describe('SMTP smuggling: only <CRLF>.<CRLF> ends DATA', () => {
  for (const [name, fake] of [
    ['LF.LF', '\n.\n'],
    ['CRLF.LF', '\r\n.\n'],
    ['LF.CRLF', '\n.\r\n'],
    ['CR.CR', '\r.\r'],
    ['CRLF.CR', '\r\n.\r'],
  ] as const) {
    it(`a ${name} dot line followed by commands stays inside one message`, async () => {
      const before = spooled().length;
      const c = await ready();
      await c.command('MAIL FROM:<bob@example.org>', /^250 /);
      await c.command('RCPT TO:<alice@example.test>', /^250 /);
      await c.command('DATA', /^354 /);
      c.write(
        `Subject: outer\r\n\r\nbody${fake}MAIL FROM:<evil@example.org>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n`,
      );
      const reply = await c.expect(/^\d{3} /);
      expect(reply).toMatch(/^250 .*queued as/);
      const extra = await quietLines(c);
      // The smuggled MAIL/RCPT/DATA were message text, so no further replies came.
      expect(extra).toEqual([]);
      c.close();
      expect(spooled().length).toBe(before + 1);
      const id = /queued as ([0-9A-Z]{26})/.exec(reply)?.[1] as string;
      const stored = await storedMessage(intake.data, id);
      expect(stored).toContain('MAIL FROM:<evil@example.org>');
      expect(stored).toContain('Subject: smuggled');
    });
  }
});

describe('STARTTLS', () => {
  it('is offered, and commands pipelined with STARTTLS are discarded, not run after the handshake', async () => {
    const c = await LineClient.connect(intake.port);
    await c.expect(/^220 /);
    c.send('EHLO client.example.org');
    await c.expect(/^250[- ]STARTTLS/);
    await c.expect(/^250 /);
    // RFC 3207 §4.2 / CVE-2011-0411: the injected MAIL FROM must not survive the upgrade.
    c.write('STARTTLS\r\nMAIL FROM:<injected@example.org>\r\nNOOP\r\n');
    await c.expect(/^220 /);
    await c.startTls();
    await c.command('EHLO client.example.org', /^250 /);
    // Had the MAIL FROM run, RCPT would be accepted; it is not: "need MAIL first".
    expect(await c.command('RCPT TO:<alice@example.test>', /^\d{3} /)).toMatch(/^503 /);
    expect(await quietLines(c, 100)).toEqual([]);
    c.close();
  });

  it('delivers over TLS, and the Received header says so', async () => {
    const c = await LineClient.connect(intake.port);
    await c.expect(/^220 /);
    await c.command('EHLO client.example.org', /^250 /);
    await c.command('STARTTLS', /^220 /);
    await c.startTls();
    await c.command('EHLO client.example.org', /^250 /);
    await c.command('MAIL FROM:<bob@example.org>', /^250 /);
    await c.command('RCPT TO:<alice@example.test>', /^250 /);
    await c.command('DATA', /^354 /);
    c.write('Subject: tls\r\n\r\nsecret\r\n.\r\n');
    const id = /queued as ([0-9A-Z]{26})/.exec(await c.expect(/^250 /))?.[1] as string;
    c.close();
    expect(await storedMessage(intake.data, id)).toMatch(/\(using TLS/);
  });
});

describe('early talkers and line endings', () => {
  it('drops a client that talks before the greeting (pregreet)', async () => {
    const c = await LineClient.connect(intake.port);
    c.send('EHLO eager.example.org');
    expect(await c.expect(/^\d{3} /)).toMatch(/^421 .*talk too soon/);
    c.close();
  });

  it('LIMITATION: every greeting waits ~100 ms, even for a client that passed before', async () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const c = await LineClient.connect(intake.port);
      await c.expect(/^220 /);
      times.push(performance.now() - t0);
      c.send('QUIT');
      c.close();
    }
    // smtp-server hard-codes setTimeout(connectionReady, 100) with no option to skip it.
    for (const t of times) expect(t).toBeGreaterThanOrEqual(95);
  });

  it('LIMITATION: bare LF ends a command line (the issue asks for a disconnect)', async () => {
    const c = await LineClient.connect(intake.port);
    await c.expect(/^220 /);
    c.write('EHLO client.example.org\nMAIL FROM:<bob@example.org>\n');
    await c.expect(/^250 /);
    expect(await c.expect(/^\d{3} /)).toMatch(/^250 /);
    c.close();
  });

  it('LIMITATION: a bare CR inside a command is neither refused nor a line end', async () => {
    const c = await ready();
    c.write('MAIL FROM:<bob@example.org>\rRCPT TO:<alice@example.test>\r\n');
    // Not split into two commands (good), but the MAIL with "\rRCPT TO:<...>" trailing
    // its address is accepted where the issue asks for a 5xx and a disconnect.
    expect(await c.expect(/^\d{3} /)).toMatch(/^250 /);
    expect(await quietLines(c, 100)).toEqual([]);
    c.close();
  });
});

describe('interop', () => {
  it('swaks delivers with STARTTLS', async () => {
    const before = spooled().length;
    const { stdout } = await run('swaks', [
      '--server',
      `127.0.0.1:${intake.port}`,
      '--helo',
      'client.example.org',
      '--from',
      'bob@example.org',
      '--to',
      'alice@example.test',
      '--tls',
    ]).catch((err: { stdout: string; message: string }) => {
      throw new Error(`swaks failed: ${err.message}\n${err.stdout}`);
    });
    expect(stdout).toMatch(/<~ {1,2}250 .*queued as/);
    expect(spooled().length).toBe(before + 1);
  });

  it("Postfix's smtp-source delivers 50 messages over 5 sessions", async () => {
    const before = spooled().length;
    await run('/usr/sbin/smtp-source', [
      '-s',
      '5',
      '-m',
      '50',
      '-l',
      '5000',
      '-M',
      'client.example.org',
      '-f',
      'bob@example.org',
      '-t',
      'alice@example.test',
      `127.0.0.1:${intake.port}`,
    ]);
    expect(spooled().length).toBe(before + 50);
  });
});
