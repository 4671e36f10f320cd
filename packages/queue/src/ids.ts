// Spool ids: 26 characters of Crockford base32, the first 10 the time in
// milliseconds (so ids sort by arrival), the rest random. Safe as file names,
// BullMQ job ids and in SMTP replies.
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function newSpoolId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rand = random16();
  let tail = '';
  for (let i = 0; i < 16; i++) tail += ALPHABET[(pool[rand + i] as number) & 31];
  return time + tail;
}

// Random bytes are drawn 4 KiB at a time (one call into the CSPRNG per 256 ids, not per id).
const pool = Buffer.alloc(4096);
let used = pool.length;

/** Offset of 16 fresh random bytes in `pool`. */
function random16(): number {
  if (used + 16 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += 16;
  return used - 16;
}

export function isSpoolId(value: string): boolean {
  return ID.test(value);
}

/** The arrival time encoded in an id, in milliseconds. */
export function spoolIdTime(id: string): number {
  let t = 0;
  for (const ch of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(ch);
  return t;
}
