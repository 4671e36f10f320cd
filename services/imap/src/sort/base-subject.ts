// The base subject of RFC 5256 §2.1, used by SORT SUBJECT and both THREAD
// algorithms, in i;unicode-casemap form (so "re" and "RE" compare equal).
// Steps are numbered as in the RFC. Like Dovecot, after white space is
// packed a subj-blob or subj-refwd is followed by at most one space, and the
// subj-fwd-trl "]" of step (6) is checked at the very end of the text.
import { decodeHeader } from './header-text.js';

export interface BaseSubject {
  base: string;
  /** The subject had a Re:, Fwd: or (fwd) (RFC 5256 §2.1, used by REFERENCES step 5). */
  replyOrForward: boolean;
}

/** (1) white space runs (and the CR/LF of folding) become one space. */
function pack(s: string): string {
  return s.replace(/[ \t\r\n]+/g, ' ');
}

/** subj-blob = "[" *BLOBCHAR "]" *WSP; returns the length matched, or 0. */
function blobAt(s: string, i: number): number {
  if (s[i] !== '[') return 0;
  let j = i + 1;
  while (j < s.length && s[j] !== '[' && s[j] !== ']') j++;
  if (s[j] !== ']') return 0;
  j++;
  if (s[j] === ' ') j++;
  return j - i;
}

export function baseSubject(raw: string): BaseSubject {
  let replyOrForward = false;
  // NUL ends the text, as it would a C string.
  let s = pack(decodeHeader(raw, true));
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul);
  let start = 0;
  for (;;) {
    // (2) subj-trailer = "(fwd)" / WSP, removed repeatedly from the end.
    let end = s.length;
    while (end > start) {
      if (s[end - 1] === ' ') end--;
      else if (end - start >= 5 && s.slice(end - 5, end) === '(FWD)') {
        replyOrForward = true;
        end -= 5;
      } else break;
    }
    s = s.slice(0, end);
    let found: boolean;
    do {
      found = false;
      // (3) subj-leader = (*subj-blob subj-refwd) / WSP
      if (s[start] === ' ') {
        start++;
        found = true;
      }
      let p = start;
      let blob = blobAt(s, p);
      let blobsOk = true;
      while (s[p] === '[') {
        if (blob === 0) {
          blobsOk = false;
          break;
        }
        p += blob;
        blob = blobAt(s, p);
      }
      if (blobsOk) {
        const refwd = s.startsWith('RE', p) ? 2 : s.startsWith('FWD', p) ? 3 : s.startsWith('FW', p) ? 2 : 0;
        if (refwd) {
          p += refwd;
          if (s[p] === ' ') p++;
          const inner = s[p] === '[' ? blobAt(s, p) : 0;
          if (s[p] !== '[' || inner > 0) {
            p += inner;
            if (s[p] === ':') {
              start = p + 1;
              replyOrForward = true;
              found = true;
            }
          }
        }
      }
      // (4) a leading subj-blob goes if something is left after it.
      const lead = blobAt(s, start);
      if (lead > 0 && start + lead < s.length) {
        start += lead;
        found = true;
      }
      // (5) repeat (3) and (4).
    } while (found);
    // (6) subj-fwd = "[fwd:" subject "]": unwrap and start again at (2).
    if (s.startsWith('[FWD:', start) && s.endsWith(']')) {
      replyOrForward = true;
      s = s.slice(0, -1);
      start += 5;
      continue;
    }
    return { base: s.slice(start), replyOrForward };
  }
}
