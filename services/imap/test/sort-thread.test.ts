// SORT and THREAD compared with Dovecot: the corpus is APPENDed into INBOX
// (manifest order and INTERNALDATE, as conformance.test.ts does), the
// "Threads" and "Intl" folders get the messages recorded in the golden file,
// and every command of fixtures/dovecot-sort-thread.jsonl (made by
// fixtures/make-sort-thread-golden.mjs against Dovecot 2.3) is replayed with
// its tag; the untagged answer must be Dovecot's byte for byte. Differences
// the RFC requires or allows are normalised here, each with its clause:
// - an empty THREAD result: Dovecot sends "* THREAD " with a trailing space;
//   RFC 5256 §4 (thread-data = "THREAD" [SP 1*thread-list]) has no space.
// Tagged lines are compared by status and response code (Dovecot's text
// carries timings).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, message } from './corpus.js';
import { startEnv, type TestEnv } from './env.js';
import { ImapClient } from './imap-client.js';

interface Line {
  tag?: string;
  command?: string;
  setup?: boolean;
  response?: string;
  tagged?: string;
  append?: { date: string; text: string; latin1?: boolean };
  folder?: string;
}

const lines: Line[] = readFileSync(join(import.meta.dirname, 'fixtures/dovecot-sort-thread.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Line);

let env: TestEnv;
let client: ImapClient;

beforeAll(async () => {
  env = await startEnv({ maxMessage: 4 * 1024 * 1024, maxLiteral: 65536 });
  client = await ImapClient.connect(env.server.port);
  await client.readResponse();
  expect((await client.command('l', 'LOGIN alice@example.test secret')).tagged).toMatch(/^l OK/);
  for (const row of manifest()) {
    const bytes = message(row.file);
    const head = Buffer.from(`APPEND INBOX () "${row.internaldate}" {${bytes.length}+}\r\n`);
    const r = await client.command(`a${row.uid}`, Buffer.concat([head, bytes]));
    expect(r.tagged, row.file).toMatch(new RegExp(`^a${row.uid} OK \\[APPENDUID \\d+ ${row.uid}\\]`));
  }
  for (const folder of new Set(lines.flatMap((l) => (l.folder ? [l.folder] : []))))
    expect((await client.command('c', `CREATE ${folder}`)).tagged).toMatch(/^c OK/);
  for (const [i, line] of lines.entries()) {
    if (!line.append) continue;
    const bytes = Buffer.from(line.append.text, line.append.latin1 ? 'latin1' : 'utf8');
    const head = Buffer.from(`APPEND ${line.folder} () "${line.append.date}" {${bytes.length}+}\r\n`);
    expect((await client.command(`t${i}`, Buffer.concat([head, bytes]))).tagged).toMatch(/ OK /);
  }
}, 120_000);

afterAll(async () => {
  client?.close();
  await env?.stop();
});

const status = (t: string) => /^\S+ (OK|NO|BAD)(?: \[([^\] ]+))?/.exec(t.trim())?.slice(1).join(' ');

/** The normalisations listed at the top of this file. */
const normalise = (s: string) => s.replace(/^\* THREAD \r\n$/, '* THREAD\r\n');

describe('SORT and THREAD as Dovecot answers them', () => {
  it('replays every recorded command', async () => {
    const failures: string[] = [];
    let exact = 0;
    let compared = 0;
    for (const line of lines) {
      if (line.append || !line.command || !line.tag) continue;
      const got = await client.command(line.tag, Buffer.from(line.command, 'utf8'));
      if (status(got.tagged) !== status(line.tagged as string)) {
        failures.push(`${line.tag} ${line.command}: tagged ${got.tagged} want ${line.tagged?.trim()}`);
        continue;
      }
      if (line.setup) continue;
      compared++;
      if (got.untagged === normalise(line.response as string)) exact++;
      else
        failures.push(
          `${line.tag} ${line.command}\n  want ${JSON.stringify(line.response?.slice(0, 400))}\n  got  ${JSON.stringify(got.untagged.slice(0, 400))}`,
        );
    }
    console.log(`SORT/THREAD: ${exact}/${compared} as Dovecot, ${failures.length} failures`);
    for (const f of failures.slice(0, 15)) console.log(`  FAIL ${f}`);
    expect(compared).toBeGreaterThan(150);
    expect(failures).toEqual([]);
  }, 300_000);

  it('announces SORT and THREAD, and answers sequence numbers after an expunge', async () => {
    const caps = await client.command('c1', 'CAPABILITY');
    expect(caps.untagged).toMatch(/ SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES /);
    expect((await client.command('x1', 'SELECT Threads')).tagged).toMatch(/^x1 OK/);
    await client.command('x2', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    expect((await client.command('x3', 'EXPUNGE')).untagged).toBe('* 1 EXPUNGE\r\n');
    // "Chain": a (expunged), b refs a, c refs a b — b now heads the thread.
    expect((await client.command('x4', 'SORT (ARRIVAL) UTF-8 1:2')).untagged).toBe('* SORT 1 2\r\n');
    expect((await client.command('x5', 'UID SORT (ARRIVAL) UTF-8 UID 2:3')).untagged).toBe('* SORT 2 3\r\n');
    expect((await client.command('x6', 'THREAD REFERENCES UTF-8 1:2')).untagged).toBe('* THREAD (1 2)\r\n');
    expect((await client.command('x7', 'UID THREAD REFERENCES UTF-8 UID 2:3')).untagged).toBe(
      '* THREAD (2 3)\r\n',
    );
    expect((await client.command('x8', 'THREAD ORDEREDSUBJECT UTF-8 1:2')).untagged).toBe(
      '* THREAD (1 2)\r\n',
    );
  });
});
