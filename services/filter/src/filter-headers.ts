// The header fields the filter adds, amavisd-style. They go before the
// original fields (RFC 5322 §3.6: trace and added fields are prepended).
import { field } from './headers.js';
import type { ScanReport } from './scan.js';
import type { Levels, Verdict } from './verdict.js';

export function filterHeaders(
  hostname: string,
  report: ScanReport | null,
  verdict: Verdict,
  levels: Levels,
): Buffer {
  if (!report)
    return Buffer.from(field('X-Virus-Scanned', `not scanned (scanners unavailable) on ${hostname}`));
  const { virus, spam } = report;
  // RFC 8601 §5: Authentication-Results goes above the other fields we add.
  const lines: string[] = report.auth ? [report.auth.header] : [];
  const partial = virus.status === 'limit' || virus.truncated ? ', partially (size limit)' : '';
  lines.push(field('X-Virus-Scanned', `ClamAV using Postamt on ${hostname}${partial}`));
  if (verdict.kind === 'virus') lines.push(field('X-Virus-Status', `Infected (${verdict.signature})`));
  if (spam.score >= levels.tag) {
    const isSpam = spam.score >= levels.tag2;
    const score = spam.score.toFixed(1);
    const tests = spam.rules.length > 0 ? spam.rules.join(',') : 'none';
    lines.push(field('X-Spam-Flag', isSpam ? 'YES' : 'NO'));
    lines.push(field('X-Spam-Score', score));
    lines.push(
      field('X-Spam-Status', `${isSpam ? 'Yes' : 'No'}, score=${score} tag2=${levels.tag2} tests=${tests}`),
    );
  }
  return Buffer.from(lines.join(''));
}
