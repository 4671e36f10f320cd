// The certificate for STARTTLS (RFC 3207): POSTAMT_TLS_CERT/KEY when given;
// otherwise a self-signed pair for the local run, made once with the openssl CLI
// into <data>/tls/ and reused by every later start.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '@postamt/observability';

export interface TlsPair {
  key: Buffer;
  cert: Buffer;
}

export async function loadTlsPair(o: {
  certFile?: string;
  keyFile?: string;
  data: string;
  hostname: string;
  logger: Logger;
}): Promise<TlsPair> {
  if (o.certFile && o.keyFile) return { cert: readFileSync(o.certFile), key: readFileSync(o.keyFile) };
  const dir = join(o.data, 'tls');
  const cert = join(dir, 'selfsigned.crt');
  const key = join(dir, 'selfsigned.key');
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      `/CN=${o.hostname}`,
      '-addext',
      `subjectAltName=DNS:${o.hostname}`,
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    o.logger.warn({ cert }, 'no POSTAMT_TLS_CERT/KEY: made a self-signed certificate');
  }
  return { cert: readFileSync(cert), key: readFileSync(key) };
}
