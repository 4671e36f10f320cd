// RFC 5322 §3.4 address lists for ENVELOPE (RFC 3501 §7.4.2): mailbox, group
// (start marker: mailbox = display name, domain NIL; end marker: all NIL),
// obsolete routes (§4.4) in the adl field.
//
// Broken input still yields an address, with the placeholders IMAP clients know:
// MISSING_MAILBOX, MISSING_DOMAIN, SYNTAX_ERROR, INVALID_ROUTE. A comment-only
// name becomes the personal name. Parsing stops at the first hard syntax error.

import { nulToReplacement } from './part-data.js';
import { Rfc822Parser } from './rfc822-tokens.js';
import type { Address } from './types.js';

/** Addresses kept per header field; hostile input must not grow the index. */
const MAX_ADDRESSES = 1000;

interface Work {
  name: string | null;
  route: string | null;
  mailbox: string | null;
  domain: string | null;
  invalid: boolean;
}

const blank = (): Work => ({ name: null, route: null, mailbox: null, domain: null, invalid: false });

class AddressParser {
  addr: Work = blank();
  readonly list: Address[] = [];
  readonly p: Rfc822Parser;
  /** Text of the last local part or domain parsed, complete or not. */
  private str = '';

  constructor(value: string) {
    this.p = new Rfc822Parser(value, true);
  }

  private add(): void {
    const a = this.addr;
    if (this.list.length < MAX_ADDRESSES) {
      const fix = (s: string | null) => (s === null ? null : nulToReplacement(s));
      this.list.push({
        name: fix(a.name),
        route: fix(a.route),
        mailbox: fix(a.mailbox),
        domain: fix(a.domain),
      });
    }
    this.addr = blank();
  }

  private localPart(): number {
    const p = this.p;
    const out = { s: '' };
    let ret: number;
    if (p.cur() === 0x22) ret = p.quotedString(out);
    else ret = this.nonStrictDotAtom(out);
    this.str = out.s;
    if (ret < 0) return -1;
    this.addr.mailbox = out.s;
    return ret;
  }

  /** dot-atom that tolerates leading, trailing and doubled dots. */
  private nonStrictDotAtom(out: { s: string }): number {
    const p = this.p;
    let ret = -1;
    do {
      while (p.cur() === 0x2e) {
        out.s += '.';
        p.pos++;
        if (p.atEnd()) return 0;
        ret = 1;
      }
      if (p.cur() === 0x40) break;
      ret = p.atom(out);
    } while (ret > 0 && p.cur() === 0x2e);
    return ret;
  }

  private domain(): number {
    const out = { s: '' };
    const ret = this.p.domain(out);
    this.str = out.s;
    if (ret < 0) return -1;
    this.addr.domain = out.s;
    return ret;
  }

  /** obs-domain-list = "@" domain *(*(CFWS / ",") [CFWS] "@" domain) */
  private domainList(): number {
    const p = this.p;
    let route = '';
    for (;;) {
      if (p.atEnd()) return 0;
      if (p.cur() !== 0x40) break;
      if (route.length > 0) route += ',';
      route += '@';
      const out = { s: '' };
      const ret = p.domain(out);
      route += out.s;
      if (ret <= 0) return ret;
      while (p.skipLwsp() > 0 && p.cur() === 0x2c) p.pos++;
    }
    this.addr.route = route;
    return 1;
  }

  private angleAddr(): number {
    const p = this.p;
    p.pos++;
    if (p.skipLwsp() <= 0) return -1;
    if (p.cur() === 0x40) {
      if (this.domainList() > 0 && p.cur() === 0x3a) {
        p.pos++;
      } else {
        this.addr.route = 'INVALID_ROUTE';
        if (p.atEnd()) return -1;
      }
      if (p.skipLwsp() <= 0) return -1;
    }
    if (p.cur() !== 0x3e) {
      if (this.localPart() <= 0) return -1;
      if (p.cur() === 0x40 && this.domain() <= 0) return -1;
    }
    if (p.cur() !== 0x3e) return -1;
    p.pos++;
    return p.skipLwsp();
  }

  private nameAddr(): number {
    const p = this.p;
    const out = { s: '' };
    if (p.phrase(out) <= 0 || p.cur() !== 0x3c) return -1;
    this.addr.name = out.s === '' ? null : out.s;
    if (this.angleAddr() < 0) {
      this.addr.domain = 'SYNTAX_ERROR';
      this.addr.invalid = true;
    }
    return p.atEnd() ? 0 : 1;
  }

  private addrSpec(): number {
    const p = this.p;
    let ret2 = -2;
    p.lastComment = '';
    const quoted = p.cur() === 0x22;
    let ret = this.localPart();
    if (ret <= 0) this.addr.invalid = true;
    if (ret !== 0 && !p.atEnd() && p.cur() === 0x40) {
      ret2 = this.domain();
      if (ret2 <= 0) ret = ret2;
    }
    if ((p.lastComment ?? '').length > 0) {
      this.addr.name = p.lastComment;
    } else if (ret2 === -2) {
      // "user" alone is a mailbox; "user more words" is a display name.
      let str = `${this.str} `;
      const origLen = str.length;
      const out = { s: '' };
      p.phrase(out);
      str += out.s;
      if (str.length !== origLen) {
        this.addr.mailbox = null;
        this.addr.name = str;
      } else if (!quoted) {
        this.addr.domain = '';
      }
      this.addr.invalid = true;
      ret = -1;
    }
    return ret;
  }

  private addFixed(): void {
    if (this.addr.mailbox === null) {
      this.addr.mailbox = 'MISSING_MAILBOX';
      this.addr.invalid = true;
    }
    if (this.addr.domain === null || this.addr.domain === '') {
      this.addr.domain = 'MISSING_DOMAIN';
      this.addr.invalid = true;
    }
    this.add();
  }

  mailbox(): number {
    const p = this.p;
    const start = p.pos;
    let ret = this.nameAddr();
    if (ret < 0) {
      p.pos = start;
      this.addr = blank();
      ret = this.addrSpec();
      const a = this.addr;
      if (a.invalid && a.name === null && a.mailbox !== null && a.domain === null) {
        a.name = a.mailbox;
        a.mailbox = null;
      }
    }
    if (ret < 0) this.addr.invalid = true;
    this.addFixed();
    return ret;
  }

  private group(): number {
    const p = this.p;
    const out = { s: '' };
    if (p.phrase(out) <= 0 || p.cur() !== 0x3a) return -1;
    p.pos++;
    let ret = p.skipLwsp();
    if (ret <= 0) this.addr.invalid = true;
    this.addr.mailbox = out.s;
    this.add();
    if (ret > 0 && p.cur() !== 0x3b) {
      for (;;) {
        this.mailbox();
        if (p.atEnd() || p.cur() !== 0x2c) break;
        p.pos++;
        if (p.skipLwsp() <= 0) {
          ret = -1;
          break;
        }
      }
    }
    if (ret >= 0) {
      if (p.atEnd() || p.cur() !== 0x3b) ret = -1;
      else {
        p.pos++;
        ret = p.skipLwsp();
      }
    }
    this.add();
    return ret === 0 ? 0 : 1;
  }

  private address(): number {
    const start = this.p.pos;
    const ret = this.group();
    if (ret >= 0) return ret;
    this.p.pos = start;
    this.addr = blank();
    return this.mailbox();
  }

  list_(): void {
    const p = this.p;
    if (p.skipLwsp() <= 0) return;
    for (let n = 0; n < MAX_ADDRESSES; n++) {
      if (this.address() === 0) break;
      if (p.atEnd() || p.cur() !== 0x2c) break;
      p.pos++;
      const ret = p.skipLwsp();
      if (ret <= 0) {
        if (ret < 0) this.addFixed();
        break;
      }
    }
  }
}

/** Parses an address-list header value (unfolded) into ENVELOPE address structures. */
export function parseAddressList(value: string): Address[] {
  const ap = new AddressParser(value);
  ap.list_();
  return ap.list;
}
