// SELECT and EXAMINE (RFC 3501 §6.3.1, §6.3.2). Selecting again first
// deselects without expunge (§6.3.1: "closed ... without expunge").
import { MailboxView } from '../mailbox-view.js';
import { mailboxToWire } from '../protocol/mailbox-name.js';
import { encode } from '../protocol/serialize.js';
import { ok, type Status } from '../responses.js';
import type { Session } from '../session.js';
import { AUTHED, type Context, defineCommand } from './command.js';
import { mailboxArg } from './util.js';

const SYSTEM = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

/** FLAGS and PERMANENTFLAGS (RFC 3501 §7.2.6, §7.1): at SELECT and when a STORE defines a keyword. */
export async function announceFlags(session: Session, keywords: string[], readOnly: boolean): Promise<void> {
  const flags = [...SYSTEM, ...keywords];
  await session.untagged(`FLAGS (${flags.join(' ')})`);
  await session.untagged(
    `OK [PERMANENTFLAGS (${readOnly ? '' : `${flags.join(' ')} \\*`})] Flags permitted.`,
  );
}

async function open(session: Session, name: string, readOnly: boolean): Promise<Status> {
  const state = session.state;
  if (state.kind !== 'authenticated' && state.kind !== 'selected') throw new Error('unreachable');
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
  session.state = { kind: 'selected', user, store, mailbox: view };
  session.log.debug({ mailbox: encode(mailboxToWire(name)).toString() }, 'selected');
  return ok(readOnly ? 'Examined' : 'Selected', readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

const parse = (r: Parameters<typeof mailboxArg>[0], ctx: Context) => {
  r.sp();
  return mailboxArg(r, ctx);
};

export const select = defineCommand({
  name: 'SELECT',
  states: AUTHED,
  parse,
  handle: (session, name) => open(session, name, false),
});

export const examine = defineCommand({
  name: 'EXAMINE',
  states: AUTHED,
  parse,
  handle: (session, name) => open(session, name, true),
});
