// A throw-away certificate authority for TLS tests (MTA-STS policy hosts, MX
// certificates checked under MTA-STS enforce or DANE-TA), made with openssl.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  key: string;
  /** Leaf then CA, as a server presents its chain. */
  cert: string;
  leaf: string;
}

export interface TestCa {
  cert: string;
  issue(names: string[]): Issued;
}

const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function startCa(dir: string): TestCa {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  run([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '2',
    '-subj',
    '/CN=Postamt Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const ca = readFileSync(caCert, 'utf8');
  let n = 0;
  return {
    cert: ca,
    issue(names) {
      n++;
      const [key, csr, crt, ext] = ['key', 'csr', 'pem', 'ext'].map((x) => join(dir, `leaf${n}.${x}`)) as [
        string,
        string,
        string,
        string,
      ];
      writeFileSync(ext, `subjectAltName=${names.map((d) => `DNS:${d}`).join(',')}\n`);
      run(['req', ...EC, '-keyout', key, '-out', csr, '-subj', `/CN=${names[0]}`]);
      run([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        caCert,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-out',
        crt,
        '-days',
        '1',
        '-extfile',
        ext,
      ]);
      const leaf = readFileSync(crt, 'utf8');
      return { key: readFileSync(key, 'utf8'), cert: leaf + ca, leaf };
    },
  };
}

/** TLSA certificate association data (RFC 6698 §2.1): selector 0 cert / 1 SPKI, matching 0/1/2. */
export function tlsaData(pem: string, selector: 0 | 1, matching: 0 | 1 | 2): Buffer {
  const cert = new X509Certificate(pem);
  const data = selector === 0 ? cert.raw : (cert.publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
  if (matching === 0) return data;
  return createHash(matching === 1 ? 'sha256' : 'sha512')
    .update(data)
    .digest();
}
