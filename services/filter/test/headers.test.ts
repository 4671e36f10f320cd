// Header block handling and verdict levels, without sockets or disks.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { filterSchema } from '../src/config.js';
import { filterHeaders } from '../src/filter-headers.js';
import { field, headerLength, stripUntrusted, tagSubject } from '../src/headers.js';
import { type LevelOverrides, levelsFor, parseLevelOverrides } from '../src/levels.js';
import { subjectOf } from '../src/notice.js';
import { readHeader, skipBytes } from '../src/read-head.js';
import type { ScanReport } from '../src/scan.js';
import { decide, type Levels } from '../src/verdict.js';

const levels: Levels = {
  tag: -999,
  tag2: 5,
  kill: 25,
  limitAction: 'deliver',
  dmarcRejectAction: 'quarantine',
  bannedExtensions: ['exe'],
  subjectTag: '',
};

function report(
  score: number,
  virus: ScanReport['virus'] = { status: 'clean', raw: 'stream: OK' },
): ScanReport {
  return {
    virus,
    spam: { isSpam: score >= 5, score, threshold: 5, rules: ['A', 'B'] },
    auth: null,
    attachments: [],
    ms: 1,
  };
}

describe('header section', () => {
  it('finds the end of the header with CRLF, LF, or an empty header', () => {
    expect(headerLength(Buffer.from('A: 1\r\nB: 2\r\n\r\nbody\r\n\r\n'))).toBe(14);
    expect(headerLength(Buffer.from('A: 1\nB: 2\n\nbody'))).toBe(11);
    expect(headerLength(Buffer.from('\r\nbody'))).toBe(2);
    expect(headerLength(Buffer.from('A: 1\r\nB: 2\r\n'))).toBe(-1);
  });

  it('strips X-Spam-*/X-Virus-* with continuation lines and keeps every other byte', () => {
    const head = Buffer.from(
      'Received: a\r\n\tb\r\nx-spam-flag: YES\r\nX-Spam-Status: Yes,\r\n  tests=X\r\nSubject: \xe4 raw 8bit\r\nX-Virus-Scanned: no\r\nX-Spammy: kept\r\n\r\n',
      'latin1',
    );
    const { header, removed } = stripUntrusted(head);
    expect(removed).toEqual(['x-spam-flag', 'X-Spam-Status', 'X-Virus-Scanned']);
    expect(
      header.equals(
        Buffer.from('Received: a\r\n\tb\r\nSubject: \xe4 raw 8bit\r\nX-Spammy: kept\r\n\r\n', 'latin1'),
      ),
    ).toBe(true);
  });

  it('reads the header from a stream in small chunks and skips it exactly', async () => {
    const msg = Buffer.from('A: 1\r\nB: 2\r\n\r\nline 1\r\nline 2\r\n');
    const chunks = () => Readable.from([...msg].map((b) => Buffer.from([b])));
    const head = await readHeader(chunks());
    expect(head?.toString()).toBe('A: 1\r\nB: 2\r\n\r\n');
    const rest: Buffer[] = [];
    for await (const c of skipBytes(chunks(), head?.length ?? 0)) rest.push(c as Buffer);
    expect(Buffer.concat(rest).toString()).toBe('line 1\r\nline 2\r\n');
    expect(await readHeader(Readable.from([Buffer.from('no end of header')]), 8)).toBeNull();
  });

  it('tags the Subject and nothing else; adds one when missing', () => {
    const head = Buffer.from('From: a\r\nSubject: Gr\xfc\xdfe\r\n\tmore\r\n\r\n', 'latin1');
    expect(
      tagSubject(head, '[SPAM] ').equals(
        Buffer.from('From: a\r\nSubject: [SPAM] Gr\xfc\xdfe\r\n\tmore\r\n\r\n', 'latin1'),
      ),
    ).toBe(true);
    expect(tagSubject(Buffer.from('From: a\r\n\r\n'), '[SPAM]').toString()).toBe(
      'Subject: [SPAM]\r\nFrom: a\r\n\r\n',
    );
  });

  it('folds long fields under 78 characters and unfolds Subject', () => {
    const f = field(
      'X-Spam-Status',
      `Yes, score=9.0 tests=${Array.from({ length: 20 }, (_, i) => `RULE_NUMBER_${i}`).join(',')}`,
    );
    for (const line of f.split('\r\n').slice(0, -1)) expect(line.length).toBeLessThanOrEqual(78);
    expect(f.replace(/\r\n\t/g, '')).toContain('RULE_NUMBER_0,RULE_NUMBER_1');
    expect(subjectOf(Buffer.from('From: a\r\nSubject: hello\r\n world\r\n\r\n'))).toBe('hello world');
  });
});

describe('verdicts', () => {
  it('virus beats spam; levels pick clean, spam, kill; limits follow policy', () => {
    expect(decide(report(1000, { status: 'infected', signature: 'X', raw: '' }), levels)).toEqual({
      kind: 'virus',
      signature: 'X',
    });
    expect(decide(report(4.9), levels).kind).toBe('clean');
    expect(decide(report(5), levels).kind).toBe('spam');
    expect(decide(report(25), levels).kind).toBe('kill');
    expect(decide(report(-0), levels).kind).toBe('clean');
    const limit = report(0, {
      status: 'limit',
      signature: 'Heuristics.Limits.Exceeded.MaxFileSize',
      raw: '',
    });
    expect(decide(limit, levels).kind).toBe('clean');
    expect(decide(limit, { ...levels, limitAction: 'quarantine' }).kind).toBe('limit');
    const unfolded = filterHeaders('mx.example.test', limit, { kind: 'clean', score: 0 }, levels)
      .toString()
      .replace(/\r\n\t/g, ' ');
    expect(unfolded).toContain('partially (size limit)');
  });

  it('adds X-Spam-* only at or above the tag level', () => {
    const h = filterHeaders('mx.example.test', report(1), { kind: 'clean', score: 1 }, { ...levels, tag: 2 });
    expect(h.toString()).toBe('X-Virus-Scanned: ClamAV using Postamt on mx.example.test\r\n');
  });

  it('reads per-domain and per-user levels; the address wins over its domain', () => {
    const parsed = parseLevelOverrides('example.test=tag2:4,kill:15; CEO@example.test=tag2:-1.5');
    expect(parsed).toEqual({ 'example.test': { tag2: 4, kill: 15 }, 'ceo@example.test': { tag2: -1.5 } });
    const o = parsed as LevelOverrides;
    expect(levelsFor(levels, o, 'ceo@example.test')).toMatchObject({ tag: -999, tag2: -1.5, kill: 15 });
    expect(levelsFor(levels, o, 'x@example.test')).toMatchObject({ tag2: 4, kill: 15 });
    expect(levelsFor(levels, o, 'x@other.test')).toMatchObject({ tag2: 5, kill: 25 });
    expect(parseLevelOverrides('example.test=tag3:1')).toMatchObject({
      error: expect.stringContaining('tag3'),
    });
    expect(filterSchema.safeParse({ data: '/tmp/x', spamLevels: 'a.test=tag2:40' }).success).toBe(false);
    expect(filterSchema.parse({ data: '/tmp/x', spamLevels: 'a.test=tag2:20' }).spamLevels).toEqual({
      'a.test': { tag2: 20 },
    });
  });

  it('config refuses tag2 above kill and reads POSTAMT_SPAM_* levels', () => {
    const base = { data: '/tmp/x' };
    expect(filterSchema.safeParse({ ...base, spamTag2Level: '30', spamKillLevel: '20' }).success).toBe(false);
    const ok = filterSchema.parse({ ...base, spamTag2Level: '4.5', spamKillLevel: '40' });
    expect(ok).toMatchObject({
      spamTagLevel: -999,
      spamTag2Level: 4.5,
      spamKillLevel: 40,
      scanLimitAction: 'deliver',
    });
  });
});
