// Test fixtures on the data volume: a quarantine entry in the filter's format
// (services/filter/src/quarantine.ts) and spooled relay jobs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newSpoolId } from '@postamt/queue';
import type { TestEnv } from './env.js';

export function quarantineEntry(
  env: TestEnv,
  opts: { local?: string[]; remote?: string[]; verdict?: Record<string, unknown>; subject?: string } = {},
): string {
  const id = newSpoolId();
  const dir = join(env.dataDir, 'quarantine');
  mkdirSync(dir, { recursive: true });
  const message = [
    'X-Postamt-Virus: Eicar-Test-Signature',
    'From: mallory@remote.test',
    'To: alice@example.test',
    `Subject: ${opts.subject ?? 'Invoice'}`,
    'Message-ID: <q1@remote.test>',
    '',
    'body text',
    '',
  ].join('\r\n');
  writeFileSync(join(dir, id), message);
  const local = opts.local ?? ['alice@example.test'];
  const remote = opts.remote ?? [];
  writeFileSync(
    join(dir, `${id}.json`),
    JSON.stringify({
      id,
      quarantinedAt: new Date().toISOString(),
      verdict: opts.verdict ?? { kind: 'virus', signature: 'Eicar-Test-Signature' },
      envelope: {
        id,
        receivedAt: new Date().toISOString(),
        mailFrom: 'mallory@remote.test',
        rcptTo: [...local, ...remote].map((address) => ({ address })),
        source: 'mx',
        client: { ip: '192.0.2.1' },
        params: {},
      },
      localRecipients: local,
      remoteRecipients: remote,
      scan: null,
    }),
  );
  return id;
}

/** A relay job (with its spool file) that is delayed, so it can be listed, retried and deleted. */
export async function relayJob(env: TestEnv, recipients: string[], delayMs = 3_600_000): Promise<string> {
  const spoolId = await env.ctx.spool.put(
    {
      receivedAt: new Date().toISOString(),
      mailFrom: 'alice@example.test',
      rcptTo: recipients.map((address) => ({ address })),
      source: 'submission',
      client: { ip: '127.0.0.1' },
      params: {},
    },
    Buffer.from('Subject: hi\r\n\r\nhello\r\n'),
  );
  await env.ctx.queues.add('relay', spoolId, { spoolId, recipients }, { delayMs });
  return spoolId;
}
