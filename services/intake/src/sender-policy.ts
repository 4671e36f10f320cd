// Who an authenticated user may send as (issue 6): their own address (with
// any +detail) or an alias whose expansion reaches them — as Postfix's
// reject_sender_login_mismatch with a login map built from the directory.
// A catch-all is not an alias the user owns, and `<>` belongs to nobody.
// The header part reads the From and Sender fields (RFC 5322 §3.6.2) out of
// the message head; a message without From cannot be checked and is refused.
import { addressKey, type Directory } from '@postamt/directory';

export type SenderPolicy = 'strict' | 'envelope' | 'off';

export async function maySendAs(directory: Directory, user: string, address: string): Promise<boolean> {
  const own = addressKey(user);
  if (!own || !addressKey(address)) return false;
  const r = await directory.resolve(address);
  if (r.kind === 'user') return r.user.key === own;
  if (r.kind === 'alias' && !r.catchAll) {
    const expanded = await directory.expand(address);
    return expanded.local.some((u) => u.key === own);
  }
  return false;
}

/** The unfolded value of every `name` field in a header block. */
export function headerFields(head: string, name: string): string[] {
  const unfolded = head.replace(/\r?\n[ \t]/g, ' ');
  const out: string[] = [];
  const re = new RegExp(`^${name}[ \\t]*:(.*)$`, 'gim');
  for (let m = re.exec(unfolded); m; m = re.exec(unfolded)) out.push((m[1] ?? '').trim());
  return out;
}

/**
 * The addr-specs of an address-list (RFC 5322 §3.4): `Name <a@b>, c@d`.
 * Display names and comments are dropped first, so their commas and angle
 * brackets cannot fake an address. Null when an entry has no address.
 */
export function parseAddressList(value: string): string[] | null {
  const text = value
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\((?:[^()\\]|\\.)*\)/g, ' ')
    // Group syntax (`undisclosed: a@b;`): keep the members.
    .replace(/^[^<>@,]*:/, '')
    .replace(/;\s*$/, '');
  const out: string[] = [];
  for (const part of text.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const angle = /<([^<>]*)>/.exec(p);
    const addr = (angle ? angle[1] : p)?.trim() ?? '';
    if (!/^[^\s@<>]+@[^\s@<>]+$/.test(addr)) return null;
    out.push(addr);
  }
  return out.length > 0 ? out : null;
}

/** Null when every From and Sender address of the head may be used by `user`; else the offending text. */
export async function headerSenderProblem(
  directory: Directory,
  user: string,
  head: string,
): Promise<string | null> {
  const from = headerFields(head, 'From');
  if (from.length !== 1) return from.length === 0 ? 'no From field' : 'several From fields';
  for (const value of [...from, ...headerFields(head, 'Sender')]) {
    const addresses = parseAddressList(value);
    if (!addresses) return `unparsable address list: ${value.slice(0, 200)}`;
    for (const a of addresses) if (!(await maySendAs(directory, user, a))) return a;
  }
  return null;
}
