// APPEND (RFC 3501 §6.3.11) with APPENDUID (RFC 4315 §3). The literal was
// read by the session's framing, capped at APPENDLIMIT. A missing mailbox
// gets NO [TRYCREATE].
import { parseDateTime, parseFlagList } from '../protocol/flags.js';
import { ok, targetMustExist } from '../responses.js';
import { AUTHED, defineCommand } from './command.js';
import { mailboxArg, syncMailbox } from './util.js';

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
    return { name, flags, date, data: r.literal() };
  },
  async handle(session, { name, flags, date, data }, state) {
    const res = await targetMustExist(state.store.append(name, data, flags, date));
    if (state.kind === 'selected' && state.mailbox.name === name) await syncMailbox(session, true, true);
    return ok('Appended', `APPENDUID ${res.uidValidity} ${res.uid}`);
  },
});
