// Pure SORT/THREAD logic: base subjects (RFC 5256 §2.1), sent dates (§2.2),
// msg-id lists, the SORT/THREAD argument grammar (§4), both thread
// algorithms and the thread-list syntax. The byte-for-byte comparison with
// Dovecot is sort-thread.test.ts.
import { describe, expect, it } from 'vitest';
import { ParseError, Reader } from '../src/protocol/reader.js';
import { BadCharsetError } from '../src/protocol/search-args.js';
import { parseSort, parseThread } from '../src/protocol/sort-args.js';
import { baseSubject } from '../src/sort/base-subject.js';
import type { Fields, Matched } from '../src/sort/collect.js';
import { decodeHeader } from '../src/sort/header-text.js';
import { messageIds } from '../src/sort/message-id.js';
import { sortMessages } from '../src/sort/sort.js';
import { sortDate } from '../src/sort/sort-date.js';
import { formatThreads, threadOrderedSubject } from '../src/sort/thread.js';
import { threadReferences } from '../src/sort/thread-references.js';

const R = (s: string) => new Reader(Buffer.from(s, 'utf8'));

describe('base subject (RFC 5256 §2.1)', () => {
  it.each([
    ['Hello', 'HELLO', false],
    ['Re: Hello', 'HELLO', true],
    ['RE: FWD: re: Hello', 'HELLO', true],
    ['Re: Fwd: [list] Re: Hello (fwd)', 'HELLO', true],
    ['[list] Hello', 'HELLO', false],
    ['[list]', '[LIST]', false],
    ['Re[2]: Hello', 'HELLO', true],
    ['Fw: Hello', 'HELLO', true],
    ['Reply: Hello', 'REPLY: HELLO', false],
    ['[Fwd: Re: [x] nested (fwd)]', 'NESTED', true],
    ['Hello (fwd)(FWD)\t(fwd) ', 'HELLO', true],
    ['  multiple   spaces\there  ', 'MULTIPLE SPACES HERE', false],
    ['Re:', '', true],
    ['', '', false],
  ])('%j → %j', (raw, base, reply) => {
    expect(baseSubject(raw)).toEqual({ base, replyOrForward: reply });
  });

  it('decodes encoded words, then compares in i;unicode-casemap form', () => {
    expect(baseSubject('=?UTF-8?Q?Re=3A_caf=C3=A9?=').base).toBe('CAFE\u0301');
    expect(baseSubject('CAFÉ'.replace(/./g, (c) => Buffer.from(c).toString('latin1'))).base).toBe(
      'CAFE\u0301',
    );
    // White space between two encoded words goes (RFC 2047 §6.2).
    expect(baseSubject('=?UTF-8?Q?Re:?= \r\n =?UTF-8?Q?_split?=').base).toBe('SPLIT');
  });

  it('keeps text in an unknown charset as it is', () => {
    expect(decodeHeader('=?x-unknown?Q?Abc?=', true)).toBe('Abc');
    expect(decodeHeader('=?ISO-8859-1?Q?Val=E9rie?=')).toBe('Valérie');
  });
});

describe('sent date (RFC 5256 §2.2, RFC 5322 §3.3)', () => {
  it.each([
    ['Mon, 1 Jan 2024 10:00:00 +0000', Date.UTC(2024, 0, 1, 10) / 1000],
    ['Sat, 6 Jan 2024 23:30:00 -0800 (PST)', Date.UTC(2024, 0, 7, 7, 30) / 1000],
    ['9 Jan 24 11:00 Z', Date.UTC(2024, 0, 9, 11) / 1000],
    ['8 Jan 24 12:00 EST', Date.UTC(2024, 0, 8, 17) / 1000],
    ['Tue, 9 Jan 2024 12.30 +0100', Date.UTC(2024, 0, 9, 11, 30) / 1000],
    ['Tue (c), 9 Jan 2024 13:00:00 (more) EDT', Date.UTC(2024, 0, 9, 17) / 1000],
    ['Tue, 09 Jan 2024 19:00:60 +0000', Date.UTC(2024, 0, 9, 19, 0, 59) / 1000],
    ['Tue, 2 Jan 1968 10:00:00 +0000', Date.UTC(1968, 0, 2, 10) / 1000 + 2 ** 32],
    ['31 Feb 2024 10:00:00 +0000', 0],
    ['1 Jan 2024 25:00:00 +0000', 0],
    ['1 Jan 1970 00:00:00 +0000', 0],
    ['yesterday', 0],
  ])('%j', (value, seconds) => {
    expect(sortDate(value)).toBe(seconds);
  });
});

describe('msg-id lists', () => {
  it('yields the valid ids in order, brackets and white space removed', () => {
    expect(messageIds('<a@t> junk <no-at> <b@t>')).toEqual(['a@t', 'b@t']);
    expect(messageIds('< aa @ t >')).toEqual(['aa@t']);
    expect(messageIds('<"quoted local"@t> (c) <x (comment) @t>')).toEqual(['quoted local@t', 'x@t']);
    expect(messageIds('<unterminated@t')).toEqual([]);
    expect(messageIds(null)).toEqual([]);
  });
});

describe('SORT and THREAD arguments (RFC 5256 §4)', () => {
  it('reads criteria, charset and search keys', () => {
    const a = parseSort(R(' (REVERSE date subject) UTF-8 SUBJECT "x" 1:5'));
    expect(a.criteria).toEqual([
      { key: 'DATE', reverse: true },
      { key: 'SUBJECT', reverse: false },
    ]);
    expect(a.search.charset).toBe('UTF-8');
    expect(a.search.key.op).toBe('and');
  });
  it('counts a repeated key once and lets REVERSE REVERSE cancel', () => {
    expect(parseSort(R(' (DATE DATE REVERSE REVERSE SIZE) US-ASCII ALL')).criteria).toEqual([
      { key: 'DATE', reverse: false },
      { key: 'SIZE', reverse: false },
    ]);
  });
  it('refuses an empty or unknown program, a trailing REVERSE, missing keys', () => {
    for (const bad of [
      ' () UTF-8 ALL',
      ' (FOO) UTF-8 ALL',
      ' (DATE REVERSE) UTF-8 ALL',
      ' (DATE) UTF-8',
      ' DATE UTF-8 ALL',
    ])
      expect(() => parseSort(R(bad)), bad).toThrow(ParseError);
    expect(() => parseThread(R(' FOO UTF-8 ALL'))).toThrow(ParseError);
    expect(() => parseThread(R(' REFERENCES UTF-8'))).toThrow(ParseError);
  });
  it('answers BADCHARSET for a charset it cannot read', () => {
    expect(() => parseSort(R(' (DATE) X-NO-SUCH ALL'))).toThrow(BadCharsetError);
    expect(() => parseThread(R(' ORDEREDSUBJECT X-NO-SUCH ALL'))).toThrow(BadCharsetError);
  });
  it('decodes search strings in the given charset', () => {
    const r = new Reader(
      Buffer.concat([Buffer.from(' (DATE) ISO-8859-1 SUBJECT "'), Buffer.from([0xe9]), Buffer.from('"')]),
    );
    expect(parseSort(r).search.key).toMatchObject({ op: 'header', value: 'é' });
  });
});

let uid = 0;
function msg(headers: Partial<Fields>, arrival = 0): Matched {
  uid++;
  return {
    uid,
    seq: uid,
    size: 100,
    arrival,
    fields: {
      subject: null,
      from: null,
      to: null,
      cc: null,
      date: null,
      'message-id': null,
      'in-reply-to': null,
      references: null,
      ...headers,
    },
  };
}
const day = (d: number) => `${d} Jan 2024 10:00:00 +0000`;
const num = (m: Matched) => m.uid;

describe('SORT ordering', () => {
  it('breaks ties by the next key, then by sequence number, never reversed', () => {
    uid = 0;
    const ms = [
      msg({ subject: 'b', date: day(2) }),
      msg({ subject: 'a', date: day(2) }),
      msg({ subject: 'a' }, 5),
    ];
    const uids = (c: Parameters<typeof sortMessages>[1]) => sortMessages(ms, c).map(num);
    expect(uids([{ key: 'SUBJECT', reverse: false }])).toEqual([2, 3, 1]);
    expect(uids([{ key: 'DATE', reverse: true }])).toEqual([1, 2, 3]);
    expect(uids([{ key: 'SIZE', reverse: true }])).toEqual([1, 2, 3]);
    expect(
      uids([
        { key: 'SUBJECT', reverse: true },
        { key: 'DATE', reverse: false },
      ]),
    ).toEqual([1, 3, 2]);
  });
  it('sorts addresses by mailbox, DISPLAYFROM by decoded name or address', () => {
    uid = 0;
    const ms = [
      msg({ from: '=?UTF-8?Q?Zoe?= <amy@t>' }),
      msg({ from: 'Bob <zed@t>' }),
      msg({ from: 'carl@t' }),
      msg({}),
    ];
    expect(sortMessages(ms, [{ key: 'FROM', reverse: false }]).map(num)).toEqual([4, 1, 3, 2]);
    expect(sortMessages(ms, [{ key: 'DISPLAYFROM', reverse: false }]).map(num)).toEqual([4, 2, 3, 1]);
  });
});

describe('THREAD', () => {
  it('ORDEREDSUBJECT: one thread per base subject, ordered by the first date', () => {
    uid = 0;
    const ms = [
      msg({ subject: 'Re: x', date: day(3) }),
      msg({ subject: 'y', date: day(1) }),
      msg({ subject: 'x', date: day(2) }),
      msg({ subject: 'X', date: day(4) }),
    ];
    expect(formatThreads(threadOrderedSubject(ms), num)).toBe('(2)(3 (1)(4))');
  });

  it('REFERENCES: links, dummies, loops and subject merging (RFC 5256 §2.2)', () => {
    uid = 0;
    const ms = [
      msg({ 'message-id': '<a@t>', subject: 'Chain', date: day(1) }),
      msg({ 'message-id': '<b@t>', references: '<a@t>', subject: 'Re: Chain', date: day(2) }),
      msg({ 'message-id': '<c@t>', references: '<a@t> <b@t>', subject: 'Re: Chain', date: day(3) }),
      // Two children of a message we do not have: a dummy parent.
      msg({ 'message-id': '<d@t>', references: '<gone@t>', subject: 'Orphan', date: day(5) }),
      msg({ 'message-id': '<e@t>', 'in-reply-to': '<gone@t>', subject: 'Orphan', date: day(4) }),
      // g hangs under h (seen first as g's reference); h's link back to g would make a loop.
      msg({ 'message-id': '<g@t>', references: '<h@t>', subject: 'Loop', date: day(6) }),
      msg({ 'message-id': '<h@t>', references: '<g@t>', subject: 'Loop two', date: day(7) }),
      // Same base subject, no references: a reply goes under the original.
      msg({ 'message-id': '<k@t>', subject: 'Meeting', date: day(8) }),
      msg({ 'message-id': '<l@t>', subject: 'Re: Meeting', date: day(9) }),
      // Same base subject, neither a reply: a dummy holds both.
      msg({ 'message-id': '<n@t>', subject: 'Status', date: day(10) }),
      msg({ 'message-id': '<o@t>', subject: 'status', date: day(11) }),
    ];
    expect(formatThreads(threadReferences(ms), num)).toBe('(1 2 3)((5)(4))(7 6)(8 9)((10)(11))');
    expect(formatThreads(threadReferences([]), num)).toBe('');
  });
});

describe('THREAD on deep and wide trees', () => {
  it('handles a 20,000-message reply chain and a 30,000-reply fan-out', () => {
    uid = 0;
    const chain = Array.from({ length: 20_000 }, (_, i) =>
      msg({ 'message-id': `<c${i}@t>`, references: i ? `<c${i - 1}@t>` : null, date: day(1) }),
    );
    const list = formatThreads(threadReferences(chain), num);
    expect(list).toBe(`(${chain.map(num).join(' ')})`);
    uid = 0;
    const fan = Array.from({ length: 30_000 }, (_, i) =>
      msg({ 'message-id': `<f${i}@t>`, references: i ? '<f0@t>' : null, date: day(1) }),
    );
    const wide = formatThreads(threadReferences(fan), num);
    expect(wide.startsWith('(1 (2)(3)')).toBe(true);
    expect(wide.endsWith('(30000))')).toBe(true);
  });
});

describe('remembered SORT and THREAD answers (sort/result-memo.ts)', () => {
  it('gives the same answer again for the same messages, with the current sequence numbers', () => {
    uid = 0;
    const ms = [
      msg({ 'message-id': '<a@t>', subject: 'x', date: day(2) }),
      msg({ 'message-id': '<b@t>', references: '<a@t>', subject: 'Re: x', date: day(3) }),
      msg({ 'message-id': '<c@t>', subject: 'a', date: day(1) }),
    ];
    const bySubject = [{ key: 'SUBJECT' as const, reverse: false }];
    expect(sortMessages(ms, bySubject).map(num)).toEqual([3, 1, 2]);
    expect(formatThreads(threadReferences(ms), num)).toBe('(3)(1 2)');
    // Another session sees the same messages under other sequence numbers (one before them expunged).
    const later = ms.map((m) => ({ ...m, seq: m.seq + 10 }));
    expect(sortMessages(later, bySubject).map((m) => m.seq)).toEqual([13, 11, 12]);
    expect(formatThreads(threadReferences(later), (m) => m.seq)).toBe('(13)(11 12)');
    // Another sort program over the same messages is not the remembered one.
    expect(sortMessages(later, [{ key: 'SUBJECT', reverse: true }]).map(num)).toEqual([1, 2, 3]);
  });

  it('computes again when a message, its fields or its date differ', () => {
    uid = 0;
    const ms = [
      msg({ 'message-id': '<a@t>', subject: 'b', date: day(1) }),
      msg({ 'message-id': '<b@t>', subject: 'a', date: day(2) }),
    ];
    const byDate = [{ key: 'DATE' as const, reverse: false }];
    expect(sortMessages(ms, byDate).map(num)).toEqual([1, 2]);
    // Same UIDs, new Fields object (the header changed): a new answer.
    const changed = [
      ms[0] as Matched,
      { ...(ms[1] as Matched), fields: { ...(ms[1] as Matched).fields, date: day(0) } },
    ];
    expect(sortMessages(changed, byDate).map(num)).toEqual([2, 1]);
    // A message fewer (the first Fields object is the same).
    expect(formatThreads(threadReferences(ms), num)).toBe('(1)(2)');
    expect(formatThreads(threadReferences(ms.slice(0, 1)), num)).toBe('(1)');
    // Same fields, other arrival time: ARRIVAL differs.
    const byArrival = [{ key: 'ARRIVAL' as const, reverse: false }];
    const early = [
      { ...(ms[0] as Matched), arrival: 5 },
      { ...(ms[1] as Matched), arrival: 1 },
    ];
    expect(sortMessages(ms, byArrival).map(num)).toEqual([1, 2]);
    expect(sortMessages(early, byArrival).map(num)).toEqual([2, 1]);
  });
});
