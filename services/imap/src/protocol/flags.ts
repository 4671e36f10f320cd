// Flags (RFC 3501 §2.3.2, §9 flag / flag-list) and dates (§9 date, date-time).
import { ParseError, type Reader } from './reader.js';

export const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const;
const SYSTEM_BY_UPPER = new Map<string, string>(SYSTEM_FLAGS.map((f) => [f.toUpperCase(), f]));

/** flag = "\Answered" / ... / keyword / flag-extension; canonical case for system flags. */
export function parseFlag(r: Reader, allowRecent = false): string {
  if (r.take('\\')) {
    const name = `\\${r.atom()}`;
    const known = SYSTEM_BY_UPPER.get(name.toUpperCase());
    if (known) return known;
    if (allowRecent && name.toUpperCase() === '\\RECENT') return '\\Recent';
    // flag-extension: "\" atom — future system flags; we cannot store them (RFC 3501 §2.3.2).
    throw new ParseError('unknown system flag');
  }
  return r.atom();
}

export function parseFlagList(r: Reader): string[] {
  return r.list(() => parseFlag(r));
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

function dateParts(text: string): { day: number; month: number; year: number } | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!m) return null;
  const month = MONTHS.indexOf((m[2] as string).toUpperCase());
  const day = Number(m[1]);
  if (month < 0 || day < 1 || day > 31) return null;
  return { day, month, year: Number(m[3]) };
}

/** date = date-text / DQUOTE date-text DQUOTE; returned as the UTC midnight of that day (SEARCH ignores time and zone, §6.4.4). */
export function parseDate(r: Reader): Date {
  const text = r.peek() === 0x22 ? r.quoted().toString('latin1') : r.atom();
  const p = dateParts(text);
  if (!p) throw new ParseError('invalid date');
  return new Date(Date.UTC(p.year, p.month, p.day));
}

/** date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE */
export function parseDateTime(r: Reader): Date {
  const text = r.quoted().toString('latin1');
  const m = /^([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) throw new ParseError('invalid date-time');
  const p = dateParts(`${(m[1] as string).trim()}-${m[2]}-${m[3]}`);
  const [hh, mm, ss] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (!p || hh > 23 || mm > 59 || ss > 60) throw new ParseError('invalid date-time');
  const zone = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  return new Date(Date.UTC(p.year, p.month, p.day, hh, mm, ss) - zone * 60_000);
}

/** INTERNALDATE as "dd-Mon-yyyy hh:mm:ss +0000" (RFC 3501 §9 date-time), always in UTC. */
export function formatDateTime(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const mon =
    (MONTHS[d.getUTCMonth()] as string).charAt(0) +
    (MONTHS[d.getUTCMonth()] as string).slice(1).toLowerCase();
  return `${pad(d.getUTCDate())}-${mon}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}
