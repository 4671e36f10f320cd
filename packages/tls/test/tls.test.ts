import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';
import { loadTls } from '../src/index.js';

describe('loadTls', () => {
  it('makes one self-signed pair per volume, for the server name, shared by concurrent starters', async () => {
    const dataDir = makeTempDir('tls');
    const pairs = await Promise.all([1, 2, 3].map(() => loadTls({ dataDir, hostname: 'mail.example.test' })));
    for (const p of pairs) {
      expect(p.selfSigned).toBe(true);
      expect(p.cert.equals(pairs[0]?.cert as Buffer)).toBe(true);
    }
    const x509 = new X509Certificate(pairs[0]?.cert as Buffer);
    expect(x509.subject).toContain('CN=mail.example.test');
    expect(x509.subjectAltName).toContain('DNS:mail.example.test');
    const again = await loadTls({ dataDir, hostname: 'mail.example.test' });
    expect(again.cert.equals(pairs[0]?.cert as Buffer)).toBe(true);
  });

  it("uses the operator's files when given", async () => {
    const made = await loadTls({ dataDir: makeTempDir('tls'), hostname: 'a.example.test' });
    const dir = makeTempDir('tls-files');
    writeFileSync(join(dir, 'c.pem'), made.cert);
    writeFileSync(join(dir, 'k.pem'), made.key);
    const given = await loadTls({
      certFile: join(dir, 'c.pem'),
      keyFile: join(dir, 'k.pem'),
      dataDir: makeTempDir('tls'),
      hostname: 'b.example.test',
    });
    expect(given.selfSigned).toBe(false);
    expect(given.cert.equals(made.cert)).toBe(true);
  });
});
