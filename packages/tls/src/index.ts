// Certificate and key for STARTTLS/STLS and the implicit-TLS listeners of
// intake, imap and pop3. From
// POSTAMT_TLS_CERT/KEY when set; otherwise a self-signed pair for local runs,
// kept in <data>/tls/selfsigned/ and reused on the next start (and by other
// services). It is made with the openssl CLI in a private temp directory that
// is renamed into place, so concurrent starters never see half a pair.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  selfSigned: boolean;
}

async function readPair(dir: string): Promise<{ key: Buffer; cert: Buffer } | null> {
  try {
    const [key, cert] = await Promise.all([readFile(join(dir, 'key.pem')), readFile(join(dir, 'cert.pem'))]);
    return { key, cert };
  } catch {
    return null;
  }
}

export async function loadTls(opts: {
  certFile?: string;
  keyFile?: string;
  dataDir: string;
  hostname: string;
}): Promise<TlsMaterial> {
  if (opts.certFile && opts.keyFile) {
    const [key, cert] = await Promise.all([readFile(opts.keyFile), readFile(opts.certFile)]);
    return { key, cert, selfSigned: false };
  }
  const root = join(opts.dataDir, 'tls');
  const dir = join(root, 'selfsigned');
  const existing = await readPair(dir);
  if (existing) return { ...existing, selfSigned: true };

  await mkdir(root, { recursive: true, mode: 0o700 });
  const tmp = join(root, `.tmp-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { mode: 0o700 });
  try {
    // The host name was validated by the config schema; execFile runs no shell.
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${opts.hostname}`,
      '-addext',
      `subjectAltName=DNS:${opts.hostname}`,
      '-days',
      '3650',
      '-keyout',
      join(tmp, 'key.pem'),
      '-out',
      join(tmp, 'cert.pem'),
    ]);
    await rename(tmp, dir).catch(() => {}); // another process won the race: use its pair
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const made = await readPair(dir);
  if (!made) throw new Error('could not create a self-signed TLS certificate');
  return { ...made, selfSigned: true };
}
