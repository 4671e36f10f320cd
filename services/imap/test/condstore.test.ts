// CONDSTORE and QRESYNC (RFC 7162) against the real server over real sockets:
// the RFC's examples adapted to our data (modseqs are small counters here),
// a second session changing flags and expunging while the first is away and
// the first resynchronising in one SELECT, changes made by hand on the
// Maildir getting new modseqs, and imapflow's changedSince / QRESYNC sync.
import { execFile } from 'node:child_process';
import { readdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';
import { ImapClient } from './imap-client.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

const msg = (subject: string) =>
  `From: Ann <ann@example.net>\r\nTo: x@example.test\r\nSubject: ${subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody ${subject}\r\n`;

const PASSWORDS: Record<string, string> = { alice: 'secret', bob: '"pass word"', carol: 'secret' };

async function login(user: string): Promise<ImapClient> {
  const c = await ImapClient.connect(env.server.port);
  await c.readResponse();
  expect((await c.command('l', `LOGIN ${user}@example.test ${PASSWORDS[user]}`)).tagged).toMatch(/^l OK/);
  return c;
}

/** Delivers n messages and has a session SELECT the folder, so none is \Recent in later sessions. */
async function fill(user: string, n: number, folder = 'INBOX', prefix = 'm'): Promise<void> {
  for (let i = 1; i <= n; i++)
    await env.put(user, msg(`${prefix}${i}`), folder === 'INBOX' ? undefined : folder);
  const c = await login(user);
  await c.command('s', `SELECT ${folder}`);
  c.close();
}

const highest = (text: string) => Number(/\[HIGHESTMODSEQ (\d+)\]/.exec(text)?.[1]);
const modseqOf = (text: string, uid: number) =>
  Number(new RegExp(`UID ${uid} [^\\r]*MODSEQ \\((\\d+)\\)`).exec(text)?.[1]);
const userDir = (user: string) => join(env.dataDir, 'mail', 'example.test', user);

describe('CONDSTORE (RFC 7162 §3.1)', () => {
  it('announces the capabilities and reports HIGHESTMODSEQ once enabled', async () => {
    await fill('carol', 3);
    const c = await login('carol');
    expect((await c.command('c', 'CAPABILITY')).untagged).toMatch(/ CONDSTORE QRESYNC /);
    // Before any CONDSTORE-enabling command, SELECT looks as it always did.
    expect((await c.command('s0', 'SELECT INBOX')).untagged).not.toMatch(/HIGHESTMODSEQ/);
    // §3.1.8 example: SELECT with the CONDSTORE parameter.
    const sel = await c.command('s1', 'SELECT INBOX (CONDSTORE)');
    expect(sel.untagged).toMatch(/\* OK \[HIGHESTMODSEQ \d+\] /);
    expect(sel.tagged).toMatch(/^s1 OK \[READ-WRITE\]/);
    const st = await c.command('st', 'STATUS INBOX (MESSAGES HIGHESTMODSEQ)');
    expect(st.untagged).toBe(`* STATUS INBOX (MESSAGES 3 HIGHESTMODSEQ ${highest(sel.untagged)})\r\n`);
    c.close();
  });

  it('fetches MODSEQ, changes it with STORE, and answers CHANGEDSINCE with just the changes', async () => {
    await fill('bob', 4);
    const c = await login('bob');
    const sel = await c.command('s', 'SELECT INBOX');
    expect(sel.untagged).toMatch(/\* 4 EXISTS/);
    // §3.1.4.2 example: FETCH MODSEQ enables CONDSTORE.
    const all = await c.command('f1', 'FETCH 1:* (FLAGS MODSEQ)');
    expect(all.untagged.match(/\* \d FETCH \(FLAGS \(\) MODSEQ \(\d+\)\)\r\n/g)).toHaveLength(4);
    const top = Math.max(...[...all.untagged.matchAll(/MODSEQ \((\d+)\)/g)].map((m) => Number(m[1])));
    // STORE with CONDSTORE enabled: the FETCH carries UID and the new MODSEQ.
    const st = await c.command('st', 'STORE 2 +FLAGS (\\Flagged)');
    expect(st.untagged).toBe(`* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (${top + 1}))\r\n`);
    // §3.1.4.1 example: FETCH 1:* (FLAGS) (CHANGEDSINCE n) — only message 2, MODSEQ implied.
    const since = await c.command('f2', `FETCH 1:* (UID FLAGS) (CHANGEDSINCE ${top})`);
    expect(since.untagged).toBe(`* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (${top + 1}))\r\n`);
    expect((await c.command('f3', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${top + 1})`)).untagged).toBe('');
    // §3.1.5 example: SEARCH MODSEQ, with and without an entry name; the result ends with the highest modseq.
    expect((await c.command('se1', `SEARCH MODSEQ ${top + 1}`)).untagged).toBe(
      `* SEARCH 2 (MODSEQ ${top + 1})\r\n`,
    );
    expect((await c.command('se2', `SEARCH MODSEQ "/flags/\\\\draft" all ${top + 1}`)).untagged).toBe(
      `* SEARCH 2 (MODSEQ ${top + 1})\r\n`,
    );
    expect((await c.command('se3', `UID SEARCH RETURN (ALL) MODSEQ ${top + 1}`)).untagged).toBe(
      `* ESEARCH (TAG "se3") UID ALL 2 MODSEQ ${top + 1}\r\n`,
    );
    expect((await c.command('se4', `SEARCH MODSEQ ${top + 5}`)).untagged).toBe('* SEARCH\r\n');
    // "equal to or greater than" (§3.1.5): every message has a modseq of at least 1.
    expect((await c.command('se5', 'SEARCH MODSEQ 1')).untagged).toBe(
      `* SEARCH 1 2 3 4 (MODSEQ ${top + 1})\r\n`,
    );
    // A FETCH that sets \Seen reports it with UID and MODSEQ.
    const seen = await c.command('f4', 'FETCH 3 (BODY[TEXT])');
    expect(seen.untagged).toMatch(
      /^\* 3 FETCH \(UID 3 BODY\[TEXT\] \{9\}\r\nbody m3\r\n FLAGS \(\\Seen\) MODSEQ \(\d+\)\)/,
    );
    c.close();
  });

  it('STORE (UNCHANGEDSINCE n) changes only messages not modified since and lists the others in MODIFIED', async () => {
    await fill('alice', 5);
    const a = await login('alice');
    const b = await login('alice');
    const sel = await a.command('s', 'SELECT INBOX (CONDSTORE)');
    const base = highest(sel.untagged);
    await b.command('s', 'SELECT INBOX');
    // Another session changes message 4 after `a` read base.
    await b.command('x', 'STORE 4 +FLAGS (\\Answered)');
    // §3.1.3 example 3, adapted: UID STORE with .SILENT still reports each new MODSEQ.
    const r = await a.command('c1', `UID STORE 1,3,4 (UNCHANGEDSINCE ${base}) +FLAGS.SILENT (\\Deleted)`);
    expect(r.tagged).toMatch(/^c1 OK \[MODIFIED 4\] /);
    expect(r.untagged).toMatch(
      new RegExp(
        `^\\* 1 FETCH \\(UID 1 MODSEQ \\(${base + 2}\\)\\)\r\n\\* 3 FETCH \\(UID 3 MODSEQ \\(${base + 3}\\)\\)\r\n`,
      ),
    );
    // UNCHANGEDSINCE 0 always fails (modseqs are at least 1), by message number for STORE.
    const z = await a.command('c2', 'STORE 2,5 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)');
    expect(z.tagged).toMatch(/^c2 OK \[MODIFIED 2,5\] /);
    expect(z.untagged).not.toMatch(/FETCH \((UID \d+ )?FLAGS \(\\Seen\)/);
    a.close();
    b.close();
  });
});

describe('QRESYNC (RFC 7162 §3.2)', () => {
  it('needs ENABLE; then expunges are VANISHED and the tagged OK carries HIGHESTMODSEQ', async () => {
    const c = await login('carol');
    expect((await c.command('q0', 'SELECT INBOX (QRESYNC (1 1))')).tagged).toMatch(/^q0 BAD/);
    expect((await c.command('e', 'ENABLE QRESYNC')).untagged).toBe('* ENABLED QRESYNC\r\n');
    const sel = await c.command('s', 'SELECT INBOX');
    expect(sel.untagged).toMatch(/HIGHESTMODSEQ/); // QRESYNC implies CONDSTORE
    await c.command('d', 'STORE 1:2 +FLAGS.SILENT (\\Deleted)');
    const x = await c.command('x', 'EXPUNGE');
    expect(x.untagged).toBe('* VANISHED 1:2\r\n');
    const top = Number(/^x OK \[HIGHESTMODSEQ (\d+)\]/.exec(x.tagged)?.[1]);
    expect(top).toBeGreaterThan(highest(sel.untagged));
    // UID FETCH … (CHANGEDSINCE n VANISHED): the UIDs of the set expunged since n.
    const f = await c.command('f', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${highest(sel.untagged)} VANISHED)`);
    expect(f.untagged).toBe('* VANISHED (EARLIER) 1:2\r\n');
    expect((await c.command('f2', 'FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)')).tagged).toMatch(/^f2 BAD/);
    c.close();
  });

  it('resynchronises in one SELECT after another session changed flags and expunged', async () => {
    await fill('alice', 6, 'Archive', 'q');
    const first = await login('alice');
    await first.command('e', 'ENABLE QRESYNC');
    const sel = await first.command('s', 'SELECT Archive');
    const uidValidity = Number(/UIDVALIDITY (\d+)/.exec(sel.untagged)?.[1]);
    const known = highest(sel.untagged);
    await first.command('u', 'UNSELECT');

    // Meanwhile, another client (another process would do the same through the volume).
    const other = await login('alice');
    await other.command('s', 'SELECT Archive');
    await other.command('a', 'STORE 2 +FLAGS (\\Seen)');
    await other.command('b', 'STORE 5 +FLAGS ($Label1)');
    await other.command('c', 'STORE 3:4 +FLAGS (\\Deleted)');
    await other.command('d', 'EXPUNGE');
    other.close();
    await env.put('alice', msg('q7'), 'Archive');

    // §3.2.5.1 example, adapted: one round trip brings the client up to date.
    const re = await first.command('r', `SELECT Archive (QRESYNC (${uidValidity} ${known} 1:6))`);
    expect(re.tagged).toMatch(/^r OK \[READ-WRITE\]/);
    expect(re.untagged).toMatch(/\* 5 EXISTS\r\n/);
    expect(re.untagged).toMatch(/\* VANISHED \(EARLIER\) 3:4\r\n/);
    expect(re.untagged).toMatch(/\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)\r\n/);
    expect(re.untagged).toMatch(/\* 3 FETCH \(UID 5 FLAGS \(\$Label1\) MODSEQ \(\d+\)\)\r\n/);
    // The new message is \Recent for this session, the first to see it.
    expect(re.untagged).toMatch(/\* 5 FETCH \(UID 7 FLAGS \(\\Recent\) MODSEQ \(\d+\)\)\r\n/);
    expect(re.untagged.match(/FETCH/g)).toHaveLength(3);
    // VANISHED comes before the FETCHes, and the new HIGHESTMODSEQ covers them all.
    expect(re.untagged.indexOf('VANISHED')).toBeLessThan(re.untagged.indexOf('FETCH'));
    const top = highest(re.untagged);
    expect(
      Math.max(modseqOf(re.untagged, 2), modseqOf(re.untagged, 5), modseqOf(re.untagged, 7)),
    ).toBeLessThanOrEqual(top);
    // A wrong UIDVALIDITY: a plain SELECT, no resync data.
    const wrong = await first.command('w', `SELECT Archive (QRESYNC (${uidValidity + 1} ${known}))`);
    expect(wrong.untagged).not.toMatch(/VANISHED|FETCH/);
    first.close();
  });

  it('tells a selected session of another session its changes as FETCH … MODSEQ and VANISHED', async () => {
    await fill('bob', 2, 'Drafts', 'live');
    const c = await login('bob');
    await c.command('e', 'ENABLE QRESYNC');
    await c.command('s', 'SELECT Drafts');
    const o = await login('bob');
    await o.command('s', 'SELECT Drafts');
    await o.command('a', 'STORE 2 +FLAGS (\\Flagged)');
    await o.command('b', 'STORE 1 +FLAGS (\\Deleted)');
    await o.command('c', 'EXPUNGE');
    o.close();
    const n = await c.command('n', 'NOOP');
    expect(n.untagged).toMatch(
      /^\* VANISHED 1\r\n\* 1 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)\r\n/,
    );
    c.close();
  });
});

/** Another process on the volume (as a POP3 server or a second IMAP instance is): flags one UID, expunges another. */
async function otherProcess(root: string, folder: string, flag: number, remove: number): Promise<void> {
  const script = `
    import { MaildirStore } from '@postamt/maildir';
    const s = new MaildirStore({ root: ${JSON.stringify(root)} });
    await s.setFlags(${JSON.stringify(folder)}, [${flag}], 'add', ['\\\\Answered']);
    await s.expunge(${JSON.stringify(folder)}, [${remove}]);`;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..'),
  });
}

describe('changes behind the server', () => {
  it('resynchronises in one round trip after another process flagged and expunged', async () => {
    await fill('bob', 3, 'Sent', 's');
    const c = await login('bob');
    await c.command('e', 'ENABLE QRESYNC');
    const sel = await c.command('s', 'SELECT Sent');
    const uidValidity = Number(/UIDVALIDITY (\d+)/.exec(sel.untagged)?.[1]);
    await c.command('u', 'UNSELECT');
    await otherProcess(userDir('bob'), 'Sent', 3, 1);
    const re = await c.command('r', `SELECT Sent (QRESYNC (${uidValidity} ${highest(sel.untagged)} 1:3))`);
    expect(re.untagged).toMatch(/\* 2 EXISTS\r\n/);
    expect(re.untagged).toMatch(
      /\* VANISHED \(EARLIER\) 1\r\n\* 2 FETCH \(UID 3 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)\r\n/,
    );
    expect(re.untagged.match(/FETCH/g)).toHaveLength(1);
    expect(highest(re.untagged)).toBe(highest(sel.untagged) + 2);
    c.close();
  });

  it('gives a file renamed or removed by hand a new modseq, seen by CHANGEDSINCE and QRESYNC', async () => {
    await fill('carol', 3, 'Trash', 'h');
    const c = await login('carol');
    await c.command('e', 'ENABLE QRESYNC');
    const sel = await c.command('s', 'SELECT Trash');
    const uidValidity = Number(/UIDVALIDITY (\d+)/.exec(sel.untagged)?.[1]);
    const before = highest(sel.untagged);
    await c.command('u', 'UNSELECT');
    // An administrator flags message 1 and deletes message 3 with mv and rm.
    const dir = join(userDir('carol'), '.Trash');
    const files = readdirSync(join(dir, 'cur')).sort();
    expect(files).toHaveLength(3);
    const [one, , three] = files as [string, string, string];
    renameSync(join(dir, 'cur', one), join(dir, 'cur', `${one.split(':')[0]}:2,FS`));
    unlinkSync(join(dir, 'cur', three));
    const re = await c.command('r', `SELECT Trash (QRESYNC (${uidValidity} ${before}))`);
    expect(re.untagged).toMatch(/\* VANISHED \(EARLIER\) 3\r\n/);
    expect(re.untagged).toMatch(/\* 1 FETCH \(UID 1 FLAGS \(\\Flagged \\Seen\) MODSEQ \(\d+\)\)\r\n/);
    expect(modseqOf(re.untagged, 1)).toBeGreaterThan(before);
    expect(re.untagged.match(/FETCH/g)).toHaveLength(1);
    // And for a client already selected: the next CHANGEDSINCE sees a hand-made change too.
    const now = highest(re.untagged);
    const two = readdirSync(join(dir, 'cur')).find((f) => !f.endsWith(':2,FS')) as string;
    renameSync(join(dir, 'cur', two), join(dir, 'cur', `${two.split(':')[0]}:2,T`));
    const f = await c.command('f', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${now})`);
    expect(f.untagged).toMatch(/\* 2 FETCH \(UID 2 FLAGS \(\\Deleted\) MODSEQ \(\d+\)\)\r\n/);
    expect(modseqOf(f.untagged, 2)).toBeGreaterThan(now);
    c.close();
  });
});

describe('imapflow', () => {
  function flow(qresync: boolean, onExpunge?: (uid: number) => void): ImapFlow {
    return new ImapFlow({
      host: '127.0.0.1',
      port: env.server.port,
      secure: false,
      tls: { rejectUnauthorized: false },
      auth: { user: 'bob@example.test', pass: 'pass word' },
      logger: false,
      qresync,
      ...(onExpunge ? { expungeHandler: (e: { uid?: number }) => onExpunge(e.uid ?? 0) } : {}),
    });
  }

  it('syncs with changedSince, and with QRESYNC at mailboxOpen', async () => {
    await fill('bob', 4, 'Junk', 'f');
    const c = flow(false);
    await c.connect();
    const box = await c.mailboxOpen('Junk');
    const since = box.highestModseq as bigint;
    expect(typeof since).toBe('bigint');
    await c.messageFlagsAdd('2', ['\\Seen']);
    const changed = [];
    for await (const m of c.fetch('1:*', { uid: true, flags: true }, { changedSince: since }))
      changed.push(m);
    expect(changed.map((m) => [m.uid, [...(m.flags ?? [])], typeof m.modseq])).toEqual([
      [2, ['\\Seen'], 'bigint'],
    ]);
    const uidValidity = (c.mailbox as { uidValidity: bigint }).uidValidity;
    const synced = (await c.status('Junk', { highestModseq: true })).highestModseq as bigint;
    expect(synced).toBeGreaterThan(since);
    await c.logout();

    // Offline: another client flags one and expunges another.
    const other = flow(false);
    await other.connect();
    await other.mailboxOpen('Junk');
    await other.messageFlagsAdd('3', ['\\Flagged'], { uid: true });
    await other.messageDelete('4', { uid: true });
    await other.logout();

    const vanished: number[] = [];
    const q = flow(true, (uid) => vanished.push(uid));
    const flags: Array<{ uid?: number; flags: Set<string> }> = [];
    q.on('flags', (e) => flags.push(e));
    await q.connect();
    expect((q as unknown as { enabled: Set<string> }).enabled.has('QRESYNC')).toBe(true);
    const re = await q.mailboxOpen('Junk', { uidValidity, changedSince: synced } as never);
    expect((re as { qresync?: boolean }).qresync).toBe(true);
    expect(vanished).toEqual([4]);
    expect(flags.map((f) => [f.uid, [...f.flags]])).toEqual([[3, ['\\Flagged']]]);
    expect(re.highestModseq).toBeGreaterThan(synced);
    // VANISHED (EARLIER) through fetch(…, { changedSince, uid }) as well.
    const again: number[] = [];
    for await (const m of q.fetch('1:*', { flags: true }, { uid: true, changedSince: synced }))
      again.push(m.uid);
    expect(again).toEqual([3]);
    await q.logout();
  });
});
