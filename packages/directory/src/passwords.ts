// Password hashes. New hashes are argon2id. Hashes imported from Dovecot-style
// user files keep their scheme prefix ({ARGON2ID}, {SHA512-CRYPT}, ...) and are
// verified by that scheme; the directory rehashes them to argon2id at the next
// successful login.
import { hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { verifySha512Crypt } from './sha512-crypt.js';

// Algorithm.Argon2id; the package's enum is a const enum we cannot import directly.
const ARGON2ID = 2;

const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export async function hashPassword(password: string): Promise<string> {
  return `{ARGON2ID}${await hash(password, ARGON2_OPTIONS)}`;
}

/** Splits `{SCHEME}rest`; a bare `$argon2id$...` counts as ARGON2ID. */
export function hashScheme(stored: string): { scheme: string; value: string } {
  const m = /^\{([A-Z0-9-]+)\}(.*)$/s.exec(stored);
  if (m) return { scheme: m[1] as string, value: m[2] as string };
  if (stored.startsWith('$argon2')) return { scheme: 'ARGON2ID', value: stored };
  // Bare crypt strings, as in /etc/shadow-style imports.
  if (stored.startsWith('$6$')) return { scheme: 'SHA512-CRYPT', value: stored };
  if (/^\$2[abxy]\$/.test(stored)) return { scheme: 'BLF-CRYPT', value: stored };
  return { scheme: 'UNKNOWN', value: stored };
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const { scheme, value } = hashScheme(stored);
  switch (scheme) {
    case 'ARGON2ID':
    case 'ARGON2I':
      try {
        return await verify(value, password);
      } catch {
        return false;
      }
    case 'SHA512-CRYPT':
      return verifySha512Crypt(value, password);
    case 'BLF-CRYPT':
      // Dovecot's {BLF-CRYPT} is bcrypt ($2a$/$2b$/$2y$); bcryptjs reads all three.
      try {
        return await bcrypt.compare(password, value);
      } catch {
        return false;
      }
    default:
      // Unknown schemes never verify.
      return false;
  }
}

/** True when the stored hash should be replaced by a fresh argon2id hash. */
export function needsRehash(stored: string): boolean {
  return hashScheme(stored).scheme !== 'ARGON2ID';
}
