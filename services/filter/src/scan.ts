// Scans one message with clamd and spamd in parallel (and, beside them,
// checks sender authentication and lists attachment names), once, whatever
// the number of recipients. A scanner error is returned as a value; the
// caller decides that it means "try again later" (never "clean").
import type { Readable } from 'node:stream';
import type { Envelope } from '@postamt/queue';
import type {
  CircuitBreaker,
  ClamdClient,
  ClamdResult,
  SpamdClient,
  SpamdError,
  SpamdVerdict,
} from '@postamt/scanners';
import { attachmentNames } from './attachments/names.js';
import type { Authenticator, AuthReport } from './authenticate.js';

export interface Scanners {
  clamd: ClamdClient;
  spamd: SpamdClient;
  /** One breaker per scanner; absent in tests that want every call to reach the scanner. */
  breakers?: { clamd: CircuitBreaker; spamd: CircuitBreaker };
  /** DKIM/SPF/DMARC; null when turned off. */
  auth: Authenticator | null;
}

export interface ScanReport {
  virus: ClamdResult;
  spam: Omit<SpamdVerdict, 'status' | 'body'>;
  auth: AuthReport | null;
  /** Attachment names, also those inside ZIP archives (at most 200). */
  attachments: string[];
  /** Wall time of the parallel scan. */
  ms: number;
}

export interface ScanFailure {
  scanner: 'clamd' | 'spamd';
  detail: string;
}

export type ScanResult = { ok: true; report: ScanReport } | { ok: false; failures: ScanFailure[] };

const clamdOpen = (): ClamdResult => ({ status: 'error', detail: 'circuit open', raw: '' });
const spamdOpen = (): SpamdError => ({ status: 'error', reason: 'refused', detail: 'circuit open', raw: '' });

export async function scanMessage(
  scanners: Scanners,
  /** `bytes`: the whole message when held in memory (message-bytes.ts); else it is streamed. */
  message: { envelope: Envelope; size: number; stream: () => Readable; bytes?: Buffer | null },
  /** spamd's `User:` (spam-user.ts chooses it); undefined: spamd's default store. */
  spamUser?: string,
): Promise<ScanResult> {
  const t0 = performance.now();
  const { bytes } = message;
  const clamd = () => scanners.clamd.scan(bytes ?? message.stream());
  const spamd = () =>
    scanners.spamd.check(bytes ?? { size: message.size, stream: message.stream() }, { user: spamUser });
  const b = scanners.breakers;
  const [virus, spam, auth, attachments] = await Promise.all([
    b ? b.clamd.run(clamd, (r) => r.status === 'error', clamdOpen) : clamd(),
    b ? b.spamd.run<SpamdVerdict | SpamdError>(spamd, (r) => r.status === 'error', spamdOpen) : spamd(),
    // SPF/DKIM/DMARC judge mail from other servers; our own users' mail was authenticated by AUTH.
    scanners.auth && message.envelope.source === 'mx'
      ? scanners.auth.check(message.envelope, message.stream())
      : null,
    attachmentNames(bytes ?? message.stream()).catch(() => [] as string[]),
  ]);
  const failures: ScanFailure[] = [];
  if (virus.status === 'error') failures.push({ scanner: 'clamd', detail: virus.detail ?? virus.raw });
  if (spam.status === 'error') failures.push({ scanner: 'spamd', detail: `${spam.reason}: ${spam.detail}` });
  if (failures.length > 0 || spam.status !== 'ok') return { ok: false, failures };
  const { status: _s, body: _b, ...score } = spam;
  return {
    ok: true,
    report: {
      virus,
      spam: score,
      auth,
      attachments: attachments.slice(0, 200),
      ms: Math.round(performance.now() - t0),
    },
  };
}
