// The header block every copy of a filtered message starts with: our fields
// (authentication, scan results) above the original fields, minus those we
// do not trust, with the Subject tagged for delivered spam when configured.
// The body bytes that follow are the spooled ones, unchanged.
import { filterHeaders } from './filter-headers.js';
import { stripUntrusted, tagSubject } from './headers.js';
import type { ScanReport } from './scan.js';
import type { Levels, Verdict } from './verdict.js';

export function composeHeader(
  original: Buffer | null,
  hostname: string,
  report: ScanReport | null,
  verdict: Verdict,
  levels: Levels,
): { prefix: Buffer; removed: string[] } {
  const stripped = original ? stripUntrusted(original, hostname) : { header: Buffer.alloc(0), removed: [] };
  const kept =
    original && verdict.kind === 'spam' && levels.subjectTag !== ''
      ? tagSubject(stripped.header, levels.subjectTag)
      : stripped.header;
  return {
    prefix: Buffer.concat([filterHeaders(hostname, report, verdict, levels), kept]),
    removed: stripped.removed,
  };
}
