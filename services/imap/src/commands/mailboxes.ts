// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 3501 §6.3.3–§6.3.7),
// CREATE with USE (RFC 6154 §3, CREATE-SPECIAL-USE). DELETE of a folder with
// children removes it and its messages; the name stays, \Noselect, while
// the children exist (§6.3.4; the store lists it so). RENAME INBOX moves its
// messages to the new name and leaves INBOX, empty, with its children (§6.3.5).
// A session whose selected folder is renamed stays on it under the new name.
import { SPECIAL_USE } from '@postamt/maildir';
import { DELIMITER, InvalidMailboxName, mailboxFromWire } from '../protocol/mailbox-name.js';
import { ParseError, type Reader } from '../protocol/reader.js';
import { no, R } from '../responses.js';
import { AUTHED, defineCommand } from './command.js';
import { mailboxArg } from './util.js';

/**
 * RFC 3501 §6.3.3: a name suffixed with the delimiter announces that the
 * client means to create names under it; the name without it is created.
 */
function createName(r: Reader, ctx: { utf8: boolean }): string {
  let wire = r.astring();
  if (wire.length > 1 && wire[wire.length - 1] === DELIMITER.charCodeAt(0)) wire = wire.subarray(0, -1);
  const res = mailboxFromWire(wire, ctx.utf8);
  if (!res.ok) throw new InvalidMailboxName();
  return res.name;
}

export const create = defineCommand({
  name: 'CREATE',
  states: AUTHED,
  parse(r, ctx) {
    r.sp();
    const name = createName(r, ctx);
    let uses: string[] = [];
    if (r.take(' ')) {
      // create-param = "USE" SP "(" use-attr *(SP use-attr) ")" (RFC 6154 §6)
      r.expect('(');
      if (!r.keyword('USE')) throw new ParseError('unknown CREATE parameter');
      r.sp();
      uses = r.list(() => (r.take('\\') ? `\\${r.atom()}` : r.atom()));
      r.expect(')');
    }
    return { name, uses };
  },
  async handle(_session, { name, uses }, state) {
    // The Maildir store gives special use by name (Sent, Drafts, Junk, Trash, Archive),
    // so USE is accepted only where it agrees with the name; a folder has one use, so
    // any other attribute in the list cannot be assigned (RFC 6154 §3: NO [USEATTR]).
    if (uses.some((u) => SPECIAL_USE[name]?.toLowerCase() !== u.toLowerCase()))
      return no('Special-use attribute not supported for this name', 'USEATTR');
    await state.store.createFolder(name);
    return R.done;
  },
});

export const del = defineCommand({
  name: 'DELETE',
  states: AUTHED,
  parse(r, ctx) {
    r.sp();
    return mailboxArg(r, ctx);
  },
  async handle(_session, name, state) {
    if (state.kind === 'selected' && state.mailbox.name === name) return no('Mailbox is selected', 'CANNOT');
    await state.store.deleteFolder(name);
    return R.done;
  },
});

export const rename = defineCommand({
  name: 'RENAME',
  states: AUTHED,
  parse(r, ctx) {
    r.sp();
    const from = mailboxArg(r, ctx);
    r.sp();
    return { from, to: mailboxArg(r, ctx) };
  },
  async handle(session, { from, to }, state) {
    await state.store.renameFolder(from, to);
    // The selected folder (or one under the renamed name) moved with its UIDs: the session goes
    // on with it under its new name, as Dovecot's does. RENAME INBOX leaves INBOX where it is.
    const now = session.state;
    if (now.kind === 'selected' && from !== 'INBOX') {
      const name = now.mailbox.name;
      if (name === from || name.startsWith(`${from}${DELIMITER}`))
        now.mailbox.renamed(`${to}${name.slice(from.length)}`);
    }
    return R.done;
  },
});

const sub = (name: string, on: boolean) =>
  defineCommand({
    name,
    states: AUTHED,
    parse(r, ctx) {
      r.sp();
      return mailboxArg(r, ctx);
    },
    async handle(_session, mailbox, state) {
      await state.store.setSubscribed(mailbox, on);
      return R.done;
    },
  });

export const subscribe = sub('SUBSCRIBE', true);
export const unsubscribe = sub('UNSUBSCRIBE', false);
