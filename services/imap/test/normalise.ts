// The differences from Dovecot's recorded answers that the RFCs allow
// (CONFORMANCE.md). Each rule rewrites both sides into a normal form; a
// difference is allowed when the normal forms are equal, and the first rule
// that makes them equal is reported by name. Rules apply cumulatively.

type Token = string;

/** Splits a response into tokens; quoted strings and literals both become {s:<bytes>}. */
function tokens(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ') i++;
    else if (c === '(' || c === ')' || c === '\r' || c === '\n') {
      out.push(c);
      i++;
    } else if (c === '"') {
      let s = '';
      for (i++; i < text.length && text[i] !== '"'; i++) s += text[i] === '\\' ? text[++i] : text[i];
      i++;
      out.push(`{s:${s}}`);
    } else if (c === '{' && /^\{\d+\}\r\n/.test(text.slice(i, i + 14))) {
      const m = /^\{(\d+)\}\r\n/.exec(text.slice(i)) as RegExpExecArray;
      const start = i + m[0].length;
      out.push(`{s:${text.slice(start, start + Number(m[1]))}}`);
      i = start + Number(m[1]);
    } else {
      let a = '';
      while (i < text.length && !' ()\r\n"'.includes(text[i] as string)) {
        if (text[i] === '[') {
          const close = text.indexOf(']', i);
          a += text.slice(i, close + 1);
          i = close + 1;
        } else a += text[i++];
      }
      out.push(a);
    }
  }
  return out;
}

/** Sorts the name/value pairs inside each `* n FETCH (...)` (RFC 3501 §7.4.2: order is free). */
function sortFetchItems(toks: Token[]): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < toks.length) {
    const t = toks[i++] as Token;
    out.push(t);
    if (t.toUpperCase() !== 'FETCH' || toks[i] !== '(') continue;
    i++;
    // Top-level elements: a token, or a balanced parenthesised group.
    const elems: Token[][] = [];
    while (i < toks.length && toks[i] !== ')') {
      const el: Token[] = [];
      let depth = 0;
      do {
        const x = toks[i++] as Token;
        if (x === '(') depth++;
        if (x === ')') depth--;
        el.push(x);
      } while (depth > 0 && i < toks.length);
      elems.push(el);
    }
    i++;
    const pairs: Token[][] = [];
    for (let k = 0; k < elems.length; k += 2) pairs.push([...(elems[k] ?? []), ...(elems[k + 1] ?? [])]);
    out.push('(', ...pairs.sort((a, b) => (a.join(' ') < b.join(' ') ? -1 : 1)).flat(), ')');
  }
  return out;
}

const RULES: Array<[string, (t: Token[]) => Token[]]> = [
  ['quoted string vs literal (RFC 3501 §4.3)', (t) => t],
  ['NIL vs empty string for absent values', (t) => t.map((x) => (x === 'NIL' ? '{s:}' : x))],
  ['\\Recent is session state (RFC 3501 §2.3.2)', (t) => t.filter((x) => x !== '\\Recent')],
  ['case of MIME type, subtype and parameter names (RFC 2045 §5.1)', (t) => t.map((x) => x.toLowerCase())],
  ['order of FETCH data items (RFC 3501 §7.4.2)', sortFetchItems],
];

/** The name of the rule that explains the difference, or null. */
export function allowedDifference(want: string, got: string): string | null {
  let w = tokens(want);
  let g = tokens(got);
  for (const [name, f] of RULES) {
    w = f(w);
    g = f(g);
    if (w.join('\u0000') === g.join('\u0000')) return name;
  }
  return null;
}
