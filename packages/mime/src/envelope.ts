// ENVELOPE rendering, RFC 3501 §7.4.2:
//   (date subject from sender reply-to to cc bcc in-reply-to message-id)
// Sender and Reply-To default to From (RFC 3501 §7.4.2: "the server MUST
// default"). Strings are the raw header values (encoded words and 8-bit bytes
// are passed through, RFC 3501 leaves decoding to the client); subject and
// personal names are compacted for humans, the rest only unfolded.

import type { Address, EnvelopeData } from './types.js';
import { nstring, nstringNoLf, stringForHumans } from './wire.js';

function addresses(list: Address[]): string {
  if (list.length === 0) return 'NIL';
  let out = '(';
  for (const a of list) {
    out += `(${a.name === null ? 'NIL' : stringForHumans(a.name)} ${nstring(a.route)} ${nstring(a.mailbox)} ${nstring(a.domain)})`;
  }
  return `${out})`;
}

/** The ENVELOPE list without its outer parentheses. */
export function renderEnvelope(e: EnvelopeData | undefined): string {
  if (!e) return 'NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL';
  const from = e.from;
  return [
    nstringNoLf(e.date),
    e.subject === null ? 'NIL' : stringForHumans(e.subject),
    addresses(from),
    addresses(e.sender.length > 0 ? e.sender : from),
    addresses(e.replyTo.length > 0 ? e.replyTo : from),
    addresses(e.to),
    addresses(e.cc),
    addresses(e.bcc),
    nstringNoLf(e.inReplyTo),
    nstringNoLf(e.messageId),
  ].join(' ');
}
