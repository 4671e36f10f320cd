// The filter's delivery step against a real Redis (directory, queues), real
// scanners and a real Maildir on disk: delivery to users and aliases, the
// original bytes kept after the filter's header fields, idempotence on retry.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUMMARY_FILE, TMP_MAX_AGE_MS } from '@postamt/maildir';
import { summarizeMessage } from '@postamt/mime';
import { catalog } from '@postamt/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processMessage } from '../src/process-message.js';
import { type FilterEnv, filesOf, spoolMessage, startFilterEnv } from './env.js';

let env: FilterEnv;

beforeAll(async () => {
  env = await startFilterEnv();
}, 120_000);
afterAll(() => env?.stop());

const BODY = Buffer.from(
  [
    'Received: from client.example.org ([192.0.2.1]) by mx.example.test; Sat, 28 Nov 2026 07:00:00 +0000',
    'From: Sender <sender@example.org>',
    'To: alice@example.test',
    'Subject: lunch tomorrow',
    'Date: Sat, 28 Nov 2026 07:00:00 +0000',
    'Message-ID: <lunch-1@example.org>',
    '',
    'Hello Alice, shall we have lunch tomorrow at noon?',
    '',
  ].join('\r\n'),
);

describe('filter delivery', () => {
  it('delivers the spooled bytes after the filter headers to each local recipient once, and removes the spool file', async () => {
    const { deps } = env;
    const id = await spoolMessage(deps, ['alice@example.test'], BODY);
    const outcome = await processMessage(deps, id);
    expect(outcome).toEqual({
      kind: 'done',
      verdict: 'clean',
      delivered: 1,
      duplicates: 0,
      relayed: 0,
      dropped: 0,
      quarantined: false,
    });
    const [file] = filesOf(deps.dataDir, 'alice', id);
    const text = (file as Buffer).toString('latin1');
    // Authentication (no records in the test DNS: spf=none), then the scan results.
    expect(text.startsWith('Received-SPF: none (mx.example.test: ')).toBe(true);
    expect(text).toMatch(/^X-Virus-Scanned: ClamAV using Postamt on mx.example.test\r\n/m);
    expect(text).toMatch(/^X-Spam-Flag: NO\r\n/m);
    expect((file as Buffer).subarray((file as Buffer).length - BODY.length).equals(BODY)).toBe(true);
    // Parsed once, at delivery: the summary IMAP serves ENVELOPE/BODYSTRUCTURE from.
    const lines = readFileSync(join(deps.dataDir, 'mail/example.test/alice', SUMMARY_FILE), 'utf8').split(
      '\n',
    );
    const [, size, , summary] = JSON.parse(lines.find((l) => l.includes(id)) as string) as unknown[];
    expect(size).toBe((file as Buffer).length);
    expect(summary).toEqual(summarizeMessage(file as Buffer));
    expect((summary as { envelope: string }).envelope).toContain('"lunch tomorrow"');
    expect(await deps.spool.exists(id)).toBe(false);
    expect(await processMessage(deps, id)).toEqual({ kind: 'no-spool-file' });
  });

  it('a retry after failing between recipients delivers the rest once and the first not again', async () => {
    const { deps } = env;
    const id = await spoolMessage(deps, ['bob@example.test', 'carol@example.test'], BODY);
    // Carol's mailbox cannot be written (a file where her Maildir should be): the job
    // fails after bob's copy, as a worker killed between recipients would.
    const carolDir = join(deps.dataDir, 'mail/example.test/carol');
    rmSync(carolDir, { recursive: true, force: true });
    mkdirSync(join(deps.dataDir, 'mail/example.test'), { recursive: true });
    writeFileSync(carolDir, 'in the way');
    await expect(processMessage(deps, id)).rejects.toThrow();
    expect(filesOf(deps.dataDir, 'bob', id)).toHaveLength(1);
    expect(await deps.spool.exists(id)).toBe(true);
    rmSync(carolDir);
    const retry = await processMessage(deps, id);
    expect(retry).toMatchObject({ kind: 'done', delivered: 1, duplicates: 1 });
    expect(filesOf(deps.dataDir, 'bob', id)).toHaveLength(1);
    const [bob] = filesOf(deps.dataDir, 'bob', id);
    const [carol] = filesOf(deps.dataDir, 'carol', id);
    // The retry reused the first scan: both copies carry the same header block.
    expect(carol?.equals(bob as Buffer)).toBe(true);
  });

  it('on a first start no stored report is looked up, yet one stored for the message still decides', async () => {
    const { deps } = env;
    const id = await spoolMessage(deps, ['alice@example.test'], BODY);
    // As if an earlier job for the same spool file (a sweep after lost Redis writes) had scored it as spam.
    await deps.verdicts.put(id, {
      virus: { status: 'clean', raw: 'stream: OK' },
      spam: { isSpam: true, score: 7.5, threshold: 5, rules: ['EARLIER_RUN'] },
      auth: null,
      attachments: [],
      ms: 1,
    });
    const outcome = await processMessage(deps, id, { finalAttempt: false, firstStart: true });
    expect(outcome).toMatchObject({ kind: 'done', verdict: 'spam', delivered: 1 });
    const [file] = filesOf(deps.dataDir, 'alice', id, 'Junk');
    expect((file as Buffer).toString('latin1')).toMatch(/^X-Spam-Status: Yes, score=7\.5 .*EARLIER_RUN/m);
    expect(filesOf(deps.dataDir, 'alice', id)).toHaveLength(0);
    expect(await deps.verdicts.get(id)).toBeNull();
  });

  it('a first start that fails between recipients: the retry delivers the rest once, with the same scan', async () => {
    const { deps } = env;
    const id = await spoolMessage(deps, ['bob@example.test', 'carol@example.test'], BODY);
    const carolDir = join(deps.dataDir, 'mail/example.test/carol');
    rmSync(carolDir, { recursive: true, force: true });
    writeFileSync(carolDir, 'in the way');
    await expect(processMessage(deps, id, { finalAttempt: false, firstStart: true })).rejects.toThrow();
    rmSync(carolDir);
    const retry = await processMessage(deps, id, { finalAttempt: false, firstStart: false });
    expect(retry).toMatchObject({ kind: 'done', delivered: 1, duplicates: 1 });
    const [bob] = filesOf(deps.dataDir, 'bob', id);
    const [carol] = filesOf(deps.dataDir, 'carol', id);
    expect(filesOf(deps.dataDir, 'bob', id)).toHaveLength(1);
    expect(carol?.equals(bob as Buffer)).toBe(true);
  });

  it('expands aliases to every member, scanning once', async () => {
    const { deps } = env;
    const id = await spoolMessage(deps, ['team@example.test', 'alice@example.test'], BODY);
    expect(await processMessage(deps, id)).toMatchObject({ kind: 'done', delivered: 3, duplicates: 0 });
    for (const u of ['alice', 'bob', 'carol']) {
      const [file] = filesOf(deps.dataDir, u, id);
      // The copies share one header block, so one parse serves every summaries index.
      const lines = readFileSync(join(deps.dataDir, 'mail/example.test', u, SUMMARY_FILE), 'utf8').split(
        '\n',
      );
      const [, size, , summary] = JSON.parse(lines.find((l) => l.includes(id)) as string) as unknown[];
      expect(size).toBe((file as Buffer).length);
      expect(summary).toEqual(summarizeMessage(file as Buffer));
    }
  });
});

describe('delivery claims and retries', () => {
  it("a delivery's claim outlives every retry of its filter job (Maildir removes tmp/ files after 36 h)", () => {
    const { attempts, backoff } = catalog.filter;
    expect(backoff.type).toBe('exponential');
    // BullMQ waits delay × 2^(n−1) after the n-th failed attempt.
    let waited = 0;
    for (let n = 1; n < attempts; n++) waited += backoff.delay * 2 ** (n - 1);
    expect(waited).toBeLessThan(TMP_MAX_AGE_MS);
  });
});
