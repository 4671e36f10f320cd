// A seeded mutator for line protocols and messages: byte flips, inserted
// control bytes and protocol syntax, duplicated, dropped and truncated lines,
// long runs, and literal announcements that lie about their size.
import type { Rng } from './rng.js';

const TOKENS = [
  '\r',
  '\n',
  '\r\n',
  '\0',
  '\x7f',
  '\xff',
  ' ',
  '\t',
  '"',
  '\\',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '<',
  '>',
  '@',
  '%',
  ':',
  ',',
  '.',
  '*',
  '+',
  '-',
  '=',
  '?',
  '{0}',
  '{1}',
  '{4294967295}',
  '{99999999+}',
  '{5}\r\n',
  'BODY[',
  'BODY.PEEK[HEADER.FIELDS (',
  '1:*',
  '*:1',
  '4294967296',
  '-1',
  'UID',
  'NIL',
  '""',
  '=?utf-8?B?',
  'boundary="',
  '--',
  'Content-Type: multipart/mixed; boundary=x',
  'charset=',
  '=\r\n',
  '%%',
  '\u00e4\u20ac',
];

function mutateLine(rng: Rng, line: string): string {
  const ops = rng.int(1, 3);
  let out = line;
  for (let i = 0; i < ops; i++) {
    const at = rng.int(0, out.length);
    switch (rng.int(0, 7)) {
      case 0: // flip a byte
        if (out.length > 0) {
          const j = rng.int(0, out.length - 1);
          out =
            out.slice(0, j) +
            String.fromCharCode(out.charCodeAt(j) ^ (1 << rng.int(0, 7))) +
            out.slice(j + 1);
        }
        break;
      case 1:
        out = out.slice(0, at) + rng.pick(TOKENS) + out.slice(at);
        break;
      case 2: // long run
        out =
          out.slice(0, at) +
          rng.pick(['A', ' ', '(', '[', '"', '.', '=']).repeat(rng.int(100, 20_000)) +
          out.slice(at);
        break;
      case 3: // truncate
        out = out.slice(0, at);
        break;
      case 4: // random bytes
        out =
          out.slice(0, at) +
          String.fromCharCode(...Array.from({ length: rng.int(1, 16) }, () => rng.int(0, 255))) +
          out.slice(at);
        break;
      case 5: // repeat a slice
        out = out.slice(0, at) + out.slice(at, at + rng.int(1, 40)).repeat(rng.int(2, 50)) + out.slice(at);
        break;
      case 6: // change case
        out = rng.chance(0.5) ? out.toLowerCase() : out.toUpperCase();
        break;
      default: // numbers to extremes
        out = out.replace(/\d+/, String(rng.pick([0, 1, 4294967295, 4294967296, 2 ** 53, -1])));
    }
  }
  return out;
}

/** A mutated copy of a recorded session (lines without CRLF). */
export function mutateSession(rng: Rng, lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const r = rng.next();
    if (r < 0.08) continue; // drop
    if (r < 0.16)
      out.push(line, line); // duplicate
    else if (r < 0.5) out.push(mutateLine(rng, line));
    else out.push(line);
  }
  if (rng.chance(0.1)) out.push(mutateLine(rng, rng.pick(lines)));
  return out;
}

/** A mutated copy of a message (a few line mutations, headers more often). */
export function mutateMessage(rng: Rng, message: string): string {
  const lines = message.split(/\r?\n/);
  const n = rng.int(1, 8);
  for (let i = 0; i < n; i++) {
    const j = rng.chance(0.6) ? rng.int(0, Math.min(lines.length - 1, 30)) : rng.int(0, lines.length - 1);
    lines[j] = mutateLine(rng, lines[j] ?? '');
  }
  return lines.join('\r\n');
}
