// LIST and LSUB (RFC 3501 §6.3.8, §6.3.9) with LIST-EXTENDED selection and
// RETURN options (RFC 5258), SPECIAL-USE (RFC 6154), CHILDREN (RFC 3348)
// and LIST-STATUS (RFC 5819). Hierarchy delimiter ".".
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
  const attrs: string[] = [];
  attrs.push(f.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
  if (f.specialUse) attrs.push(f.specialUse);
  if (args.lsub ? false : args.ret.has('SUBSCRIBED') || args.select.has('SUBSCRIBED')) {
    if (f.subscribed) attrs.push('\\Subscribed');
  }
  return attrs;
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
  for (const f of folders) {
    if (!regexes.some((re) => re.test(f.name))) continue;
    if ((args.lsub || args.select.has('SUBSCRIBED')) && !f.subscribed) continue;
    if (args.select.has('SPECIAL-USE') && !f.specialUse) continue;
    const attrs = attributes(f, args);
    const wire = encode(astring(mailboxToWire(f.name, session.enabled.has('UTF8=ACCEPT')))).toString(
      'latin1',
    );
    await session.untagged(`${verb} (${attrs.join(' ')}) "${DELIMITER}" ${wire}`);
    if (args.statusItems) await statusLine(session, store, f.name, args.statusItems);
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
