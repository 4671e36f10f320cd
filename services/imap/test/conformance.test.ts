// Corpus conformance through the server: the Dovecot corpus is APPENDed into
// a fresh Maildir (UID order, the manifest's INTERNALDATE), one session
// SELECTs it (clearing \Recent, as the recording did), then every FETCH of
// dovecot-golden.jsonl and every command of dovecot-search.jsonl (flag setup
// included) goes over a real socket with the recorded tag, and the bytes
// that come back are compared with Dovecot's. Differences the RFCs allow are
// listed in CONFORMANCE.md and asserted in normalised form there; anything
// else fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, message, type Recorded, recorded } from './corpus.js';
import { startEnv, type TestEnv } from './env.js';
import { ImapClient } from './imap-client.js';
import { allowedDifference } from './normalise.js';

let env: TestEnv;
let client: ImapClient;

beforeAll(async () => {
  env = await startEnv({ maxMessage: 4 * 1024 * 1024, maxLiteral: 65536 });
  const loader = await ImapClient.connect(env.server.port);
  await loader.readResponse();
  expect((await loader.command('l', 'LOGIN alice@example.test secret')).tagged).toMatch(/^l OK/);
  for (const row of manifest()) {
    const bytes = message(row.file);
    const head = Buffer.from(`APPEND INBOX () "${row.internaldate}" {${bytes.length}+}\r\n`);
    const r = await loader.command(`a${row.uid}`, Buffer.concat([head, bytes]));
    expect(r.tagged, row.file).toMatch(new RegExp(`^a${row.uid} OK \\[APPENDUID \\d+ ${row.uid}\\]`));
  }
  // The recording's first session: SELECT moves everything to cur/ and clears \Recent.
  expect((await loader.command('s', 'SELECT INBOX')).untagged).toMatch(/\* 297 RECENT/);
  await loader.command('o', 'LOGOUT');
  loader.close();
  client = await ImapClient.connect(env.server.port);
  await client.readResponse();
  await client.command('l', 'LOGIN alice@example.test secret');
  const sel = await client.command('s', 'SELECT INBOX');
  expect(sel.untagged).toMatch(/\* 297 EXISTS\r\n\* 0 RECENT\r\n/);
}, 120_000);

afterAll(async () => {
  client?.close();
  await env?.stop();
});

interface Tally {
  exact: number;
  allowed: Map<string, number>;
  failures: string[];
}

async function replay(lines: Recorded[], tally: Tally, perLabel?: Map<string, [number, number]>) {
  for (const line of lines) {
    const got = await client.command(line.tag, line.command);
    const label = line.label.split(' ')[0] as string;
    const stat = perLabel?.get(label) ?? [0, 0];
    stat[1]++;
    // Tagged lines: status and response code only (Dovecot's text carries timings).
    const status = (t: string) => /^\S+ (OK|NO|BAD)(?: \[([^\] ]+))?/.exec(t)?.slice(1).join(' ');
    if (status(got.tagged) !== status(line.tagged.trim())) {
      tally.failures.push(`${line.tag} ${line.label}: tagged ${got.tagged} want ${line.tagged.trim()}`);
      continue;
    }
    if (got.untagged === line.response) {
      tally.exact++;
      stat[0]++;
    } else {
      const why = allowedDifference(line.response, got.untagged);
      if (why) tally.allowed.set(why, (tally.allowed.get(why) ?? 0) + 1);
      else
        tally.failures.push(
          `${line.tag} ${line.file ?? ''} ${line.command.slice(0, 80)}\n  want ${JSON.stringify(line.response.slice(0, 300))}\n  got  ${JSON.stringify(got.untagged.slice(0, 300))}`,
        );
    }
    perLabel?.set(label, stat);
  }
}

function report(name: string, total: number, t: Tally) {
  console.log(
    `${name}: ${t.exact}/${total} byte-exact, ${[...t.allowed.values()].reduce((a, b) => a + b, 0)} RFC-allowed differences, ${t.failures.length} failures`,
  );
  for (const [why, n] of t.allowed) console.log(`  allowed (${n}): ${why}`);
  for (const f of t.failures.slice(0, 10)) console.log(`  FAIL ${f}`);
}

describe('Dovecot corpus through the server', () => {
  it('answers every recorded FETCH as Dovecot does', async () => {
    const lines = recorded('dovecot-golden.jsonl');
    const tally: Tally = { exact: 0, allowed: new Map(), failures: [] };
    const perLabel = new Map<string, [number, number]>();
    await replay(lines, tally, perLabel);
    report('FETCH', lines.length, tally);
    for (const [label, [ok, n]] of perLabel) console.log(`  ${label.padEnd(24)} ${ok}/${n}`);
    expect(tally.failures).toEqual([]);
  }, 300_000);

  it('answers every recorded SEARCH (after the same flag setup) as Dovecot does', async () => {
    const lines = recorded('dovecot-search.jsonl');
    const tally: Tally = { exact: 0, allowed: new Map(), failures: [] };
    await replay(lines, tally);
    report('SEARCH', lines.length, tally);
    expect(tally.failures).toEqual([]);
  }, 120_000);
});
