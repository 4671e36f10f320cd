// The server on @postamt/maildir: storage errors as RFC 5530 codes, mail
// events fanned out from one Redis subscription per user (not per session),
// learn jobs for mail moved into and out of Junk.
import { LineClient, waitFor } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verdictOf } from '../src/learn.js';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv({}, { quota: 600 });
});
afterAll(async () => {
  await env?.stop();
});

const MSG = 'From: a@example.net\r\nSubject: s\r\n\r\nbody\r\n';

async function login(user: string, password = 'secret'): Promise<LineClient> {
  const c = await LineClient.connect(env.server.port);
  await c.expect(/^\* OK/);
  await c.command(`a LOGIN ${user}@example.test "${password}"`, /^a OK /);
  return c;
}

describe('storage errors (RFC 5530)', () => {
  it('maps each MaildirError code to its response code', async () => {
    const c = await login('carol');
    await c.command('a SELECT Nowhere', /^a NO \[NONEXISTENT\]/);
    await c.command('b CREATE Projects.2024', /^b OK/);
    await c.command('c CREATE Projects', /^c NO \[ALREADYEXISTS\]/);
    await c.command('d DELETE Projects', /^d OK/); // RFC 3501 §6.3.4: Projects.2024 stays
    await c.command('d DELETE Projects', /^d NO \[HASCHILDREN\]/); // now \Noselect with inferiors
    await c.command('e DELETE INBOX', /^e NO \[CANNOT\]/);
    await c.command('f RENAME Nowhere Elsewhere', /^f NO \[NONEXISTENT\]/);
    await c.command('g CREATE "a..b"', /^g NO \[CANNOT\]/);
    // carol's quota is 600 bytes: the second APPEND does not fit.
    const big = 'x'.repeat(400);
    c.write(`h APPEND INBOX {${big.length}+}\r\n${big}\r\n`);
    await c.expect(/^h OK \[APPENDUID/);
    c.write(`i APPEND INBOX {${big.length}+}\r\n${big}\r\n`);
    await c.expect(/^i NO \[OVERQUOTA\]/);
    c.write(`j APPEND Nowhere {${big.length}+}\r\n${big}\r\n`);
    await c.expect(/^j NO \[TRYCREATE\]/);
    await c.command('k SELECT INBOX', /^k OK/);
    await c.command('l COPY 1 Nowhere', /^l NO \[TRYCREATE\]/);
    await c.command('m GETQUOTAROOT INBOX', /^\* QUOTAROOT INBOX ""$/);
    await c.expect(/^\* QUOTA "" \(STORAGE 1 1\)$/);
    c.close();
  });
});

describe('mail events', () => {
  it('one subscription per user, fanned out to every session of the user', async () => {
    const sessions = await Promise.all([
      login('alice'),
      login('alice'),
      login('alice'),
      login('bob', 'pass word'),
    ]);
    for (const s of sessions) await s.command('s SELECT INBOX', /^s OK/);
    expect(env.events.watchedUsers).toBe(2);
    const numsub = (await env.redis.call('PUBSUB', 'NUMSUB', 'postamt:mail:alice@example.test')) as [
      string,
      number,
    ];
    expect(Number(numsub[1])).toBe(1);
    const idlers = sessions.slice(0, 3);
    for (const s of idlers) {
      s.send('i IDLE');
      await s.expect(/^\+ idling/);
    }
    await env.put('alice', MSG);
    for (const s of idlers) await s.expect(/^\* 1 EXISTS/);
    // RFC 3501 §2.3.2: exactly one session is the first to be told (\Recent).
    await new Promise((r) => setTimeout(r, 100));
    expect(idlers.filter((s) => s.lines.includes('* 1 RECENT'))).toHaveLength(1);
    // A flag change by one session reaches the others at their next command, no NOOP needed.
    for (const s of idlers) {
      s.send('DONE');
      await s.expect(/^i OK/);
    }
    const [a, b] = idlers as [LineClient, LineClient];
    await a.command('f STORE 1 +FLAGS.SILENT (\\Flagged)', /^f OK/);
    await new Promise((r) => setTimeout(r, 200)); // the event's way through Redis
    await b.command('u UID FETCH 1 (UID)', /^\* 1 FETCH \(UID 1\)$/);
    await b.expect(/^\* 1 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)$/);
    await b.expect(/^u OK/);
    for (const s of sessions) s.close();
    await waitFor('unsubscribed', async () => env.events.watchedUsers === 0, 3000);
    await waitFor(
      'channels gone',
      async () => ((await env.redis.call('PUBSUB', 'CHANNELS')) as string[]).length === 0,
      3000,
    );
  });
});

describe('learning from Junk', () => {
  it('decides spam and ham by folder', () => {
    expect(verdictOf('INBOX', 'Junk')).toBe('spam');
    expect(verdictOf('Junk', 'INBOX')).toBe('ham');
    expect(verdictOf('Junk', 'Archive')).toBe('ham');
    expect(verdictOf('Junk', 'Trash')).toBeNull();
    expect(verdictOf('INBOX', 'Archive')).toBeNull();
  });

  it('queues learn jobs when mail is moved or copied into and out of Junk', async () => {
    await env.put('bob', MSG);
    await env.put('bob', MSG.replace('body', 'other'));
    const c = await login('bob', 'pass word');
    await c.command('s SELECT INBOX', /^s OK/);
    await c.command('m UID MOVE 1 Junk', /^m OK/);
    await c.command('c UID COPY 2 Junk', /^c OK/);
    await c.command('j SELECT Junk', /^j OK/);
    await c.command('h UID MOVE 1 Archive', /^h OK/);
    await c.command('t UID MOVE 2 Trash', /^t OK/);
    const jobs = await env.queues.get('learn').getJobs(['waiting', 'delayed', 'active']);
    const seen = jobs.map((j) => [j.data.as, j.data.file.split('/').slice(0, 4).join('/')]).sort();
    expect(seen).toEqual([
      ['ham', 'mail/example.test/bob/.Archive'],
      ['spam', 'mail/example.test/bob/.Junk'],
      ['spam', 'mail/example.test/bob/.Junk'],
    ]);
    expect(jobs.every((j) => j.data.user === 'bob@example.test')).toBe(true);
    c.close();
  });
});
