// BODY and BODYSTRUCTURE rendering, RFC 3501 §7.4.2 (body, body-type-1part,
// body-type-mpart, body-ext-1part, body-ext-mpart in the §9 grammar).
//
// Types keep the letter case of the source (RFC 3501 §7.4.2 only requires the
// values; case is not significant, RFC 2045 §5.1). text/* parts carry a line
// count, message/rfc822 parts the enclosed ENVELOPE, BODYSTRUCTURE and line
// count. Sizes and line counts are those of the CRLF form. A multipart without
// children (no or unused boundary) is shown with one empty text/plain child, since
// the grammar requires at least one (RFC 3501 §9 body-type-mpart = 1*body).

import { renderEnvelope } from './envelope.js';
import { type Param, type PartData, PartFlag, type PartNode } from './types.js';
import { nstring, nstringNoLf } from './wire.js';

const EMPTY_BODY = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';
const EMPTY_BODYSTRUCTURE = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)';

/** RFC 2045 §5.2: text parts without charset are us-ascii; the implied value is appended. */
function params(list: Param[] | null, defaultCharset: boolean): string {
  const items = list ?? [];
  if (!defaultCharset && items.length === 0) return 'NIL';
  const out: string[] = [];
  let seenCharset = false;
  for (const p of items) {
    if (defaultCharset && p.name.toLowerCase() === 'charset') seenCharset = true;
    out.push(`${nstring(p.name)} ${nstring(p.value)}`);
  }
  if (defaultCharset && !seenCharset) out.push('"charset" "us-ascii"');
  return `(${out.join(' ')})`;
}

/** body-fld-dsp SP body-fld-lang SP body-fld-loc */
function extCommon(d: PartData): string {
  const dsp =
    d.disposition === null ? 'NIL' : `(${nstring(d.disposition)} ${params(d.dispositionParams, false)})`;
  const lang = d.language === null ? 'NIL' : `(${d.language.map((l) => nstring(l)).join(' ')})`;
  return ` ${dsp} ${lang} ${nstringNoLf(d.location)}`;
}

function children(parent: PartNode, extended: boolean): string {
  return parent.children.map((c) => `(${render(c, extended, parent)})`).join('');
}

/** A part whose structure was cut by a limit shows as application/octet-stream. */
function truncated(part: PartNode, parent: PartNode | null): boolean {
  const d = part.data;
  if (d.type !== null) {
    const t = d.type.toLowerCase();
    if (t === 'message' && (d.subtype ?? '').toLowerCase() === 'rfc822') return true;
    return t === 'multipart';
  }
  return parent !== null && (parent.flags & PartFlag.MULTIPART_DIGEST) !== 0;
}

function render(part: PartNode, extended: boolean, parent: PartNode | null = null): string {
  const d = part.data;
  if (part.flags & PartFlag.MULTIPART) {
    let out =
      part.children.length > 0 ? children(part, extended) : extended ? EMPTY_BODYSTRUCTURE : EMPTY_BODY;
    out += ` ${nstring(d.subtype ?? '')}`;
    if (!extended) return out;
    return `${out} ${params(d.params, false)}${extCommon(d)}`;
  }
  let out: string;
  let text = false;
  const rfc822 = (part.flags & PartFlag.MESSAGE_RFC822) !== 0;
  if (rfc822) out = '"message" "rfc822"';
  else if (truncated(part, parent)) out = '"application" "octet-stream"';
  else if (d.type === null) {
    text = true;
    out = '"text" "plain"';
  } else {
    text = d.type.toLowerCase() === 'text';
    out = `${nstring(d.type)} ${nstring(d.subtype ?? '')}`;
  }
  out += ` ${params(d.params, text)} ${nstringNoLf(d.id)} ${nstringNoLf(d.description)}`;
  out += ` ${d.encoding !== null ? nstring(d.encoding) : '"7bit"'} ${part.body.virtual}`;
  if (text) out += ` ${part.body.lines}`;
  else if (rfc822) {
    const child = part.children[0] as PartNode;
    out += ` (${renderEnvelope(child.envelope)}) ${children(part, extended)} ${part.body.lines}`;
  }
  if (!extended) return out;
  return `${out} ${nstringNoLf(d.md5)}${extCommon(d)}`;
}

/** BODY (extended = false) or BODYSTRUCTURE (extended = true), without the outer parentheses. */
export function renderBodyStructure(root: PartNode, extended: boolean): string {
  return render(root, extended);
}
