// Test plumbing shared by the tests of sessions that share a folder: alice's
// logins over a real socket, taking \Recent off a folder, waiting for an
// event, holding sessions in IDLE and ending them.
import type { MailEvent } from '@postamt/maildir';
import { LineClient } from '@postamt/testkit';
import { expect } from 'vitest';
import type { TestEnv } from './env.js';
import { ImapClient } from './imap-client.js';

export const USER = 'alice@example.test';
export const MSG = (n: number) => `From: a@example.net\r\nSubject: m${n}\r\n\r\nbody ${n}\r\n`;

/** alice logged in, as a structured client. */
export async function aliceSession(env: TestEnv): Promise<ImapClient> {
  const c = await ImapClient.connect(env.server.port);
  await c.readResponse();
  expect((await c.command('a', `LOGIN ${USER} secret`)).tagged).toMatch(/^a OK/);
  return c;
}

/** alice logged in, as a line client. */
export async function aliceLines(env: TestEnv): Promise<LineClient> {
  const c = await LineClient.connect(env.server.port);
  await c.expect(/^\* OK/);
  await c.command(`a LOGIN ${USER} secret`, /^a OK/);
  return c;
}

/** Takes \Recent off the folder's messages (a first SELECT claims them), so later lines read plainly. */
export async function claimAll(env: TestEnv, folder: string): Promise<void> {
  const c = await aliceSession(env);
  await c.command('s', `SELECT ${folder}`);
  c.close();
}

/** Resolves when this process has heard an event of `type` (after the sessions, which listen first). */
export function heard(env: TestEnv, type: MailEvent['type']): Promise<void> {
  return new Promise((resolve) => {
    const stop = env.events.watch(USER, (e) => {
      if (e.type !== type) return;
      stop();
      resolve();
    });
  });
}

/** `n` sessions with `folder` selected, each in IDLE. */
export async function idleIn(env: TestEnv, folder: string, n: number): Promise<LineClient[]> {
  const clients: LineClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await aliceLines(env);
    await c.command(`s SELECT ${folder}`, /^s OK/);
    c.send('i IDLE');
    await c.expect(/^\+ idling/);
    clients.push(c);
  }
  return clients;
}

/** Ends IDLE in every client and closes it; returns how many were told `* 1 RECENT`. */
export async function endIdle(clients: LineClient[]): Promise<number> {
  let recent = 0;
  for (const c of clients) {
    c.send('DONE');
    if ((await c.expect(/^(\* 1 RECENT|i OK)/)) === '* 1 RECENT') {
      recent++;
      await c.expect(/^i OK/);
    }
  }
  for (const c of clients) c.close();
  return recent;
}
