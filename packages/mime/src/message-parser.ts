// Walks the MIME structure once (RFC 2045, RFC 2046 §5.1 multipart, §5.2.1
// message/rfc822) and records, for every part, where its header and body lie in
// the file and how large they are in CRLF form.
//
// Boundary rules follow RFC 2046 §5.1.1: a boundary line is "--" + boundary at a
// line start, the preceding CRLF belongs to the boundary, only the prefix has to
// match, the innermost (latest) boundary is tried first and the longest match
// wins. A boundary of an outer multipart closes all inner parts. A multipart
// without usable boundary has no children.
//
// Limits: nesting deeper than `maxNesting` turns the part into a leaf; beyond
// `maxParts` no further boundaries are recognised. Header values are capped,
// and only the fields ENVELOPE and BODYSTRUCTURE read are kept, up to
// `maxHeaderBytes` per part.

import { nextHeader } from './header-parser.js';
import { isIndexedField } from './part-data.js';
import { Rfc822Parser } from './rfc822-tokens.js';
import { parseParams } from './rfc2231.js';
import { type IndexLimits, PartFlag, type PartNode, type Size } from './types.js';

/** RFC 2046 §5.1.1: boundaries are at most 70 chars; some slack for broken mail. */
const BOUNDARY_STRING_MAX_LEN = 80;
const BOUNDARY_END_MAX_LEN = BOUNDARY_STRING_MAX_LEN + 4;

export interface RawField {
  name: string;
  value: string;
}

/** A part while parsing: the stored node plus its header fields for part-data. */
export interface WorkPart extends PartNode {
  parent: WorkPart | null;
  fields: RawField[];
  children: WorkPart[];
}

interface Boundary {
  part: WorkPart;
  boundary: string;
  epilogueFound: boolean;
}

const emptySize = (): Size => ({ physical: 0, virtual: 0, lines: 0 });

function newPart(parent: WorkPart | null, pos: number): WorkPart {
  return {
    pos,
    header: emptySize(),
    body: emptySize(),
    flags: 0,
    data: null as never,
    children: [],
    parent,
    fields: [],
  };
}

type State = 'header' | 'toBoundary' | 'toEof' | 'skipBoundaryLine' | 'mimeHeader' | 'rfc822' | 'eof';

export class MessageParser {
  private pos = 0;
  private part: WorkPart;
  readonly root: WorkPart;
  private boundaries: Boundary[] = []; // newest first
  private lastBoundary: string | null = null;
  private multipart = false;
  private seenContentType = false;
  private lastChr = 10;
  private prevHdrNewline = 0;
  private nested = 0;
  private total = 1;
  private hdrHasNul = false;
  /** Bytes of field values kept for the current part. */
  private kept = 0;
  limited = false;

  constructor(
    private readonly s: string,
    private readonly limits: IndexLimits,
  ) {
    this.root = newPart(null, 0);
    this.part = this.root;
  }

  parse(): WorkPart {
    let state: State = 'header';
    this.startHeader();
    while (state !== 'eof') {
      switch (state) {
        case 'header':
          state = this.header();
          break;
        case 'toBoundary':
          state = this.toBoundary();
          break;
        case 'toEof':
          this.addBody(this.pos, this.s.length);
          state = 'eof';
          break;
        case 'skipBoundaryLine':
          state = this.skipBoundaryLine();
          break;
        case 'mimeHeader':
          this.append();
          this.part.flags |= PartFlag.IS_MIME;
          this.startHeader();
          state = 'header';
          break;
        case 'rfc822':
          this.append();
          this.startHeader();
          state = 'header';
          break;
      }
    }
    while (this.part.parent) this.finishPart();
    return this.root;
  }

  private startHeader(): void {
    this.seenContentType = false;
    this.prevHdrNewline = 0;
    this.hdrHasNul = false;
    this.kept = 0;
  }

  private tooDeep(): boolean {
    return this.nested + 1 >= this.limits.maxNesting;
  }

  private append(): void {
    const parent = this.part;
    const part = newPart(parent, parent.pos + parent.header.physical + parent.body.physical);
    parent.children.push(part);
    this.part = part;
    this.nested++;
    this.total++;
  }

  private finishPart(): void {
    const part = this.part;
    const parent = part.parent as WorkPart;
    this.nested--;
    addSize(parent.body, part.body);
    addSize(parent.body, part.header);
    this.part = parent;
  }

  /** Adds file bytes [from, to) to the current part's body, counting lines and CRs. */
  private addBody(from: number, to: number): void {
    if (to <= from) return;
    const s = this.s;
    const size = this.part.body;
    let missingCr = 0;
    let lines = 0;
    let i = s.indexOf('\n', from);
    while (i >= 0 && i < to) {
      lines++;
      const prev = i === from ? this.lastChr : s.charCodeAt(i - 1);
      if (prev !== 13) missingCr++;
      i = s.indexOf('\n', i + 1);
    }
    if (s.slice(from, to).includes('\0')) this.part.flags |= PartFlag.HAS_NULS;
    this.lastChr = s.charCodeAt(to - 1);
    this.pos = to;
    size.lines += lines;
    size.physical += to - from;
    size.virtual += to - from + missingCr;
  }

  /** Is there a boundary line at `p`? Sets its epilogue flag when found. */
  private boundaryAt(p: number): Boundary | null {
    const s = this.s;
    const size = s.length - p;
    if (size < 2 || s.charCodeAt(p) !== 0x2d || s.charCodeAt(p + 1) !== 0x2d) return null;
    if (this.total >= this.limits.maxParts) {
      this.limited = true;
      return null;
    }
    const start = p + 2;
    const lf = s.indexOf('\n', start);
    let findSize = s.length - start;
    let trailingDashes = false;
    if (lf >= 0) {
      findSize = lf - start;
      if (findSize > 0 && s.charCodeAt(start + findSize - 1) === 13) findSize--;
      if (findSize > 2 && s.startsWith('--', start + findSize - 2)) trailingDashes = true;
    } else if (findSize > BOUNDARY_END_MAX_LEN) {
      findSize = BOUNDARY_END_MAX_LEN;
    }
    let best: Boundary | null = null;
    for (const b of this.boundaries) {
      const len = b.boundary.length;
      if (len <= findSize && s.startsWith(b.boundary, start) && (!best || best.boundary.length < len)) {
        best = b;
        if (len === findSize || (len === findSize - 2 && trailingDashes)) break;
      }
    }
    if (!best) return null;
    const len = best.boundary.length;
    best.epilogueFound = s.length - start >= len + 2 && s.startsWith('--', start + len);
    return best;
  }

  private header(): State {
    const s = this.s;
    const part = this.part;
    const atEoh =
      this.pos < s.length &&
      (s.charCodeAt(this.pos) === 10 || (s.charCodeAt(this.pos) === 13 && s.charCodeAt(this.pos + 1) === 10));
    if (atEoh && this.lastBoundary !== null && part.flags & PartFlag.IS_MIME) {
      // End of a multipart's header: register its boundary now, so that an
      // identical prefix of an outer boundary is attributed correctly.
      if (!this.tooDeep()) {
        this.boundaries.unshift({ part, boundary: this.lastBoundary, epilogueFound: false });
        this.lastBoundary = null;
        this.multipart = true;
      } else {
        part.flags &= ~PartFlag.MULTIPART;
        this.limited = true;
      }
    }

    let boundaryHit = false;
    if (this.pos < s.length && this.boundaries.length > 0) {
      const b = this.boundaryAt(this.pos);
      if (b && b.part !== part) boundaryHit = true;
    }
    if (!boundaryHit) {
      const step = nextHeader(s, this.pos, this.limits.maxHeaderValue);
      if (step.kind === 'field') {
        const f = step.field;
        part.header.lines += f.lines;
        part.header.physical += f.end - f.start;
        part.header.virtual += f.virtual;
        this.pos = f.end;
        if (f.hasNul) this.hdrHasNul = true;
        this.prevHdrNewline = f.lastNewline;
        const lname = f.name.toLowerCase();
        if (isIndexedField(lname)) {
          this.kept += f.value.length;
          if (this.kept <= this.limits.maxHeaderBytes) part.fields.push({ name: f.name, value: f.value });
          else this.limited = true;
        }
        if (lname === 'mime-version') part.flags |= PartFlag.IS_MIME;
        else if (lname === 'content-type') {
          part.flags |= PartFlag.IS_MIME;
          this.contentType(f.value);
        }
        return 'header';
      }
      if (step.kind === 'eoh') {
        part.header.lines++;
        part.header.physical += step.end - this.pos;
        part.header.virtual += step.virtual;
        this.prevHdrNewline = step.end - this.pos;
        this.pos = step.end;
        // RFC 2046 §5.1.1: the CRLF before a boundary belongs to the boundary.
        // When an enclosing boundary follows the empty line at once, that line
        // is the boundary's CRLF: it moves to the parent, the body is empty.
        const b = this.boundaries.length > 0 ? this.boundaryAt(this.pos) : null;
        if (b && b.part !== part) this.moveLastNewlineToParent();
      }
    } else {
      // The header ran into a boundary: its last line end belongs to the boundary.
      this.moveLastNewlineToParent();
    }
    return this.endOfHeader();
  }

  private moveLastNewlineToParent(): void {
    const part = this.part;
    const parent = part.parent;
    if (this.prevHdrNewline === 0 || !parent) return;
    part.header.lines--;
    part.header.physical -= this.prevHdrNewline;
    part.header.virtual -= 2;
    parent.body.lines++;
    parent.body.physical += this.prevHdrNewline;
    parent.body.virtual += 2;
  }

  private endOfHeader(): State {
    const part = this.part;
    if (!(part.flags & PartFlag.IS_MIME)) part.flags = 0;
    this.lastBoundary = null;
    if (!this.seenContentType || !(part.flags & PartFlag.IS_MIME)) {
      // RFC 2046 §5.1.5: in a digest the default is message/rfc822, else text/plain.
      if (part.parent && part.parent.flags & PartFlag.MULTIPART_DIGEST) part.flags |= PartFlag.MESSAGE_RFC822;
      else part.flags |= PartFlag.TEXT;
    }
    if (this.hdrHasNul) part.flags |= PartFlag.HAS_NULS;
    this.lastChr = 10;
    if (this.multipart) {
      this.multipart = false;
      return 'toBoundary';
    }
    if (part.flags & PartFlag.MESSAGE_RFC822) {
      if (!this.tooDeep()) return 'rfc822';
      this.limited = true;
    }
    part.flags &= ~PartFlag.MESSAGE_RFC822;
    return this.boundaries.length > 0 ? 'toBoundary' : 'toEof';
  }

  /** The first Content-Type decides the part's kind and boundary. */
  private contentType(value: string): void {
    if (this.seenContentType) return;
    this.seenContentType = true;
    const p = new Rfc822Parser(value);
    p.skipLwsp();
    const out = { s: '' };
    const ret = p.contentType(out);
    const ct = out.s.toLowerCase();
    const part = this.part;
    if (ct === 'message/rfc822') part.flags |= PartFlag.MESSAGE_RFC822;
    else if (ct.startsWith('text') && (ct.length === 4 || ct[4] === '/')) part.flags |= PartFlag.TEXT;
    else if (ct.startsWith('multipart/')) {
      part.flags |= PartFlag.MULTIPART;
      if (ct.slice(10) === 'digest') part.flags |= PartFlag.MULTIPART_DIGEST;
    }
    if (ret < 0 || !(part.flags & PartFlag.MULTIPART) || this.lastBoundary !== null) return;
    for (const param of parseParams(p)) {
      if (param.name.toLowerCase() === 'boundary') {
        this.lastBoundary = param.value.slice(0, BOUNDARY_STRING_MAX_LEN);
        break;
      }
    }
  }

  private toBoundary(): State {
    const s = this.s;
    if (this.pos >= s.length) return 'eof';
    if (this.lastChr === 10) {
      const b = this.boundaryAt(this.pos);
      if (b) return this.finishAtBoundary(b, true);
    }
    let lf = s.indexOf('\n', this.pos);
    while (lf >= 0) {
      const b = this.boundaryAt(lf + 1);
      if (b) {
        const boundaryStart = lf > this.pos && s.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
        this.addBody(this.pos, boundaryStart);
        return this.finishAtBoundary(b, false);
      }
      lf = s.indexOf('\n', lf + 1);
    }
    this.addBody(this.pos, s.length);
    return 'eof';
  }

  private finishAtBoundary(b: Boundary, firstLine: boolean): State {
    while (this.part !== b.part) this.finishPart();
    const idx = this.boundaries.indexOf(b);
    this.boundaries.splice(0, b.epilogueFound ? idx + 1 : idx);
    let lineSize = 0;
    if (!firstLine) lineSize = this.s.charCodeAt(this.pos) === 13 ? 2 : 1;
    lineSize += 2 + b.boundary.length + (b.epilogueFound ? 2 : 0);
    this.addBody(this.pos, this.pos + lineSize);
    return 'skipBoundaryLine';
  }

  private skipBoundaryLine(): State {
    const s = this.s;
    if (this.pos >= s.length) return 'eof';
    const lf = s.indexOf('\n', this.pos);
    if (lf < 0) {
      this.addBody(this.pos, s.length);
      return 'eof';
    }
    this.addBody(this.pos, lf + 1);
    const top = this.boundaries[0];
    if (!top || top.part !== this.part) return this.boundaries.length > 0 ? 'toBoundary' : 'toEof';
    return 'mimeHeader';
  }
}

function addSize(dst: Size, src: Size): void {
  dst.physical += src.physical;
  dst.virtual += src.virtual;
  dst.lines += src.lines;
}
