// From scan results to one verdict per message (pure). Like amavisd: a virus
// wins over spam; spam levels are tag (headers), tag2 (spam → Junk) and kill
// (quarantine). A scan limit is a policy choice, never a virus; so is a DMARC
// failure under a p=reject policy (RFC 7489 §6.7: the receiver decides).
import { bannedNames } from './attachments/names.js';
import type { ScanReport } from './scan.js';

export interface Levels {
  tag: number;
  tag2: number;
  kill: number;
  /** What a clamd scan limit means. */
  limitAction: 'deliver' | 'quarantine';
  /** What a DMARC fail with p=reject means. */
  dmarcRejectAction: 'quarantine' | 'junk' | 'tag';
  /** File name extensions whose attachments are quarantined (also inside ZIPs). */
  bannedExtensions: string[];
  /** Put in front of the Subject of spam (≥ tag2) that is delivered; empty: none. */
  subjectTag: string;
}

export type Verdict =
  | { kind: 'virus'; signature: string }
  | { kind: 'banned'; names: string[] }
  | { kind: 'limit'; signature: string }
  | { kind: 'dmarc-reject'; score: number }
  | { kind: 'kill'; score: number }
  | { kind: 'spam'; score: number }
  | { kind: 'clean'; score: number }
  /** Scanners were down for every attempt: held, never delivered unscanned. */
  | { kind: 'unscanned'; reason: string };

export function decide(report: ScanReport, levels: Levels): Verdict {
  const { virus, spam } = report;
  if (virus.status === 'infected') return { kind: 'virus', signature: virus.signature ?? 'unknown' };
  const banned = bannedNames(report.attachments ?? [], levels.bannedExtensions);
  if (banned.length > 0) return { kind: 'banned', names: banned };
  if (virus.status === 'limit' && levels.limitAction === 'quarantine')
    return { kind: 'limit', signature: virus.signature ?? 'limit' };
  const dmarcReject = report.auth?.dmarc.result === 'fail' && report.auth.dmarc.policy === 'reject';
  if (dmarcReject && levels.dmarcRejectAction === 'quarantine')
    return { kind: 'dmarc-reject', score: spam.score };
  if (spam.score >= levels.kill) return { kind: 'kill', score: spam.score };
  if (dmarcReject && levels.dmarcRejectAction === 'junk') return { kind: 'spam', score: spam.score };
  if (spam.score >= levels.tag2) return { kind: 'spam', score: spam.score };
  return { kind: 'clean', score: spam.score };
}

/** Verdicts whose message goes to quarantine instead of any mailbox or relay. */
export function isHeld(v: Verdict): boolean {
  return (
    v.kind === 'virus' ||
    v.kind === 'banned' ||
    v.kind === 'limit' ||
    v.kind === 'kill' ||
    v.kind === 'unscanned' ||
    v.kind === 'dmarc-reject'
  );
}
