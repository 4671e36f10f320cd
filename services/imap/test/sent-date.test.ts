// SEARCH SENT* dates (RFC 3501 §6.4.4), Dovecot's answers where the RFC is silent.
import { describe, expect, it } from 'vitest';
import { sentDate } from '../src/sent-date.js';

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('sentDate', () => {
  it('takes the date as written, zone ignored', () => {
    expect(day(sentDate('Tue, 6 Feb 2024 23:30:00 -0800'))).toBe('2024-02-06');
    expect(day(sentDate('6 Feb 24 08:00 GMT'))).toBe('2024-02-06');
    expect(day(sentDate('Sun, 3 Jan 99 10:00:00 +0000'))).toBe('1999-01-03');
  });
  it('skips comments and folding', () => {
    expect(day(sentDate('(c1) Tue,\r\n (c2) 6 Feb 2024 (c3) 08:00 (c4) +0100 (c5)'))).toBe('2024-02-06');
  });
  it('counts missing, unparseable and impossible dates as 1 Jan 1970', () => {
    for (const v of [
      undefined,
      '',
      'yesterday',
      'Tue, 7 Apr 2026 10:00:t <x@y>',
      '1 Jan 2020 25:61:61 +0000',
    ])
      expect(sentDate(v), String(v)).toBe(0);
  });
  it('wraps dates before 1970 as unsigned 32-bit times', () => {
    expect(day(sentDate('Mon, 20 Jul 1969 20:17:40 +0000'))).toBe('2105-08-27');
  });
});
