// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 3501 §6.3.3–§6.3.7),
// CREATE with USE (RFC 6154 §3, CREATE-SPECIAL-USE).
import { SPECIAL_USE } from '@postamt/maildir';
import { ParseError } from '../protocol/reader.js';
import { no, R } from '../responses.js';
import { AUTHED, defineCommand } from './command.js';
import { mailboxArg } from './util.js';

export const create = defineCommand({
  name: 'CREATE',
  states: AUTHED,
  parse(r, ctx) {
    r.sp();
    const name = mailboxArg(r, ctx);
    let use: string | null = null;
    if (r.take(' ')) {
      // create-param = "USE" SP "(" use-attr *(SP use-attr) ")" (RFC 6154 §6)
      r.expect('(');
      if (!r.keyword('USE')) throw new ParseError('unknown CREATE parameter');
      r.sp();
      const uses = r.list(() => (r.take('\\') ? `\\${r.atom()}` : r.atom()));
      r.expect(')');
      use = uses[0] ?? null;
    }
    return { name, use };
  },
  async handle(_session, { name, use }, state) {
    // The Maildir store gives special use by name (Sent, Drafts, Junk, Trash, Archive),
    // so USE is accepted only where it agrees with the name (RFC 6154 §3 allows refusing).
    if (use && SPECIAL_USE[name]?.toLowerCase() !== use.toLowerCase())
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
  async handle(_session, { from, to }, state) {
    await state.store.renameFolder(from, to);
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
