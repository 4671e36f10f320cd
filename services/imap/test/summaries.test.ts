// "Parse once, at delivery" (issue #7, storage side): the filter's deliver()
// and IMAP APPEND/COPY/MOVE store the @postamt/mime summary, and FETCH
// ENVELOPE/BODYSTRUCTURE is answered from it. To show that no message file is
// read, the file's bytes are replaced (same size, so the cache entry stays
// valid) after indexing: a server that parsed the file would answer with the
// replaced subject; BODY[HEADER.FIELDS] — served from the file — shows it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deliver, publishMailEvent, SUMMARY_FILE } from '@postamt/maildir';
import { summarizeMessage } from '@postamt/mime';
import { LineClient } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

const MSG = [
  'From: Ann Example <ann@example.net>',
  'To: alice@example.test, Bob <bob@example.test>',
  'Subject: original subject',
  'Date: Mon, 1 Jan 2024 10:00:00 +0000',
  'Message-ID: <orig-1@example.net>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'hello',
  '--b1',
  'Content-Type: application/pdf; name="a.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  'JVBERi0xLjQK',
  '--b1--',
  '',
].join('\r\n');

/** What Postamt answers for MSG, computed independently of any store. */
const expected = (bytes: Buffer) => {
  const s = summarizeMessage(bytes);
  return `ENVELOPE (${s.envelope}) BODYSTRUCTURE (${s.bodystructure})`;
};

const maildir = (user: string, folder?: string) =>
  join(env.dataDir, 'mail', 'example.test', user, ...(folder ? [`.${folder}`] : []));

function messageFiles(dir: string): string[] {
  return ['new', 'cur'].flatMap((sub) => readdirSync(join(dir, sub)).map((n) => join(dir, sub, n)));
}

/** Same size, other subject: only a server that reads the file would notice. */
function replaceSubject(path: string): void {
  const text = readFileSync(path, 'latin1');
  expect(text).toContain('original subject');
  writeFileSync(path, Buffer.from(text.replace('original subject', 'REPLACED subject'), 'latin1'));
}

const summaryBases = (dir: string): string[] =>
  readFileSync(join(dir, SUMMARY_FILE), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as [string])[0]);

async function login(user = 'alice', password = 'secret'): Promise<LineClient> {
  const c = await LineClient.connect(env.server.port);
  await c.expect(/^\* OK/);
  await c.command(`a LOGIN ${user}@example.test "${password}"`, /^a OK /);
  return c;
}

async function fetchStructure(c: LineClient, tag: string, seq = 1): Promise<string> {
  const line = await c.command(`${tag} FETCH ${seq} (ENVELOPE BODYSTRUCTURE)`, /^\* \d+ FETCH /);
  await c.expect(new RegExp(`^${tag} OK`));
  return line;
}

describe('summaries stored where messages are written', () => {
  it('delivery with the filter indexer: FETCH ENVELOPE BODYSTRUCTURE reads no message file', async () => {
    const root = maildir('alice');
    const prefix = Buffer.from('X-Spam-Flag: NO\r\n');
    const d = await deliver({
      dir: root,
      deliveryKey: 'sum1',
      time: 1_750_000_000,
      host: 'mx.example.test',
      prefix,
      source: Buffer.from(MSG),
      indexer: summarizeMessage,
    });
    expect(summaryBases(root)).toEqual([d.name]);
    const want = expected(Buffer.concat([prefix, Buffer.from(MSG)]));
    replaceSubject(d.path);
    await publishMailEvent(env.redis, 'alice@example.test', { type: 'new', folder: 'INBOX' });
    const c = await login();
    await c.command('s SELECT INBOX', /^s OK/);
    expect(await fetchStructure(c, 'f')).toBe(`* 1 FETCH (${want})`);
    expect(want).toContain('"original subject"');
    await c.command('h FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]', /^\* 1 FETCH /);
    await c.expect(/^Subject: REPLACED subject$/);
    await c.expect(/^h OK/);
    c.close();
  });

  it('APPEND stores the summary; COPY and MOVE carry it to the target folder', async () => {
    const c = await login('bob', 'pass word');
    await c.command('a CREATE Work', /^a OK/);
    await c.command('b CREATE Done', /^b OK/);
    const m = Buffer.from(MSG);
    c.write(Buffer.concat([Buffer.from(`c APPEND Work {${m.length}+}\r\n`), m, Buffer.from('\r\n')]));
    await c.expect(/^c OK \[APPENDUID \d+ 1\]/);
    const work = maildir('bob', 'Work');
    expect(summaryBases(work)).toHaveLength(1);
    const [file] = messageFiles(work);
    replaceSubject(file as string);
    await c.command('d SELECT Work', /^d OK/);
    const want = `* 1 FETCH (${expected(m)})`;
    expect(await fetchStructure(c, 'e')).toBe(want);
    // COPY links the same file (so the copy shows the replaced bytes too); MOVE renames it.
    await c.command('f COPY 1 INBOX', /^f OK \[COPYUID/);
    await c.command('g MOVE 1 Done', /^g OK/);
    expect(summaryBases(maildir('bob'))).toHaveLength(1);
    expect(summaryBases(maildir('bob', 'Done'))).toHaveLength(1);
    await c.command('h SELECT INBOX', /^h OK/);
    expect(await fetchStructure(c, 'i')).toBe(want);
    await c.command('j SELECT Done', /^j OK/);
    expect(await fetchStructure(c, 'k')).toBe(want);
    c.close();
  });

  it('a message delivered without a summary is indexed on first FETCH, and the same answer results', async () => {
    await env.put('carol', MSG);
    const c = await login('carol');
    await c.command('s SELECT INBOX', /^s OK/);
    expect(await fetchStructure(c, 'f')).toBe(`* 1 FETCH (${expected(Buffer.from(MSG))})`);
    expect(summaryBases(maildir('carol'))).toHaveLength(1);
    c.close();
  });
});
