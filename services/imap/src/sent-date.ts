// The Date header as SEARCH SENT* sees it (RFC 3501 §6.4.4: "disregarding
// time and timezone"): the date and time as written, the zone ignored. Where
// the RFC is silent we answer as Dovecot does (see CONFORMANCE.md): a missing
// or unparseable Date, or an impossible time, counts as 1 Jan 1970; a date
// before 1970 wraps as an unsigned 32-bit time (1969 → 2105).

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// RFC 5322 §3.3 date-time, with the obsolete forms (§4.3): optional day name,
// 2-digit years, optional seconds, comments and zone names after the time.
const DATE_RE =
  /^\s*(?:[a-z]+\s*,?\s*)?(\d{1,2})\s*-?\s*([a-z]{3})[a-z]*\s*-?\s*(\d{2,4})\s+(\d{1,2})\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?(?!\s*:|\d)/i;

const WRAP = 2 ** 32 * 1000;

/** Milliseconds since the epoch of the written date and time, zone ignored; 0 when unusable. */
export function sentDate(value: string | undefined): number {
  if (!value) return 0;
  // RFC 5322 §3.2.2: comments (CFWS) may stand between any two tokens.
  let text = value.replace(/\r?\n/g, ' ');
  for (let prev = ''; prev !== text; ) {
    prev = text;
    text = text.replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  }
  const m = DATE_RE.exec(text);
  if (!m) return 0;
  const [, d, mon, y, hh, mm, ss] = m;
  const month = MONTHS.indexOf((mon as string).toLowerCase());
  let year = Number(y);
  if ((y as string).length === 2) year += year < 70 ? 2000 : 1900;
  else if ((y as string).length === 3) year += 1900;
  const [day, hour, min, sec] = [Number(d), Number(hh), Number(mm), Number(ss ?? 0)];
  if (month < 0 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return 0;
  const ms = Date.UTC(year, month, day, hour, min, sec);
  if (Number.isNaN(ms)) return 0;
  return ms < 0 ? ms + WRAP : ms;
}
