// Mail client autoconfiguration: well-formed XML with the host, ports and
// socket types Thunderbird and Outlook expect, served without a token and only
// for local domains.
import { get } from 'node:http';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (n) => ['incomingServer', 'outgoingServer', 'Protocol'].includes(n),
});

beforeAll(async () => {
  env = await startEnv();
  await env.ctx.directory.addDomain('example.test');
});
afterAll(() => env?.stop());

function thunderbirdChecks(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = parser.parse(xml);
  expect(doc.clientConfig['@version']).toBe('1.1');
  const p = doc.clientConfig.emailProvider;
  expect(p['@id']).toBe('example.test');
  expect(p.domain).toBe('example.test');
  const servers = [...p.incomingServer, ...p.outgoingServer].map((s: any) => [
    s['@type'],
    s.port,
    s.socketType,
  ]);
  expect(servers).toEqual([
    ['imap', 993, 'SSL'],
    ['imap', 143, 'STARTTLS'],
    ['pop3', 995, 'SSL'],
    ['pop3', 110, 'STARTTLS'],
    ['smtp', 465, 'SSL'],
    ['smtp', 587, 'STARTTLS'],
  ]);
  for (const s of [...p.incomingServer, ...p.outgoingServer]) {
    expect(s.hostname).toBe('mail.example.test');
    expect(s.username).toBe('%EMAILADDRESS%');
    expect(s.authentication).toBe('password-cleartext');
  }
}

describe('Thunderbird autoconfig', () => {
  it('answers /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress= without a token', async () => {
    const r = await env.req(
      'GET',
      '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.test',
      { token: false },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/xml/);
    thunderbirdChecks(r.text);
  });

  it('answers autoconfig.<domain>/mail/config-v1.1.xml by Host', async () => {
    // fetch does not let a caller set Host; node:http does.
    const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      get(`${env.url}/mail/config-v1.1.xml`, { headers: { host: 'autoconfig.example.test' } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      }).on('error', reject);
    });
    expect(r.status).toBe(200);
    thunderbirdChecks(r.text);
  });

  it('does not answer for a domain that is not local', async () => {
    const r = await env.req(
      'GET',
      '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=x%40other.test',
      { token: false },
    );
    expect(r.status).toBe(404);
  });
});

describe('Outlook autodiscover', () => {
  const request = (email: string) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>${email}</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>
</Autodiscover>`;

  it('answers a POX request with IMAP, POP3 and SMTP settings', async () => {
    const r = await env.req('POST', '/autodiscover/autodiscover.xml', {
      token: false,
      raw: request('alice@example.test'),
      headers: { 'content-type': 'text/xml' },
    });
    expect(r.status).toBe(200);
    expect(XMLValidator.validate(r.text)).toBe(true);
    const doc = parser.parse(r.text);
    expect(doc.Autodiscover['@xmlns']).toBe(
      'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006',
    );
    const account = doc.Autodiscover.Response.Account;
    expect(account.AccountType).toBe('email');
    expect(account.Action).toBe('settings');
    expect(account.Protocol.map((p: any) => [p.Type, p.Port, p.SSL ?? p.Encryption])).toEqual([
      ['IMAP', 993, 'on'],
      ['POP3', 995, 'on'],
      ['SMTP', 465, 'on'],
      ['SMTP', 587, 'TLS'],
    ]);
    for (const p of account.Protocol) {
      expect(p.Server).toBe('mail.example.test');
      expect(p.LoginName).toBe('alice@example.test');
    }
  });

  it('refuses unknown domains and requests without an address', async () => {
    const other = await env.req('POST', '/Autodiscover/Autodiscover.xml', {
      token: false,
      raw: request('x@other.test'),
      headers: { 'content-type': 'text/xml' },
    });
    expect(other.status).toBe(404);
    const none = await env.req('POST', '/autodiscover/autodiscover.xml', {
      token: false,
      raw: '<Autodiscover/>',
      headers: { 'content-type': 'text/xml' },
    });
    expect(none.status).toBe(400);
    expect(none.body.fields[0].field).toBe('EMailAddress');
  });
});
