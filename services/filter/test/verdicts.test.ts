// Verdicts with real clamd and spamd: virus → quarantine + notice, spam → Junk
// or quarantine by level, ham → INBOX with trusted headers only, scanners down
// → retry (nothing delivered), last attempt → quarantined unscanned.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attachmentMessage, EICAR, GTUBE, textMessage, zipOneFile } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processMessage, ScannersUnavailable } from '../src/process-message.js';
import { type FilterEnv, filesOf, spoolMessage, startFilterEnv } from './env.js';

let env: FilterEnv;

beforeAll(async () => {
  env = await startFilterEnv();
}, 120_000);
afterAll(() => env?.stop());

function quarantined(id: string): { message: Buffer; meta: Record<string, unknown> } | null {
  const path = join(env.deps.dataDir, 'quarantine', id);
  if (!existsSync(`${path}.json`)) return null;
  return { message: readFileSync(path), meta: JSON.parse(readFileSync(`${path}.json`, 'utf8')) };
}

describe('filter verdicts', () => {
  it('ham goes to INBOX; forged X-Spam-*/X-Virus-* fields are replaced, the rest is byte-exact', async () => {
    const { deps } = env;
    const msg = textMessage('Hi Bob,\nthe minutes of the meeting are attached.\n', {
      extraHeaders: [
        'X-Spam-Flag: NO',
        'X-Spam-Status: No, score=-100',
        '\tfolded=forged',
        'X-Virus-Scanned: clean',
      ],
    });
    const id = await spoolMessage(deps, ['bob@example.test'], msg);
    expect(await processMessage(deps, id)).toMatchObject({ verdict: 'clean', delivered: 1 });
    const [file] = filesOf(deps.dataDir, 'bob', id);
    const text = (file as Buffer).toString('utf8');
    expect(text.match(/^X-Spam-Flag:/gm)).toHaveLength(1);
    expect(text.match(/^X-Virus-Scanned:/gm)).toHaveLength(1);
    expect(text).not.toContain('forged');
    expect(text).toMatch(/^X-Spam-Status: No, score=-?\d+\.\d tag2=5 tests=/m);
    const expected = msg
      .toString('utf8')
      .replace(
        'X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-100\r\n\tfolded=forged\r\nX-Virus-Scanned: clean\r\n',
        '',
      );
    expect(text.endsWith(expected)).toBe(true);
    const added = text.slice(0, text.length - expected.length);
    expect(added).toMatch(/^Received-SPF: [\s\S]*?\r\nAuthentication-Results: mx\.example\.test;/);
    // Every added line ends with CRLF; continuation lines start with WSP.
    expect(
      added
        .split('\r\n')
        .slice(0, -1)
        .every((l) => !l.includes('\n')),
    ).toBe(true);
    expect(added.match(/^[A-Za-z-]+:/gm)).toEqual([
      'Received-SPF:',
      'Authentication-Results:',
      'X-Virus-Scanned:',
      'X-Spam-Flag:',
      'X-Spam-Score:',
      'X-Spam-Status:',
    ]);
  });

  it('EICAR (inline, attachment, zip) → quarantine with verdict, a notice to each recipient, no delivery', async () => {
    const { deps } = env;
    const samples = [
      textMessage(`hello\n${EICAR}\n`, { subject: 'inline' }),
      attachmentMessage(Buffer.from(EICAR), 'eicar.com', 'application/octet-stream', { subject: 'attached' }),
      attachmentMessage(zipOneFile('a.com', Buffer.from(EICAR)), 'a.zip', 'application/zip', {
        subject: 'zipped',
      }),
    ];
    for (const msg of samples) {
      const id = await spoolMessage(deps, ['alice@example.test', 'carol@example.test'], msg);
      const outcome = await processMessage(deps, id);
      expect(outcome).toMatchObject({ verdict: 'virus', delivered: 0, quarantined: true });
      const q = quarantined(id);
      expect(q?.meta).toMatchObject({
        id,
        verdict: { kind: 'virus', signature: expect.stringMatching(/EICAR/i) },
      });
      expect(q?.message.toString('latin1')).toMatch(/^X-Virus-Status: Infected/m);
      for (const user of ['alice', 'carol']) {
        const files = filesOf(deps.dataDir, user, id);
        expect(files).toHaveLength(1); // the notice only
        const notice = (files[0] as Buffer).toString('latin1');
        expect(notice).toContain('Subject: A message for you was quarantined');
        expect(notice).not.toContain(EICAR);
      }
      expect(await deps.spool.exists(id)).toBe(false);
      expect(await deps.queues.has('relay', id)).toBe(false);
    }
  });

  it('banned attachment types, also inside a ZIP, are quarantined with a notice', async () => {
    const { deps } = env;
    const samples = [
      attachmentMessage(Buffer.from('MZ not really a program'), 'setup.exe'),
      attachmentMessage(zipOneFile('invoice.pdf.scr', Buffer.from('MZ')), 'invoice.zip', 'application/zip'),
    ];
    for (const msg of samples) {
      const id = await spoolMessage(deps, ['bob@example.test'], msg);
      expect(await processMessage(deps, id)).toMatchObject({
        verdict: 'banned',
        delivered: 0,
        quarantined: true,
      });
      expect(quarantined(id)?.meta).toMatchObject({ verdict: { kind: 'banned' } });
      const [notice] = filesOf(deps.dataDir, 'bob', id);
      expect(notice?.toString()).toContain('quarantined (banned attachment)');
    }
    const ok = await spoolMessage(
      deps,
      ['bob@example.test'],
      attachmentMessage(Buffer.from('%PDF-1.4'), 'report.pdf'),
    );
    expect(await processMessage(deps, ok)).toMatchObject({ verdict: 'clean', delivered: 1 });
  });

  it('GTUBE → Junk when below the kill level, quarantine above it', async () => {
    const { deps } = env;
    const gtube = textMessage(`cheap stuff\n${GTUBE}\n`);
    const lenient = { ...deps, levels: { ...deps.levels, kill: 5000, subjectTag: '***SPAM*** ' } };
    const id1 = await spoolMessage(deps, ['alice@example.test'], gtube);
    expect(await processMessage(lenient, id1)).toMatchObject({ verdict: 'spam', delivered: 1 });
    const [junk] = filesOf(deps.dataDir, 'alice', id1, 'Junk');
    expect(junk?.toString('latin1')).toMatch(/^X-Spam-Flag: YES\r\n/m);
    expect(junk?.toString('latin1')).toMatch(/^X-Spam-Status: Yes, score=1\d\d\d\.\d tag2=5 tests=.*GTUBE/m);
    expect(filesOf(deps.dataDir, 'alice', id1)).toHaveLength(0);
    expect(junk?.toString('latin1')).toMatch(/^Subject: \*\*\*SPAM\*\*\* Test message\r\n/m);

    const id2 = await spoolMessage(deps, ['alice@example.test'], gtube);
    expect(await processMessage(deps, id2)).toMatchObject({
      verdict: 'kill',
      delivered: 0,
      quarantined: true,
    });
    expect(quarantined(id2)?.meta).toMatchObject({ verdict: { kind: 'kill' } });
    expect(filesOf(deps.dataDir, 'alice', id2, 'Junk')).toHaveLength(0);
  });

  it('per-user levels: the same GTUBE is quarantined for alice and filed in Junk for bob', async () => {
    const { deps } = env;
    const perUser = { ...deps, levelOverrides: { 'bob@example.test': { kill: 5000 } } };
    const id = await spoolMessage(deps, ['alice@example.test', 'bob@example.test'], textMessage(GTUBE));
    expect(await processMessage(perUser, id)).toMatchObject({
      verdict: 'kill',
      delivered: 1,
      quarantined: true,
    });
    expect(filesOf(deps.dataDir, 'alice', id)).toHaveLength(0);
    expect(filesOf(deps.dataDir, 'alice', id, 'Junk')).toHaveLength(0);
    expect(filesOf(deps.dataDir, 'bob', id, 'Junk')).toHaveLength(1);
    expect(quarantined(id)?.meta).toMatchObject({
      localRecipients: ['alice@example.test'],
      remoteRecipients: [],
    });
  });

  it('remote recipients of clean mail go to the relay queue; the spool file stays for the relay', async () => {
    const { deps } = env;
    const id = await spoolMessage(
      deps,
      ['alice@example.test', 'someone@remote.example'],
      textMessage('hi there'),
    );
    expect(await processMessage(deps, id)).toMatchObject({ verdict: 'clean', delivered: 1, relayed: 1 });
    expect(await deps.queues.has('relay', id)).toBe(true);
    expect(await deps.spool.exists(id)).toBe(true);
  });

  it('scanner down → ScannersUnavailable, nothing delivered, spool kept; after restart → delivered', async () => {
    const { deps, clamd } = env;
    await clamd.stop();
    try {
      const id = await spoolMessage(deps, ['bob@example.test'], textMessage('while clamd is down'));
      const err = await processMessage(deps, id).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ScannersUnavailable);
      expect((err as ScannersUnavailable).failures).toEqual([
        { scanner: 'clamd', detail: expect.stringMatching(/^refused/) },
      ]);
      expect(filesOf(deps.dataDir, 'bob', id)).toHaveLength(0);
      expect(await deps.spool.exists(id)).toBe(true);

      // On the last attempt the message is held, never delivered unscanned.
      const last = await spoolMessage(deps, ['bob@example.test'], textMessage('last attempt'));
      expect(await processMessage(deps, last, { finalAttempt: true })).toMatchObject({
        verdict: 'unscanned',
        delivered: 0,
        quarantined: true,
      });
      expect(filesOf(deps.dataDir, 'bob', last)).toHaveLength(0);
      expect(quarantined(last)?.message.toString('latin1')).toMatch(/^X-Virus-Scanned: not scanned/);

      await clamd.restart();
      expect(await processMessage(deps, id)).toMatchObject({ verdict: 'clean', delivered: 1 });
      expect(filesOf(deps.dataDir, 'bob', id)).toHaveLength(1);
    } finally {
      if (!(await deps.scanners.clamd.ping())) await clamd.restart();
    }
  });
});
