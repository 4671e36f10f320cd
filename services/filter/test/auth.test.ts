// Sender authentication in the filter with the test DNS server: DKIM, SPF and
// DMARC results in one Authentication-Results field, forged fields with our
// authserv-id removed, and DMARC p=reject failures held by policy.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { textMessage } from '@postamt/testkit';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processMessage } from '../src/process-message.js';
import { type FilterEnv, filesOf, startFilterEnv } from './env.js';

let env: FilterEnv;
let privateKey: string;

beforeAll(async () => {
  env = await startFilterEnv();
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pub = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const { dns } = env;
  dns.set('sender.example', [{ type: 'TXT', text: 'v=spf1 ip4:192.0.2.1 -all' }]);
  dns.set('sel._domainkey.sender.example', [
    { type: 'TXT', text: ['v=DKIM1; k=rsa; p=', pub].join('').match(/.{1,250}/g) as string[] },
  ]);
  dns.set('_dmarc.sender.example', [{ type: 'TXT', text: 'v=DMARC1; p=reject' }]);
  dns.set('bank.example', [{ type: 'TXT', text: 'v=spf1 ip4:198.51.100.7 -all' }]);
  dns.set('_dmarc.bank.example', [{ type: 'TXT', text: 'v=DMARC1; p=reject' }]);
}, 120_000);
afterAll(() => env?.stop());

function spool(mailFrom: string, body: Buffer): Promise<string> {
  return env.deps.spool.put(
    {
      receivedAt: new Date().toISOString(),
      mailFrom,
      rcptTo: [{ address: 'alice@example.test' }],
      source: 'mx',
      client: { ip: '192.0.2.1', helo: 'out.sender.example' },
      params: {},
    },
    body,
  );
}

describe('Authentication-Results', () => {
  it('DKIM-signed mail from an SPF-authorised IP passes DKIM, SPF and DMARC', async () => {
    const msg = textMessage('Hello Alice, the quarterly report.\n', {
      from: 'Reports <reports@sender.example>',
      extraHeaders: ['Authentication-Results: mx.example.test; dkim=pass (forged by the sender)'],
    });
    const sig = await dkimSign(msg, {
      signatureData: [{ signingDomain: 'sender.example', selector: 'sel', privateKey }],
    });
    const id = await spool('reports@sender.example', Buffer.concat([Buffer.from(sig.signatures), msg]));
    expect(await processMessage(env.deps, id)).toMatchObject({ verdict: 'clean', delivered: 1 });
    const text = (filesOf(env.deps.dataDir, 'alice', id)[0] as Buffer).toString();
    const ar = text.match(/^Authentication-Results: mx\.example\.test;(?:.*\r\n[ \t])*.*$/gm);
    expect(ar).toHaveLength(1);
    expect(ar?.[0]).toMatch(/dkim=pass/);
    expect(ar?.[0]).toMatch(/spf=pass/);
    expect(ar?.[0]).toMatch(/dmarc=pass/);
    expect(text).not.toContain('forged by the sender');
    expect(text.indexOf('Authentication-Results:')).toBeLessThan(text.indexOf('X-Virus-Scanned:'));
  });

  it('a forged From: of a p=reject domain fails DMARC and is quarantined, not delivered', async () => {
    const msg = textMessage('Please confirm your account.\n', { from: 'Bank <security@bank.example>' });
    const id = await spool('bounce@elsewhere.example', msg);
    expect(await processMessage(env.deps, id)).toMatchObject({
      verdict: 'dmarc-reject',
      delivered: 0,
      quarantined: true,
    });
    expect(filesOf(env.deps.dataDir, 'alice', id)).toHaveLength(0);
    const meta = join(env.deps.dataDir, 'quarantine', `${id}.json`);
    expect(existsSync(meta)).toBe(true);
    expect(JSON.parse(readFileSync(meta, 'utf8'))).toMatchObject({
      verdict: { kind: 'dmarc-reject' },
      scan: { auth: { dmarc: { result: 'fail', policy: 'reject' } } },
    });
  });

  it('with the junk action the same message goes to Junk instead', async () => {
    const msg = textMessage('Please confirm your account.\n', { from: 'Bank <security@bank.example>' });
    const id = await spool('bounce@elsewhere.example', msg);
    const deps = { ...env.deps, levels: { ...env.deps.levels, dmarcRejectAction: 'junk' as const } };
    expect(await processMessage(deps, id)).toMatchObject({ verdict: 'spam', delivered: 1 });
    expect(filesOf(env.deps.dataDir, 'alice', id, 'Junk')[0]?.toString()).toMatch(/dmarc=fail/);
  });
});
