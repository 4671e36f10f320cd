// The SPAMC/1.5 wire format (SpamAssassin's spamd/PROTOCOL), pure functions
// tested without sockets.
//
// Request:  <COMMAND> SPAMC/1.5\r\n  (Header: value\r\n)*  \r\n  <message>
//           Content-length counts bytes of the message, not characters.
// Response: SPAMD/<ver> <code> <text>\r\n  (Header: value\r\n)*  \r\n  <body>
//           code is a sysexits(3) value: 0 EX_OK, 75 EX_TEMPFAIL, ...
//           `Spam: True|False ; <score> / <threshold>`, where scores may be
//           negative and are printed as "-0.0" for a tiny negative sum.

export type SpamcCommand = 'PING' | 'CHECK' | 'SYMBOLS' | 'REPORT' | 'REPORT_IFSPAM' | 'HEADERS' | 'TELL';

export function buildRequest(command: SpamcCommand, headers: Record<string, string | undefined>): Buffer {
  const lines = [`${command} SPAMC/1.5`];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    // A CR or LF in a value would let a caller inject protocol headers.
    if (/[\r\n]/.test(value) || /[\r\n:]/.test(name)) throw new TypeError(`invalid SPAMC header ${name}`);
    lines.push(`${name}: ${value}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

export interface SpamdResponse {
  version: string;
  code: number;
  message: string;
  /** Header names lowercased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
}

/** sysexits(3) codes spamd uses; 75 means "try again later". */
export const EX_OK = 0;
export const EX_TEMPFAIL = 75;

export function parseResponse(reply: Buffer): SpamdResponse | { error: string } {
  const nl = reply.indexOf('\n');
  if (nl < 0) return { error: 'no status line' };
  const status = reply.subarray(0, nl).toString('latin1').replace(/\r$/, '');
  const m = /^SPAMD\/(\d+\.\d+) (\d+) ?(.*)$/.exec(status);
  if (!m) return { error: `bad status line: ${status.slice(0, 80)}` };
  const headers: Record<string, string> = {};
  let pos = nl + 1;
  // Headers end at the first empty line; a PING reply may end before any.
  while (pos < reply.length) {
    const end = reply.indexOf('\n', pos);
    const line = reply
      .subarray(pos, end < 0 ? reply.length : end)
      .toString('latin1')
      .replace(/\r$/, '');
    pos = end < 0 ? reply.length : end + 1;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = reply.subarray(pos);
  const declared = headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (!Number.isInteger(n) || n < 0) return { error: `bad Content-length ${declared}` };
    if (body.length < n) return { error: `short body: ${body.length} of ${n} bytes` };
    body = body.subarray(0, n);
  }
  return { version: m[1] as string, code: Number(m[2]), message: m[3] ?? '', headers, body };
}

export interface SpamScore {
  isSpam: boolean;
  score: number;
  threshold: number;
}

/** `True ; 1000.0 / 5.0`, `False ; -0.0 / 5.0`, `Yes ; -1.9 / 5.0` (older spamd). */
export function parseSpamHeader(value: string | undefined): SpamScore | null {
  if (value === undefined) return null;
  const m = /^\s*(True|False|Yes|No)\s*;\s*(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)\s*$/i.exec(value);
  if (!m) return null;
  const score = Number(m[2]);
  return {
    isSpam: /^(true|yes)$/i.test(m[1] as string),
    // "-0.0" parses to -0; report it as 0 so that equality and JSON behave.
    score: Object.is(score, -0) ? 0 : score,
    threshold: Number(m[3]),
  };
}

/** SYMBOLS body: comma-separated rule names, possibly with a trailing newline. */
export function parseSymbols(body: Buffer): string[] {
  return body
    .toString('latin1')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** TELL reply headers `DidSet: local, remote` / `DidRemove: local`. */
export function parseDid(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
