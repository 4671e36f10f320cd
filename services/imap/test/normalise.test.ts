// The normalisation rules of the conformance test accept exactly the
// differences CONFORMANCE.md lists, and nothing else.
import { describe, expect, it } from 'vitest';
import { allowedDifference } from './normalise.js';

describe('allowed differences', () => {
  it('accepts the RFC-allowed ones', () => {
    expect(allowedDifference('* 1 FETCH (BODY[] {3}\r\nabc)\r\n', '* 1 FETCH (BODY[] "abc")\r\n')).toMatch(
      /quoted/,
    );
    expect(
      allowedDifference('* 1 FETCH (ENVELOPE (NIL ""))\r\n', '* 1 FETCH (ENVELOPE ("" NIL))\r\n'),
    ).toMatch(/NIL/);
    expect(
      allowedDifference('* 1 FETCH (FLAGS (\\Seen))\r\n', '* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n'),
    ).toMatch(/Recent/);
    expect(
      allowedDifference('* 1 FETCH (BODY ("TEXT" "PLAIN"))\r\n', '* 1 FETCH (BODY ("text" "plain"))\r\n'),
    ).toMatch(/case/);
    expect(
      allowedDifference(
        '* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE 5)\r\n',
        '* 1 FETCH (FLAGS (\\Seen) UID 1 RFC822.SIZE 5)\r\n',
      ),
    ).toMatch(/order/);
  });
  it('refuses everything else', () => {
    expect(allowedDifference('* 1 FETCH (RFC822.SIZE 5)\r\n', '* 1 FETCH (RFC822.SIZE 6)\r\n')).toBeNull();
    expect(
      allowedDifference('* 1 FETCH (BODY[] {3}\r\nabc)\r\n', '* 1 FETCH (BODY[] {3}\r\nabd)\r\n'),
    ).toBeNull();
    expect(allowedDifference('* SEARCH 1 2\r\n', '* SEARCH 1 2 3\r\n')).toBeNull();
  });
});
