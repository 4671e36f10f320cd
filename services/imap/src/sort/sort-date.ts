// The sent date of RFC 5256 §2.2 for SORT DATE and THREAD: the Date field as
// a UTC instant in seconds. RFC 5256 says a Date that is missing or cannot be
// parsed falls back to INTERNALDATE; that fallback is the caller's (`0` here
// means "cannot be determined"). Where the RFCs are silent we answer as
// Dovecot does, whose sort order the corpus test compares with:
// - RFC 5322 §3.3 with its obsolete forms: optional day name, 2-digit
//   years (< 70 → 20xx), "." as time separator, CFWS anywhere;
// - zones: ±hhmm, UT/GMT, the US zones of RFC 822, military letters;
//   anything else counts as +0000;
// - an impossible date or time (31 Feb, 25:00) cannot be parsed;
// - the instant is kept as an unsigned 32-bit number of seconds, so a date
//   before 1970 sorts after 2105 (as search's sent-date.ts says for SENT*),
//   and exactly 1970-01-01T00:00:00Z counts as missing.
import { Scanner } from './rfc822-scan.js';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const digits = (s: string) => /^\d+$/.test(s);
const isTimeSep = (c: number) => c === 0x3a || c === 0x2e;

/** Zone offset in minutes (RFC 5322 §3.3, §4.3). */
function zone(t: string): number {
  if (t.length === 5 && (t[0] === '+' || t[0] === '-')) {
    if (!digits(t.slice(1))) return 0;
    const off = Number(t.slice(1, 3)) * 60 + Number(t.slice(3, 5));
    return t[0] === '+' ? off : -off;
  }
  if (t.length === 1) {
    // Military zones, signed the RFC 1123 way (as written, not as RFC 822 got them).
    const c = t.toUpperCase();
    const raw = t.charCodeAt(0);
    if (c < 'J') return (raw - 0x41 + 1) * 60;
    if (c === 'J') return 0;
    if (c <= 'M') return (raw - 0x41) * 60;
    if (c < 'Z') return (0x4d - raw) * 60;
    return 0;
  }
  if (t.length === 3 && t[2] === 'T') {
    const base = { E: -5, C: -6, M: -7, P: -8 }[t[0]?.toUpperCase() as 'E'];
    if (base === undefined) return 0;
    const ds = t[1]?.toUpperCase();
    if (ds === 'D') return (base + 1) * 60;
    if (ds === 'S') return base * 60;
  }
  return 0;
}

/** Seconds since the epoch (unsigned 32-bit) of a Date field value; 0 when it cannot be determined. */
export function sortDate(value: string | null): number {
  if (value === null) return 0;
  const t = parse(value);
  if (t === null) return 0;
  return ((t % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

/** The common RFC 5322 form, which the full parser below reads the same way. */
const PLAIN = /^(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})$/;

function parse(value: string): number | null {
  const m = PLAIN.exec(value);
  if (m) {
    const month = MONTHS.indexOf((m[2] as string).toLowerCase());
    if (month >= 0 && Number(m[3]) >= 1900)
      return valid(
        Number(m[3]),
        month,
        Number(m[1]),
        Number(m[4]),
        Number(m[5]),
        Number(m[6]),
        zone(m[7] as string),
      );
  }
  const p = new Scanner(value);
  const tok = { s: '' };
  /** 1: a token, 0: none (end), -1: something that is not a token. */
  const next = (): number => {
    tok.s = '';
    if (p.pos >= value.length) return 0;
    return p.atom(tok) < 0 ? -1 : tok.s.length > 0 ? 1 : 0;
  };
  p.skipCfws();
  if (next() <= 0) return null;
  if (tok.s.length === 3) {
    // A day name must be followed by ",".
    if (p.cur() !== 0x2c) return null;
    p.pos++;
    p.skipCfws();
    if (next() <= 0) return null;
  }
  if (tok.s.length < 1 || tok.s.length > 2 || !digits(tok.s)) return null;
  const day = Number(tok.s);
  if (next() <= 0 || tok.s.length < 3) return null;
  const month = MONTHS.indexOf(tok.s.slice(0, 3).toLowerCase());
  if (month < 0) return null;
  if (next() <= 0 || (tok.s.length !== 2 && tok.s.length !== 4) || !digits(tok.s)) return null;
  let year = Number(tok.s);
  if (tok.s.length === 2) year += year < 70 ? 2000 : 1900;
  else if (year < 1900) return null;
  if (next() <= 0 || tok.s.length > 2 || !digits(tok.s)) return null;
  const hour = Number(tok.s);
  if (!isTimeSep(p.cur())) return null;
  p.pos++;
  p.skipCfws();
  if (next() < 0 || tok.s.length !== 2 || !digits(tok.s)) return null;
  const min = Number(tok.s);
  let sec = 0;
  if (p.pos < value.length && isTimeSep(p.cur())) {
    p.pos++;
    p.skipCfws();
    if (next() <= 0 || tok.s.length !== 2 || !digits(tok.s)) return null;
    sec = Number(tok.s);
  }
  const z = next();
  if (z < 0) return null;
  return valid(year, month, day, hour, min, sec, z === 0 ? 0 : zone(tok.s));
}

/** timegm() that refuses to normalise: 31 Feb or 25:00 is no date (a leap second is :59). */
function valid(
  year: number,
  month: number,
  day: number,
  hour: number,
  min: number,
  sec: number,
  offset: number,
) {
  const s = sec === 60 ? 59 : sec;
  const ms = Date.UTC(year, month, day, hour, min, s);
  const d = new Date(ms);
  if (
    Number.isNaN(ms) ||
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== min
  )
    return null;
  const t = ms / 1000;
  if (t === -1) return null; // mktime's error value
  return t - offset * 60;
}
