// Conformance against the recorded Dovecot corpus (fixtures/corpus, see its
// README): every FETCH of dovecot-golden.jsonl that the indexer answers
// (RFC822.SIZE, ENVELOPE, BODY, BODYSTRUCTURE, BODY[section]<partial>,
// RFC822.HEADER) is rendered and compared byte for byte with the response.
// INTERNALDATE/FLAGS come from the mailbox, not the message: those lines are
// counted and reported as not applicable, never silently dropped.

import { describe, expect, it } from 'vitest';
import { type GoldenLine, indexFile, loadJsonl, renderFetch } from './golden.js';

const NOT_OURS = new Set(['internaldate-flags']);

describe('Dovecot golden corpus', () => {
  const lines = loadJsonl('dovecot-golden.jsonl').filter((l) => l.file !== null);
  const cache = new Map<string, ReturnType<typeof indexFile>>();
  const get = (file: string) => {
    let e = cache.get(file);
    if (!e) {
      e = indexFile(file);
      cache.set(file, e);
    }
    return e;
  };

  it('matches every recorded FETCH response byte for byte', () => {
    const failures: { line: GoldenLine; got: string }[] = [];
    const perLabel = new Map<string, { ok: number; total: number }>();
    let notApplicable = 0;
    for (const line of lines) {
      const label = line.label.split(' ')[0] as string;
      if (NOT_OURS.has(label)) {
        notApplicable++;
        continue;
      }
      const { buf, index } = get(line.file as string);
      const got = renderFetch(line.command, buf, index);
      expect(got, `${line.file}: unsupported command ${line.command}`).not.toBeNull();
      const stat = perLabel.get(label) ?? { ok: 0, total: 0 };
      stat.total++;
      if (got === line.response) stat.ok++;
      else failures.push({ line, got: got as string });
      perLabel.set(label, stat);
    }
    const total = [...perLabel.values()].reduce((a, s) => a + s.total, 0);
    const ok = total - failures.length;
    console.log(
      `FETCH match rate: ${ok}/${total} (${((100 * ok) / total).toFixed(2)}%) over ${cache.size} messages; ` +
        `${notApplicable} INTERNALDATE/FLAGS lines are mailbox state, not indexer output`,
    );
    for (const [label, s] of perLabel) console.log(`  ${label.padEnd(24)} ${s.ok}/${s.total}`);
    for (const f of failures.slice(0, 5)) {
      console.log(
        `MISMATCH ${f.line.file} ${f.line.command}\n want ${JSON.stringify(f.line.response.slice(0, 400))}\n got  ${JSON.stringify(f.got.slice(0, 400))}`,
      );
    }
    expect(failures.map((f) => `${f.line.file} ${f.line.label}`)).toEqual([]);
  });

  it('RFC822.SIZE equals the manifest for every message', () => {
    for (const line of lines.filter((l) => l.label === 'envelope-bodystructure')) {
      const size = /RFC822\.SIZE (\d+)/.exec(line.response)?.[1];
      expect(get(line.file as string).index.size).toBe(Number(size));
    }
  });

  it('keeps the index JSON-serialisable', () => {
    const { index } = get(lines[0]?.file as string);
    expect(JSON.parse(JSON.stringify(index))).toEqual(index);
  });
});
