// LIST and LSUB (RFC 3501 §6.3.8, §6.3.9) with LIST-EXTENDED selection and
// RETURN options (RFC 5258, RECURSIVEMATCH with CHILDINFO), SPECIAL-USE (RFC
// 6154), CHILDREN (RFC 3348) and LIST-STATUS (RFC 5819). Hierarchy
// delimiter ".". Subscriptions to names that no longer exist are kept and
// listed (\Noselect / \NonExistent); parents that exist only through their
// children are \Noselect.
import { DELIMITER, mailboxToWire } from '../protocol/mailbox-name.js';
import { decodeMailboxName } from '../protocol/mutf7.js';
import { ParseError, type Reader } from '../protocol/reader.js';
import { astring, encode } from '../protocol/serialize.js';
import { R } from '../responses.js';
import type { Session } from '../session.js';
import type { FolderInfo, MailStore } from '../store.js';
import { AUTHED, defineCommand } from './command.js';
import { parseStatusItems, type StatusItem, statusLine } from './status.js';

interface ListArgs {
  select: Set<string>;
  ref: string;
  patterns: string[];
  ret: Set<string>;
  statusItems: StatusItem[] | null;
  lsub: boolean;
}

/** `*` matches anything, `%` anything but the delimiter (RFC 3501 §6.3.8). */
export function patternToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += `[^${DELIMITER === '.' ? '.' : DELIMITER}]*`;
    else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'su');
}

function decodePattern(b: Buffer, utf8: boolean): string {
  // RFC 6855 §3: after ENABLE UTF8=ACCEPT names are UTF-8, else modified UTF-7 (RFC 3501 §5.1.3).
  if (utf8) return b.toString('utf8');
  const d = decodeMailboxName(b.toString('latin1'));
  if (d === null) throw new ParseError('invalid mailbox pattern');
  return d;
}

function parseList(r: Reader, lsub: boolean, utf8: boolean): ListArgs {
  const args: ListArgs = {
    select: new Set(),
    ref: '',
    patterns: [],
    ret: new Set(),
    statusItems: null,
    lsub,
  };
  r.sp();
  if (!lsub && r.peek() === 0x28) {
    for (const o of r.list(() => r.atom().toUpperCase())) args.select.add(o);
    r.sp();
  }
  args.ref = decodePattern(r.astring(), utf8);
  r.sp();
  if (!lsub && r.peek() === 0x28) args.patterns = r.list(() => decodePattern(r.listMailbox(), utf8), false);
  else args.patterns = [decodePattern(r.listMailbox(), utf8)];
  if (!lsub && r.take(' ')) {
    if (!r.keyword('RETURN')) throw new ParseError('expected RETURN');
    r.sp();
    r.list(() => {
      const o = r.atom().toUpperCase();
      args.ret.add(o);
      if (o === 'STATUS') {
        r.sp();
        args.statusItems = parseStatusItems(r);
      }
      return o;
    });
  }
  for (const o of args.select) {
    if (!['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'].includes(o))
      throw new ParseError('bad option');
  }
  if (args.select.has('RECURSIVEMATCH') && args.select.size === 1)
    throw new ParseError('RECURSIVEMATCH alone');
  return args;
}

function attributes(f: FolderInfo, args: ListArgs): string[] {
  // A name only the subscription list knows: \Noselect for LSUB, \NonExistent for LIST (RFC 5258 §3.4).
  if (f.nonexistent)
    return args.lsub ? ['\\Noselect'] : ['\\NonExistent', ...(f.subscribed ? ['\\Subscribed'] : [])];
  const attrs: string[] = f.noselect ? ['\\Noselect'] : [];
  attrs.push(f.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
  if (f.specialUse) attrs.push(f.specialUse);
  if (args.lsub ? false : args.ret.has('SUBSCRIBED') || args.select.has('SUBSCRIBED')) {
    if (f.subscribed) attrs.push('\\Subscribed');
  }
  return attrs;
}

/**
 * Names with a subscribed descendant that the pattern does not reach ("%"
 * stops at them). LSUB returns such a name \Noselect (RFC 3501 §6.3.9);
 * LIST (SUBSCRIBED RECURSIVEMATCH) returns it with CHILDINFO (RFC 5258 §3.5).
 */
function parentsOfSubscribed(folders: readonly FolderInfo[], matches: (n: string) => boolean): Set<string> {
  const out = new Set<string>();
  for (const f of folders) {
    if (!f.subscribed || matches(f.name)) continue;
    const parts = f.name.split(DELIMITER);
    for (let i = 1; i < parts.length; i++) out.add(parts.slice(0, i).join(DELIMITER));
  }
  return out;
}

async function run(session: Session, args: ListArgs, store: MailStore): Promise<void> {
  const folders = await store.listFolders();
  const verb = args.lsub ? 'LSUB' : 'LIST';
  if (args.patterns.length === 1 && args.patterns[0] === '') {
    // RFC 3501 §6.3.8: empty pattern asks for the delimiter and root.
    await session.untagged(`${verb} (\\Noselect) "${DELIMITER}" ""`);
    return;
  }
  const regexes = args.patterns.map((p) => patternToRegExp(args.ref + p));
  const matches = (name: string) => regexes.some((re) => re.test(name));
  const subscribedOnly = args.lsub || args.select.has('SUBSCRIBED');
  const cut = subscribedOnly ? parentsOfSubscribed(folders, matches) : new Set<string>();
  const all = new Map(folders.map((f) => [f.name, f]));
  for (const name of cut)
    if (!all.has(name))
      all.set(name, { name, specialUse: null, subscribed: false, hasChildren: true, nonexistent: true });
  const utf8 = session.enabled.has('UTF8=ACCEPT');
  for (const f of all.values()) {
    if (!matches(f.name)) continue;
    // RFC 3501 §6.3.9: a subscription outlives its mailbox; plain LIST shows only what exists.
    if (f.nonexistent && !subscribedOnly) continue;
    let extended = '';
    let attrs: string[];
    if (subscribedOnly && !f.subscribed) {
      if (!cut.has(f.name)) continue;
      if (args.lsub) attrs = ['\\Noselect'];
      else if (args.select.has('RECURSIVEMATCH'))
        attrs = f.nonexistent ? ['\\NonExistent'] : attributes(f, args);
      else continue;
    } else attrs = attributes(f, args);
    if (!args.lsub && args.select.has('RECURSIVEMATCH') && cut.has(f.name))
      extended = ' ("CHILDINFO" ("SUBSCRIBED"))';
    if (args.select.has('SPECIAL-USE') && !f.specialUse) continue;
    const wire = encode(astring(mailboxToWire(f.name, utf8), utf8)).toString('latin1');
    await session.untagged(`${verb} (${attrs.join(' ')}) "${DELIMITER}" ${wire}${extended}`);
    // RFC 5819 §1: no STATUS for a \Noselect name.
    if (args.statusItems && !f.noselect && !f.nonexistent)
      await statusLine(session, store, f.name, args.statusItems);
  }
}

export const list = defineCommand({
  name: 'LIST',
  states: AUTHED,
  parse: (r, ctx) => parseList(r, false, ctx.utf8),
  async handle(session, args, state) {
    await run(session, args, state.store);
    return R.done;
  },
});

export const lsub = defineCommand({
  name: 'LSUB',
  states: AUTHED,
  parse: (r, ctx) => parseList(r, true, ctx.utf8),
  async handle(session, args, state) {
    await run(session, args, state.store);
    return R.done;
  },
});
