// Pure tests of the RFC 7162 wire syntax: fetch modifiers (CHANGEDSINCE,
// VANISHED), SELECT parameters (CONDSTORE, QRESYNC with known UIDs and
// seq-match-data), the SEARCH MODSEQ key, and the MailboxView lines that
// report changes under CONDSTORE and QRESYNC.
import { describe, expect, it } from 'vitest';
import { vanishedSince } from '../src/commands/fetch.js';
import { MailboxView } from '../src/mailbox-view.js';
import { parseFetchItems, parseFetchModifiers, parseModseq } from '../src/protocol/fetch-args.js';
import { ParseError, Reader } from '../src/protocol/reader.js';
import { parseSearch, usesModseq } from '../src/protocol/search-args.js';
import { parseSelectParams } from '../src/protocol/select-args.js';
import { parseSeqSet } from '../src/protocol/sequence.js';
import type { MailboxSnapshot, MailStore } from '../src/store.js';

const R = (s: string) => new Reader(Buffer.from(s, 'latin1'));

function all<T>(s: string, parse: (r: Reader) => T): T {
  const r = R(s);
  const v = parse(r);
  r.end();
  return v;
}

describe('fetch modifiers', () => {
  it('parses MODSEQ, CHANGEDSINCE and VANISHED in either order', () => {
    expect(all('(FLAGS MODSEQ)', parseFetchItems)).toEqual([{ kind: 'FLAGS' }, { kind: 'MODSEQ' }]);
    expect(all('', parseFetchModifiers)).toEqual({ changedSince: null, vanished: false });
    expect(all(' (CHANGEDSINCE 12345)', parseFetchModifiers)).toEqual({
      changedSince: 12345,
      vanished: false,
    });
    expect(all(' (VANISHED CHANGEDSINCE 7)', parseFetchModifiers)).toEqual({
      changedSince: 7,
      vanished: true,
    });
    // 63-bit values are legal on the wire; beyond 2^53 they compare as "above everything".
    expect(all('9223372036854775807', (r) => parseModseq(r))).toBe(Number.MAX_SAFE_INTEGER);
  });
  it('refuses VANISHED without CHANGEDSINCE, zero, unknown modifiers', () => {
    for (const bad of [
      ' (VANISHED)',
      ' (CHANGEDSINCE 0)',
      ' (CHANGEDSINCE)',
      ' (FOO 1)',
      ' ()',
      ' (CHANGEDSINCE 99999999999999999999)',
    ])
      expect(() => all(bad, parseFetchModifiers), bad).toThrow(ParseError);
  });
});

describe('SELECT parameters', () => {
  it('parses CONDSTORE and QRESYNC with and without known UIDs and seq-match-data', () => {
    expect(all('', parseSelectParams)).toEqual({ condstore: false, qresync: null });
    expect(all(' (CONDSTORE)', parseSelectParams)).toEqual({ condstore: true, qresync: null });
    // RFC 7162 §3.2.5.2 examples, adapted.
    expect(all(' (QRESYNC (67890007 90060115194045000))', parseSelectParams).qresync).toEqual({
      uidValidity: 67890007,
      // Above 2^53: no modseq of ours is that high, so it stands for "above everything".
      modseq: Number.MAX_SAFE_INTEGER,
      knownUids: null,
      seqMatch: null,
    });
    expect(
      all(' (QRESYNC (67890007 20050715194045000 41,43:211,214:541))', parseSelectParams).qresync,
    ).toMatchObject({
      knownUids: [
        [41, 41],
        [43, 211],
        [214, 541],
      ],
      seqMatch: null,
    });
    expect(
      all(
        ' (QRESYNC (67890007 20050715194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))',
        parseSelectParams,
      ).qresync?.seqMatch?.seqs,
    ).toEqual([
      [5000, 5000],
      [7500, 7500],
      [9000, 9000],
      [9990, 9999],
    ]);
    expect(all(' (CONDSTORE QRESYNC (1 2 (1 5)))', parseSelectParams)).toMatchObject({
      condstore: true,
      qresync: { knownUids: null, seqMatch: { seqs: [[1, 1]], uids: [[5, 5]] } },
    });
  });
  it('refuses malformed QRESYNC parameters', () => {
    for (const bad of [
      ' (QRESYNC)',
      ' (QRESYNC (1))',
      ' (QRESYNC (0 5))',
      ' (QRESYNC (1 5 1:*))',
      ' (QRESYNC (1 2) QRESYNC (1 2))',
      ' (FOO)',
      ' ()',
    ])
      expect(() => all(bad, parseSelectParams), bad).toThrow(ParseError);
  });
});

describe('SEARCH MODSEQ', () => {
  it('parses the key with and without an entry name, and finds it nested', () => {
    expect(parseSearch(R(' MODSEQ 620162338')).key).toEqual({ op: 'modseq', modseq: 620162338 });
    const p = parseSearch(R(' OR NOT MODSEQ "/flags/\\\\draft" all 620162338 SEEN'));
    expect(usesModseq(p.key)).toBe(true);
    expect(usesModseq(parseSearch(R(' SEEN UID 1:5')).key)).toBe(false);
    expect(parseSearch(R(' MODSEQ 0')).key).toEqual({ op: 'modseq', modseq: 0 });
    expect(() => parseSearch(R(' MODSEQ "/shared/x" all 5'))).toThrow(ParseError);
    expect(() => parseSearch(R(' MODSEQ "/flags/\\\\seen" mine 5'))).toThrow(ParseError);
  });
});

describe('MailboxView under CONDSTORE and QRESYNC', () => {
  const snap = (msgs: Array<[number, string[], number]>, highest: number): MailboxSnapshot => ({
    uidValidity: 1,
    uidNext: 10,
    messages: msgs.map(([uid, flags, modseq]) => ({
      uid,
      flags,
      modseq,
      size: 1,
      internalDate: new Date(0),
    })),
    recent: new Set(),
    keywords: [],
    highestModseq: highest,
  });

  it('reports expunges as one VANISHED and changes with UID and MODSEQ, then the new HIGHESTMODSEQ', () => {
    const view = new MailboxView(
      'INBOX',
      false,
      snap(
        [
          [1, [], 1],
          [2, [], 1],
          [3, [], 1],
          [4, [], 1],
        ],
        1,
      ),
    );
    const ext = { condstore: true, qresync: true };
    // 2 and 3 expunged (modseqs 3, 4), 4 flagged at 2; HIGHESTMODSEQ 4 is not told by any FETCH.
    expect(
      view.sync(
        snap(
          [
            [1, [], 1],
            [4, ['\\Flagged'], 2],
          ],
          4,
        ),
        true,
        ext,
      ),
    ).toEqual([
      'VANISHED 2:3',
      '2 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ (2))',
      'OK [HIGHESTMODSEQ 4] Highest',
    ]);
    expect(view.highestModseq).toBe(4);
    // A flag set and cleared again by someone else: same flags, new modseq — still told under CONDSTORE.
    expect(
      view.sync(
        snap(
          [
            [1, [], 5],
            [4, ['\\Flagged'], 2],
          ],
          5,
        ),
        true,
        ext,
      ),
    ).toEqual(['1 FETCH (UID 1 FLAGS () MODSEQ (5))']);
  });

  it('keeps EXPUNGE and plain FETCH FLAGS without the extensions, and ghosts where expunges are not allowed', () => {
    const view = new MailboxView(
      'INBOX',
      false,
      snap(
        [
          [1, [], 1],
          [2, [], 1],
          [3, [], 1],
        ],
        1,
      ),
    );
    const none = { condstore: false, qresync: false };
    expect(
      view.sync(
        snap(
          [
            [1, [], 1],
            [3, ['\\Seen'], 3],
          ],
          3,
        ),
        false,
        none,
      ),
    ).toEqual(['3 FETCH (FLAGS (\\Seen))']);
    expect(view.dirty).toBe(true);
    expect(
      view.sync(
        snap(
          [
            [1, [], 4],
            [3, ['\\Seen'], 3],
          ],
          4,
        ),
        true,
        none,
      ),
    ).toEqual(['2 EXPUNGE']);
  });
});

describe('VANISHED (EARLIER) sets', () => {
  const view = new MailboxView('INBOX', false, {
    uidValidity: 1,
    uidNext: 20,
    messages: [2, 5, 6, 9].map((uid) => ({ uid, flags: [], modseq: 1, size: 1, internalDate: new Date(0) })),
    recent: new Set(),
    keywords: [],
    highestModseq: 30,
  });
  // Only expungedSince is used: the folder's log answers, or says it does not reach back that far.
  const storeWith = (log: number[] | null) => ({ expungedSince: async () => log }) as unknown as MailStore;

  it('lists the logged UIDs inside the asked set', async () => {
    expect(await vanishedSince(storeWith([1, 3, 4, 12]), view, parseSeqSet(R('3:*')), 10)).toBe('3:4,12');
    expect(await vanishedSince(storeWith([]), view, null, 10)).toBe('');
  });

  it('falls back to every UID below UIDNEXT that is not there, as ranges', async () => {
    expect(await vanishedSince(storeWith(null), view, null, 1)).toBe('1,3:4,7:8,10:19');
    expect(await vanishedSince(storeWith(null), view, parseSeqSet(R('4:7,1,6:12,900')), 1)).toBe(
      '1,4,7:8,10:12',
    );
  });
});
