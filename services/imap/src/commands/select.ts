// SELECT and EXAMINE (RFC 3501 §6.3.1, §6.3.2). Selecting again first
// deselects without expunge (§6.3.1: "closed ... without expunge").
// RFC 7162: (CONDSTORE) enables CONDSTORE, and then HIGHESTMODSEQ is part of
// every SELECT (modseqs are always persistent here, so never NOMODSEQ).
// (QRESYNC (uidvalidity modseq [known-uids [seq-match]])) — QRESYNC must be
// enabled — resynchronises in the same round trip when UIDVALIDITY still
// holds: VANISHED (EARLIER) for the known UIDs expunged since, then a FETCH
// for every message changed since. seq-match-data only helps servers that
// must guess which UIDs are gone; vanishedSince answers with ranges, so it is
// parsed and not needed.
import { MailboxView } from '../mailbox-view.js';
import { mailboxToWire } from '../protocol/mailbox-name.js';
import type { Reader } from '../protocol/reader.js';
import { parseSelectParams, type SelectParams } from '../protocol/select-args.js';
import { encode } from '../protocol/serialize.js';
import { bad, ok, type Status } from '../responses.js';
import type { Session } from '../session.js';
import { AUTHED, type Context, defineCommand } from './command.js';
import { vanishedSince } from './fetch.js';
import { extensions, mailboxArg } from './util.js';

const SYSTEM = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

/** FLAGS and PERMANENTFLAGS (RFC 3501 §7.2.6, §7.1): at SELECT and when a STORE defines a keyword. */
export async function announceFlags(
  session: Session,
  keywords: readonly string[],
  readOnly: boolean,
): Promise<void> {
  const flags = [...SYSTEM, ...keywords];
  await session.untagged(`FLAGS (${flags.join(' ')})`);
  await session.untagged(
    `OK [PERMANENTFLAGS (${readOnly ? '' : `${flags.join(' ')} \\*`})] Flags permitted.`,
  );
}

async function open(
  session: Session,
  name: string,
  readOnly: boolean,
  params: SelectParams,
): Promise<Status> {
  const state = session.state;
  if (state.kind !== 'authenticated' && state.kind !== 'selected') throw new Error('unreachable');
  if (params.qresync && !session.enabled.has('QRESYNC')) return bad('Enable QRESYNC first');
  if (params.condstore) session.enabled.add('CONDSTORE');
  const { user, store } = state;
  // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
  session.state = { kind: 'authenticated', user, store };
  if (state.kind === 'selected') await session.status('*', ok('Previous mailbox closed', 'CLOSED'));
  const snap = await store.open(name, !readOnly);
  const view = new MailboxView(name, readOnly, snap);
  await announceFlags(session, snap.keywords, readOnly);
  await session.untagged(`${view.exists} EXISTS`);
  await session.untagged(`${view.recent.size} RECENT`);
  const firstUnseen = snap.messages.findIndex((m) => !m.flags.includes('\\Seen'));
  if (firstUnseen >= 0) await session.untagged(`OK [UNSEEN ${firstUnseen + 1}] First unseen`);
  await session.untagged(`OK [UIDVALIDITY ${snap.uidValidity}] UIDs valid`);
  await session.untagged(`OK [UIDNEXT ${snap.uidNext}] Predicted next UID`);
  const ext = extensions(session);
  if (ext.condstore) await session.untagged(`OK [HIGHESTMODSEQ ${snap.highestModseq}] Highest`);
  session.state = { kind: 'selected', user, store, mailbox: view };
  const q = params.qresync;
  if (q && q.uidValidity === snap.uidValidity) {
    const gone = await vanishedSince(store, view, q.knownUids, q.modseq);
    if (gone) await session.untagged(`VANISHED (EARLIER) ${gone}`);
    const lines: string[] = [];
    for (const m of snap.messages) {
      if (m.modseq > q.modseq) lines.push(view.flagsLine(m.uid, ext, true));
      if (lines.length >= 1000) await session.untaggedMany(lines.splice(0));
    }
    await session.untaggedMany(lines);
  }
  session.log.debug({ mailbox: encode(mailboxToWire(name)).toString() }, 'selected');
  return ok(readOnly ? 'Examined' : 'Selected', readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

const parse = (r: Reader, ctx: Context) => {
  r.sp();
  const name = mailboxArg(r, ctx);
  return { name, params: parseSelectParams(r) };
};

export const select = defineCommand({
  name: 'SELECT',
  states: AUTHED,
  parse,
  handle: (session, { name, params }) => open(session, name, false, params),
});

export const examine = defineCommand({
  name: 'EXAMINE',
  states: AUTHED,
  parse,
  handle: (session, { name, params }) => open(session, name, true, params),
});
