// Test plumbing for the relay: a self-signed certificate, messages put into a
// spool the way the filter leaves them, and readers for DSNs found in the spool.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Envelope, Queues, Spool } from '@postamt/queue';

export function selfSignedCert(dir: string, cn: string): { key: string; cert: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

export function message(subject: string, from = 'alice@local.test'): Buffer {
  return Buffer.from(
    [
      `From: Alice <${from}>`,
      'To: someone@remote.test',
      `Subject: ${subject}`,
      `Message-ID: <${subject.replace(/\W/g, '')}@local.test>`,
      'Date: Mon, 1 Jan 2024 00:00:00 +0000',
      '',
      `Body of ${subject}.`,
      '..a line starting with a dot',
      '',
    ].join('\r\n'),
  );
}

/** Spools a message and queues its relay job, as the filter does. */
export async function relayMessage(
  spool: Spool,
  queues: Queues,
  rcpts: (string | Envelope['rcptTo'][number])[],
  subject: string,
  opts: { from?: string; ret?: 'FULL' | 'HDRS'; envid?: string } = {},
): Promise<string> {
  const rcptTo = rcpts.map((r) => (typeof r === 'string' ? { address: r } : r));
  const from = opts.from ?? 'alice@local.test';
  const id = await spool.put(
    {
      receivedAt: new Date().toISOString(),
      mailFrom: from,
      rcptTo,
      source: 'submission',
      client: { ip: '127.0.0.1' },
      authUser: from,
      params: { ...(opts.ret ? { ret: opts.ret } : {}), ...(opts.envid ? { envid: opts.envid } : {}) },
    },
    message(subject, from || 'nobody@local.test'),
  );
  await queues.add('relay', id, { spoolId: id, recipients: rcptTo.map((r) => r.address) });
  return id;
}

export interface FoundDsn {
  id: string;
  envelope: Envelope;
  text: string;
}

/** DSNs in the spool (source internal, null sender) about `queueId`. */
export async function findDsns(spool: Spool, queueId: string): Promise<FoundDsn[]> {
  const out: FoundDsn[] = [];
  for (const id of await spool.list()) {
    const m = await spool.openMessage(id).catch(() => null);
    if (!m) continue;
    if (m.envelope.source !== 'internal' || m.envelope.mailFrom !== '') continue;
    const chunks: Buffer[] = [];
    for await (const c of m.stream()) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.includes(`X-Postamt-Queue-ID: ${queueId}`)) out.push({ id, envelope: m.envelope, text });
  }
  return out;
}
