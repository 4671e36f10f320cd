// NAMESPACE (RFC 2342), ID (RFC 2971), ENABLE (RFC 5161), GETQUOTAROOT and
// GETQUOTA (RFC 9208): small commands that only report.
import { ParseError } from '../protocol/reader.js';
import { no, R } from '../responses.js';
import { ANY, AUTHED, defineCommand } from './command.js';
import { mailboxArg } from './util.js';

export const namespace = defineCommand({
  name: 'NAMESPACE',
  states: AUTHED,
  parse: () => null,
  async handle(session) {
    await session.untagged('NAMESPACE (("" ".")) NIL NIL');
    return R.done;
  },
});

export const id = defineCommand({
  name: 'ID',
  states: ANY,
  parse(r) {
    r.sp();
    if (r.keyword('NIL')) return null;
    // RFC 2971 §3.3: at most 30 pairs; values are logged, never echoed.
    const fields = r.list(() => r.nstring()?.toString('utf8') ?? null);
    if (fields.length > 60 || fields.length % 2) throw new ParseError('bad ID list');
    return fields;
  },
  async handle(session, fields) {
    if (fields) session.log.debug({ id: fields.slice(0, 20) }, 'client ID');
    await session.untagged('ID ("name" "Postamt")');
    return R.done;
  },
});

/**
 * RFC 6855 UTF8=ACCEPT: UTF-8 mailbox names (and quoted strings) from here on.
 * RFC 7162 CONDSTORE: MODSEQ in flag-change FETCHes; QRESYNC (which implies
 * CONDSTORE, §3.2.3) VANISHED instead of EXPUNGE and SELECT (QRESYNC ...).
 */
const ENABLEABLE = ['UTF8=ACCEPT', 'CONDSTORE', 'QRESYNC'];

export const enable = defineCommand({
  name: 'ENABLE',
  states: AUTHED,
  parse(r) {
    const caps: string[] = [];
    while (r.take(' ')) caps.push(r.atom().toUpperCase());
    if (!caps.length) throw new ParseError('ENABLE needs a capability');
    return caps;
  },
  async handle(session, caps) {
    // RFC 5161 §3.1: list only what this command newly enabled; unknown names are ignored.
    const now = caps.filter((c) => ENABLEABLE.includes(c) && !session.enabled.has(c));
    for (const c of now) session.enabled.add(c);
    if (now.includes('QRESYNC')) session.enabled.add('CONDSTORE');
    await session.untagged(`ENABLED${now.map((c) => ` ${c}`).join('')}`);
    return R.done;
  },
});

async function quotaLines(store: import('../store.js').MailStore): Promise<string | null> {
  const q = await store.quota();
  return q ? `QUOTA "" (STORAGE ${q.usedKiB} ${q.limitKiB})` : null;
}

export const getquotaroot = defineCommand({
  name: 'GETQUOTAROOT',
  states: AUTHED,
  parse(r, ctx) {
    r.sp();
    return mailboxArg(r, ctx);
  },
  async handle(session, _name, state) {
    const line = await quotaLines(state.store);
    // RFC 9208 §4.3.2: one root "" for the whole account, or none.
    await session.untagged(line ? 'QUOTAROOT INBOX ""' : 'QUOTAROOT INBOX');
    if (line) await session.untagged(line);
    return R.done;
  },
});

export const getquota = defineCommand({
  name: 'GETQUOTA',
  states: AUTHED,
  parse(r) {
    r.sp();
    return r.astringText();
  },
  async handle(session, root, state) {
    const line = root === '' ? await quotaLines(state.store) : null;
    if (!line) return no('No such quota root', 'NONEXISTENT');
    await session.untagged(line);
    return R.done;
  },
});
