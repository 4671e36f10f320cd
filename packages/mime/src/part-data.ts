// Content-* header fields of one part (RFC 2045 §5 Content-Type, §6
// Content-Transfer-Encoding, §7 Content-ID, §8 Content-Description, RFC 1864
// Content-MD5, RFC 2183 Content-Disposition, RFC 3282 Content-Language,
// RFC 2557 Content-Location) and the ENVELOPE fields (RFC 3501 §7.4.2).
//
// The first occurrence of each Content-* field wins. Address fields that occur
// more than once are merged, as if comma-separated (the safe reading: a client
// cannot be shown a From other than the one that was checked). For the other
// envelope fields the last occurrence wins. Without MIME-Version or
// Content-Type the Content-* fields are ignored (RFC 2045 §4).

import { parseAddressList } from './address.js';
import type { RawField } from './message-parser.js';
import { Rfc822Parser } from './rfc822-tokens.js';
import { parseParams } from './rfc2231.js';
import { type EnvelopeData, type PartData, PartFlag } from './types.js';

export function emptyPartData(): PartData {
  return {
    type: null,
    subtype: null,
    params: [],
    id: null,
    description: null,
    encoding: null,
    md5: null,
    disposition: null,
    dispositionParams: null,
    language: null,
    location: null,
  };
}

/** NUL bytes in header strings are shown as U+FFFD (UTF-8 EF BF BD). */
export const nulToReplacement = (s: string): string =>
  s.includes('\0') ? s.replaceAll('\0', '\xef\xbf\xbd') : s;

export function parsePartData(fields: RawField[], flags: number): PartData {
  const d = emptyPartData();
  if (!(flags & PartFlag.IS_MIME)) return d;
  for (const f of fields) {
    const name = f.name.toLowerCase();
    if (!name.startsWith('content-')) continue;
    const v = f.value;
    switch (name.slice(8)) {
      case 'id':
        d.id ??= nulToReplacement(v);
        break;
      case 'md5':
        d.md5 ??= nulToReplacement(v);
        break;
      case 'type':
        if (d.type === null) contentType(d, v);
        break;
      case 'transfer-encoding':
        if (d.encoding === null) transferEncoding(d, v);
        break;
      case 'language':
        if (d.language === null) language(d, v);
        break;
      case 'location':
        d.location ??= nulToReplacement(v);
        break;
      case 'description':
        d.description ??= nulToReplacement(v);
        break;
      case 'disposition':
        if (d.dispositionParams === null) disposition(d, v);
        break;
    }
  }
  return d;
}

function contentType(d: PartData, v: string): void {
  const p = new Rfc822Parser(v);
  p.skipLwsp();
  const out = { s: '' };
  const ret = p.contentType(out);
  const slash = out.s.indexOf('/');
  if (ret < 0 || slash < 0) {
    // RFC 2045 §5.2 would default to text/plain; the answer the corpus expects
    // for a syntactically broken Content-Type is an empty type and subtype.
    d.type = '';
    d.subtype = '';
    return;
  }
  d.type = out.s.slice(0, slash);
  d.subtype = out.s.slice(slash + 1);
  d.params = parseParams(p);
}

function transferEncoding(d: PartData, v: string): void {
  const p = new Rfc822Parser(v);
  p.skipLwsp();
  const out = { s: '' };
  if (p.mimeToken(out) >= 0 && p.skipLwsp() === 0 && out.s.length > 0) d.encoding = out.s;
}

function disposition(d: PartData, v: string): void {
  const p = new Rfc822Parser(v);
  p.skipLwsp();
  const out = { s: '' };
  if (p.mimeToken(out) < 0) return;
  d.disposition = out.s;
  d.dispositionParams = parseParams(p);
}

function language(d: PartData, v: string): void {
  const p = new Rfc822Parser(v);
  const langs: string[] = [];
  p.skipLwsp();
  for (;;) {
    const out = { s: '' };
    if (p.atom(out) < 0) break;
    langs.push(out.s);
    if (p.atEnd() || p.cur() !== 0x2c) break;
    p.pos++;
    p.skipLwsp();
  }
  if (langs.length > 0) d.language = langs;
}

export function emptyEnvelope(): EnvelopeData {
  return {
    date: null,
    subject: null,
    from: [],
    sender: [],
    replyTo: [],
    to: [],
    cc: [],
    bcc: [],
    inReplyTo: null,
    messageId: null,
  };
}

const ADDRESS_FIELDS = {
  from: 'from',
  sender: 'sender',
  'reply-to': 'replyTo',
  to: 'to',
  cc: 'cc',
  bcc: 'bcc',
} as const;

const STRING_FIELDS = {
  date: 'date',
  subject: 'subject',
  'in-reply-to': 'inReplyTo',
  'message-id': 'messageId',
} as const;

/** The fields parsePartData and parseEnvelope read; the parser keeps no others. */
export function isIndexedField(lname: string): boolean {
  return lname.startsWith('content-') || ENVELOPE_FIELDS.has(lname);
}

/** The keys of ADDRESS_FIELDS and STRING_FIELDS: asked of every header field of every message indexed. */
const ENVELOPE_FIELDS = new Set<string>([...Object.keys(ADDRESS_FIELDS), ...Object.keys(STRING_FIELDS)]);

export function parseEnvelope(fields: RawField[]): EnvelopeData {
  const e = emptyEnvelope();
  for (const f of fields) {
    const name = f.name.toLowerCase();
    if (Object.hasOwn(ADDRESS_FIELDS, name)) {
      const key = ADDRESS_FIELDS[name as keyof typeof ADDRESS_FIELDS];
      e[key].push(...parseAddressList(f.value));
    } else if (Object.hasOwn(STRING_FIELDS, name)) {
      const key = STRING_FIELDS[name as keyof typeof STRING_FIELDS];
      e[key] = nulToReplacement(f.value);
    }
  }
  return e;
}
