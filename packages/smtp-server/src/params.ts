// MAIL FROM and RCPT TO parameters (RFC 5321 §4.1.2 esmtp-param), for the
// extensions we advertise: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8
// (RFC 6531), RET/ENVID and NOTIFY/ORCPT (DSN, RFC 3461). Pure functions.
// A keyword we do not know is refused with 555 (RFC 5321 §4.1.1.11); a known
// keyword with a bad value or given twice with 501.

import { Replies, type SmtpReply } from './replies.js';

export type BodyType = '7BIT' | '8BITMIME';
export type NotifyType = 'NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY';

export interface MailParams {
  /** Declared message size in octets (RFC 1870 §6). */
  size?: number;
  body?: BodyType;
  smtputf8: boolean;
  ret?: 'FULL' | 'HDRS';
  /** Decoded from xtext (RFC 3461 §4). */
  envid?: string;
}

export interface RcptParams {
  notify?: NotifyType[];
  /** `addr-type;address`, decoded from xtext (RFC 3461 §4.2). */
  orcpt?: string;
}

type Fail = { ok: false; reply: SmtpReply };
export type ParamResult<T> = { ok: true; params: T } | Fail;

const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// esmtp-value: any printable except "=" and SP (RFC 5321 §4.1.2), UTF-8 allowed (RFC 6531 §3.3).
const VALUE = /^[\x21-\x3c\x3e-\x7e\u0080-\u{10ffff}]+$/u;

/** RFC 3461 §4: xtext = *( xchar / "+" 2HEXCHAR ); null when malformed. */
export function decodeXtext(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 2;
    } else if (c >= 0x21 && c <= 0x7e && c !== 0x3d) {
      out += s[i];
    } else {
      return null;
    }
  }
  return out;
}

/** Splits `A=1 B C=x` into keyword/value pairs; keywords upper-cased. Null on bad syntax. */
export function splitParams(s: string): Map<string, string | undefined> | null | 'duplicate' {
  const out = new Map<string, string | undefined>();
  for (const token of s.split(' ')) {
    if (token === '') continue;
    const eq = token.indexOf('=');
    const key = (eq < 0 ? token : token.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? undefined : token.slice(eq + 1);
    if (!KEYWORD.test(key) || (value !== undefined && !VALUE.test(value))) return null;
    if (out.has(key)) return 'duplicate';
    out.set(key, value);
  }
  return out;
}

const bad: Fail = { ok: false, reply: Replies.badParameter };
const unknown = (key: string): Fail => ({
  ok: false,
  reply: { ...Replies.unknownParameter, text: `${Replies.unknownParameter.text}: ${key}` },
});

export function parseMailParams(s: string): ParamResult<MailParams> {
  const map = splitParams(s);
  if (map === null || map === 'duplicate') return bad;
  const p: MailParams = { smtputf8: false };
  for (const [key, value] of map) {
    switch (key) {
      case 'SIZE':
        // RFC 1870 §6: size-value = 1*20DIGIT.
        if (!value || !/^\d{1,20}$/.test(value)) return bad;
        p.size = Number(value);
        break;
      case 'BODY': {
        const v = value?.toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME') return bad;
        p.body = v;
        break;
      }
      case 'SMTPUTF8':
        if (value !== undefined) return bad;
        p.smtputf8 = true;
        break;
      case 'RET': {
        const v = value?.toUpperCase();
        if (v !== 'FULL' && v !== 'HDRS') return bad;
        p.ret = v;
        break;
      }
      case 'ENVID': {
        // RFC 3461 §4.4: at most 100 characters.
        const v = value === undefined ? null : decodeXtext(value);
        if (v === null || v.length === 0 || v.length > 100) return bad;
        p.envid = v;
        break;
      }
      default:
        return unknown(key);
    }
  }
  return { ok: true, params: p };
}

export function parseRcptParams(s: string): ParamResult<RcptParams> {
  const map = splitParams(s);
  if (map === null || map === 'duplicate') return bad;
  const p: RcptParams = {};
  for (const [key, value] of map) {
    switch (key) {
      case 'NOTIFY': {
        // RFC 3461 §4.1: "NEVER" alone, or a list of SUCCESS, FAILURE, DELAY.
        const items = (value ?? '').toUpperCase().split(',');
        const allowed = ['NEVER', 'SUCCESS', 'FAILURE', 'DELAY'];
        if (!items.every((i) => allowed.includes(i)) || new Set(items).size !== items.length) return bad;
        if (items.includes('NEVER') && items.length > 1) return bad;
        p.notify = items as NotifyType[];
        break;
      }
      case 'ORCPT': {
        // RFC 3461 §4.2: addr-type ";" xtext.
        const semi = value?.indexOf(';') ?? -1;
        if (!value || semi <= 0) return bad;
        const type = value.slice(0, semi);
        const addr = decodeXtext(value.slice(semi + 1));
        if (!KEYWORD.test(type) || !addr || addr.length > 500) return bad;
        p.orcpt = `${type};${addr}`;
        break;
      }
      default:
        return unknown(key);
    }
  }
  return { ok: true, params: p };
}
