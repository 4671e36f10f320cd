// SHA512-CRYPT (`$6$`), the glibc crypt scheme Dovecot user files commonly
// hold, implemented from Ulrich Drepper's specification "Unix crypt using
// SHA-256 and SHA-512" (2007) with node:crypto. Used only to verify imported
// hashes; the directory rehashes to argon2id on the next successful login.
import { createHash, timingSafeEqual } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;

// The spec's byte permutation for the final base-64 encoding of SHA-512 output.
const ORDER: [number, number, number][] = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
];

const sha512 = (...parts: Buffer[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += block.length) block.copy(out, i, 0, Math.min(block.length, length - i));
  return out;
}

function b64(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ITOA64[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/** Computes the crypt string for `password` with the salt (and rounds) of `setting` (`$6$[rounds=N$]salt[$...]`). */
export function sha512Crypt(password: string, setting: string): string | null {
  const m = /^\$6\$(?:rounds=(\d+)\$)?([^$]*)/.exec(setting);
  if (!m) return null;
  const custom = m[1] !== undefined;
  const rounds = custom ? Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[1]))) : ROUNDS_DEFAULT;
  const S = Buffer.from((m[2] as string).slice(0, 16), 'utf8');
  const P = Buffer.from(password, 'utf8');

  const B = sha512(P, S, P);
  const a = createHash('sha512').update(P).update(S);
  let i = P.length;
  for (; i > 64; i -= 64) a.update(B);
  a.update(B.subarray(0, i));
  for (i = P.length; i > 0; i >>= 1) a.update(i & 1 ? B : P);
  let C = a.digest();

  const dp = createHash('sha512');
  for (i = 0; i < P.length; i++) dp.update(P);
  const Pseq = repeatTo(dp.digest(), P.length);
  const ds = createHash('sha512');
  for (i = 0; i < 16 + (C[0] as number); i++) ds.update(S);
  const Sseq = repeatTo(ds.digest(), S.length);

  for (let r = 0; r < rounds; r++) {
    const h = createHash('sha512');
    h.update(r & 1 ? Pseq : C);
    if (r % 3) h.update(Sseq);
    if (r % 7) h.update(Pseq);
    h.update(r & 1 ? C : Pseq);
    C = h.digest();
  }

  let out = '';
  for (const [x, y, z] of ORDER) out += b64(C[x] as number, C[y] as number, C[z] as number, 4);
  out += b64(0, 0, C[63] as number, 2);
  return `$6$${custom ? `rounds=${rounds}$` : ''}${S.toString('utf8')}$${out}`;
}

export function verifySha512Crypt(stored: string, password: string): boolean {
  const computed = sha512Crypt(password, stored);
  if (!computed) return false;
  const a = Buffer.from(computed);
  const b = Buffer.from(stored);
  return a.length === b.length && timingSafeEqual(a, b);
}
