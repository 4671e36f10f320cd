// The Dovecot golden corpus (packages/mime/test/fixtures/corpus, see its
// README): messages, manifest and recorded answers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CORPUS = join(import.meta.dirname, '../../../packages/mime/test/fixtures/corpus');

export interface Recorded {
  file: string | null;
  uid: number | null;
  label: string;
  command: string;
  tag: string;
  response: string;
  tagged: string;
  setup?: boolean;
}

export function recorded(name: 'dovecot-golden.jsonl' | 'dovecot-search.jsonl'): Recorded[] {
  return readFileSync(join(CORPUS, name), 'latin1')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Recorded);
}

export interface ManifestRow {
  uid: number;
  file: string;
  internaldate: string;
}

export function manifest(): ManifestRow[] {
  const [head, ...rows] = readFileSync(join(CORPUS, 'MANIFEST.tsv'), 'utf8').trim().split('\n');
  const cols = (head as string).split('\t');
  return rows.map((r) => {
    const v = r.split('\t');
    const get = (c: string) => v[cols.indexOf(c)] as string;
    return { uid: Number(get('uid')), file: get('file'), internaldate: get('internaldate') };
  });
}

export const message = (file: string): Buffer => readFileSync(join(CORPUS, 'messages', file));
