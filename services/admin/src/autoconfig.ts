// Mail client autoconfiguration documents, pure functions:
//  - Thunderbird's clientConfig v1.1 (wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat)
//  - Outlook's POX autodiscover response (MS-OXDSCLI §2.2.4, "outlook/responseschema/2006a")
// Implicit TLS is listed first (RFC 8314 §5.1 prefers it), STARTTLS second.

export interface ClientPorts {
  imaps: number;
  imap: number;
  pop3s: number;
  pop3: number;
  submissions: number;
  submission: number;
}

export const DEFAULT_CLIENT_PORTS: ClientPorts = {
  imaps: 993,
  imap: 143,
  pop3s: 995,
  pop3: 110,
  submissions: 465,
  submission: 587,
};

export function xmlEscape(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`,
  );
}

function server(
  kind: 'incomingServer' | 'outgoingServer',
  type: string,
  host: string,
  port: number,
  socket: string,
): string {
  return [
    `    <${kind} type="${type}">`,
    `      <hostname>${xmlEscape(host)}</hostname>`,
    `      <port>${port}</port>`,
    `      <socketType>${socket}</socketType>`,
    '      <authentication>password-cleartext</authentication>',
    '      <username>%EMAILADDRESS%</username>',
    `    </${kind}>`,
  ].join('\n');
}

export function thunderbirdConfig(
  domain: string,
  host: string,
  p: ClientPorts = DEFAULT_CLIENT_PORTS,
): string {
  const d = xmlEscape(domain);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${d}">`,
    `    <domain>${d}</domain>`,
    `    <displayName>${d} mail</displayName>`,
    `    <displayShortName>${d}</displayShortName>`,
    server('incomingServer', 'imap', host, p.imaps, 'SSL'),
    server('incomingServer', 'imap', host, p.imap, 'STARTTLS'),
    server('incomingServer', 'pop3', host, p.pop3s, 'SSL'),
    server('incomingServer', 'pop3', host, p.pop3, 'STARTTLS'),
    server('outgoingServer', 'smtp', host, p.submissions, 'SSL'),
    server('outgoingServer', 'smtp', host, p.submission, 'STARTTLS'),
    '  </emailProvider>',
    '</clientConfig>',
    '',
  ].join('\n');
}

function protocol(type: string, host: string, port: number, login: string, tls: 'ssl' | 'starttls'): string {
  return [
    '      <Protocol>',
    `        <Type>${type}</Type>`,
    `        <Server>${xmlEscape(host)}</Server>`,
    `        <Port>${port}</Port>`,
    `        <LoginName>${xmlEscape(login)}</LoginName>`,
    '        <DomainRequired>off</DomainRequired>',
    '        <SPA>off</SPA>',
    tls === 'ssl' ? '        <SSL>on</SSL>' : '        <Encryption>TLS</Encryption>',
    '        <AuthRequired>on</AuthRequired>',
    '      </Protocol>',
  ].join('\n');
}

export function outlookAutodiscover(
  email: string,
  host: string,
  p: ClientPorts = DEFAULT_CLIENT_PORTS,
): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">',
    '  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">',
    '    <Account>',
    '      <AccountType>email</AccountType>',
    '      <Action>settings</Action>',
    protocol('IMAP', host, p.imaps, email, 'ssl'),
    protocol('POP3', host, p.pop3s, email, 'ssl'),
    protocol('SMTP', host, p.submissions, email, 'ssl'),
    protocol('SMTP', host, p.submission, email, 'starttls'),
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}

/** The EMailAddress of an Outlook autodiscover request body. */
export function autodiscoverEmail(body: string): string | null {
  const m = /<EMailAddress>\s*([^<\s]+)\s*<\/EMailAddress>/i.exec(body);
  return m?.[1] ?? null;
}
