// APPEND (RFC 3501 §6.3.11) with APPENDUID (RFC 4315 §3) and, after ENABLE
// UTF8=ACCEPT, the UTF8 data item (RFC 6855 §4) for messages with 8-bit
// headers. The literal was read by the session's framing, capped at
// APPENDLIMIT. A missing mailbox gets NO [TRYCREATE]. The store parses the
// message once, here, and keeps its summary for FETCH.
import { parseDateTime, parseFlagList } from '../protocol/flags.js';
import { ParseError, type Reader } from '../protocol/reader.js';
import { ok, targetMustExist } from '../responses.js';
import { AUTHED, defineCommand } from './command.js';
import { mailboxArg, syncMailbox } from './util.js';

/**
 * append-data = literal / "UTF8" SP "(" literal8 ")" (RFC 6855 §4), where
 * literal8 = "~{" number ["+"] "}" CRLF *OCTET (RFC 3516 §4.2, RFC 7888).
 */
function appendData(r: Reader, utf8: boolean): Buffer {
  if (!r.keyword('UTF8')) return r.literal();
  // RFC 6855 §4: the UTF8 item is BAD unless the client enabled UTF8=ACCEPT.
  if (!utf8) throw new ParseError('UTF8 APPEND without ENABLE UTF8=ACCEPT');
  r.sp();
  r.expect('(');
  r.expect('~');
  const data = r.literal();
  r.expect(')');
  return data;
}

export const append = defineCommand({
  name: 'APPEND',
  states: AUTHED,
  parse(r, ctx) {
    r.sp();
    const name = mailboxArg(r, ctx);
    r.sp();
    let flags: string[] = [];
    let date: Date | null = null;
    if (r.peek() === 0x28) {
      flags = parseFlagList(r);
      r.sp();
    }
    if (r.peek() === 0x22) {
      date = parseDateTime(r);
      r.sp();
    }
    return { name, flags, date, data: appendData(r, ctx.utf8) };
  },
  async handle(session, { name, flags, date, data }, state) {
    const res = await targetMustExist(state.store.append(name, data, flags, date));
    if (state.kind === 'selected' && state.mailbox.name === name) await syncMailbox(session, true, true);
    return ok('Appended', `APPENDUID ${res.uidValidity} ${res.uid}`);
  },
});
