// clamd's reply to INSTREAM, parsed into a value (pure; tested without sockets).
//
//   "stream: OK"                                   clean
//   "stream: <signature> FOUND"                    infected
//   "stream: Heuristics.Limits.Exceeded.* FOUND"   a scan limit was hit (needs
//                                                  AlertExceedsMax yes): policy, not a virus
//   "INSTREAM size limit exceeded. ERROR"          more than StreamMaxLength sent
//   "<anything> ERROR"                             clamd could not scan
// The reply ends with NUL for z-prefixed commands (clamd(8), "z" commands).

export type ClamdStatus = 'clean' | 'infected' | 'limit' | 'error';

export interface ClamdResult {
  status: ClamdStatus;
  /** Signature name for `infected`, limit name for `limit`. */
  signature?: string;
  /** Why an `error` happened, in words for the log (never for a reply). */
  detail?: string;
  /** True when only the first `maxBytes` of the message were scanned. */
  truncated?: boolean;
  /** The reply as received, without the trailing NUL. */
  raw: string;
}

const LIMITS = /^Heuristics\.Limits\.Exceeded/;

export function parseClamdReply(raw: string): ClamdResult {
  // An id prefix ("1: stream: ...") with IDSESSION says nothing about the message: dropped.
  const text = raw
    .replace(/\0+$/, '')
    .trim()
    .replace(/^\d+: /, '');
  // "stream: " on INSTREAM.
  const body = text.replace(/^stream: /, '');
  if (body === 'OK') return { status: 'clean', raw: text };
  const found = /^(.+) FOUND$/.exec(body);
  if (found) {
    const signature = found[1] as string;
    return { status: LIMITS.test(signature) ? 'limit' : 'infected', signature, raw: text };
  }
  if (/size limit exceeded/i.test(body)) return { status: 'limit', signature: 'StreamMaxLength', raw: text };
  return { status: 'error', detail: text.length > 0 ? text : 'empty reply', raw: text };
}
