// SELECT/EXAMINE parameters (RFC 4466 §2.1 select-params) for RFC 7162:
//   CONDSTORE                                              §3.1.8
//   QRESYNC (uidvalidity modseq [known-uids [seq-match]])  §3.2.5
// where seq-match = "(" known-sequence-set SP known-uid-set ")". Pure parse.
import { parseModseq } from './fetch-args.js';
import { ParseError, type Reader } from './reader.js';
import { parseSeqSet, type SeqSet, STAR } from './sequence.js';

export interface QresyncParams {
  uidValidity: number;
  modseq: number;
  /** UIDs the client knows; null: all below UIDNEXT. */
  knownUids: SeqSet | null;
  /** Message numbers and the UIDs the client has for them (a hint; see select.ts). */
  seqMatch: { seqs: SeqSet; uids: SeqSet } | null;
}

export interface SelectParams {
  condstore: boolean;
  qresync: QresyncParams | null;
}

/** A set of UIDs from the client: `*` has no meaning there (RFC 7162 §7 known-uids = sequence-set, no "*"). */
function uidSet(r: Reader): SeqSet {
  const set = parseSeqSet(r);
  if (set.some(([a, b]) => a === STAR || b === STAR)) throw new ParseError('"*" in a known UID set');
  return set;
}

function qresync(r: Reader): QresyncParams {
  r.sp();
  r.expect('(');
  const uidValidity = r.nzNumber();
  r.sp();
  const modseq = parseModseq(r);
  let knownUids: SeqSet | null = null;
  let seqMatch: QresyncParams['seqMatch'] = null;
  const match = () => {
    r.expect('(');
    const seqs = uidSet(r);
    r.sp();
    const uids = uidSet(r);
    r.expect(')');
    return { seqs, uids };
  };
  // [SP known-uids] [SP seq-match-data]
  if (r.take(' ')) {
    if (r.peek() === 0x28) seqMatch = match();
    else {
      knownUids = uidSet(r);
      if (r.take(' ')) seqMatch = match();
    }
  }
  r.expect(')');
  return { uidValidity, modseq, knownUids, seqMatch };
}

/** [SP "(" select-param *(SP select-param) ")"] after the mailbox name. */
export function parseSelectParams(r: Reader): SelectParams {
  const params: SelectParams = { condstore: false, qresync: null };
  if (!r.take(' ')) return params;
  r.list(() => {
    if (r.keyword('CONDSTORE')) params.condstore = true;
    else if (r.keyword('QRESYNC')) {
      if (params.qresync) throw new ParseError('QRESYNC given twice');
      params.qresync = qresync(r);
    } else throw new ParseError('unknown SELECT parameter');
    return null;
  }, false);
  return params;
}
