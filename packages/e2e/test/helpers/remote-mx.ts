// The outside world for the relay in e2e runs: Postfix's own smtp-sink as the
// MX of two remote domains, on loopback addresses of their own, with the test
// DNS server pointing there. `far.test` accepts everything and dumps each
// transaction to a file; `reject.test` refuses every RCPT with 5xx, so mail to
// it must come back to the sender as a DSN. `liar.test` is a hostile MX of
// our own whose multi-line 550 tries to smuggle header and DSN fields into
// the bounce.
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  startDnsServer,
  startProcess,
  type TestDnsServer,
  waitFor,
} from '@postamt/testkit';

export const ACCEPTING_DOMAIN = 'far.test';
export const REJECTING_DOMAIN = 'reject.test';
const ACCEPTING_IP = '127.0.0.8';
const REJECTING_IP = '127.0.0.9';
export const HOSTILE_DOMAIN = 'liar.test';
const HOSTILE_IP = '127.0.0.10';
/** The hostile MX's answer to RCPT: each line is a field it hopes to see in the DSN. */
export const HOSTILE_REPLY = [
  '550-5.1.1 no such user',
  '550-Bcc: victim@evil.test',
  '550-Content-Type: text/html',
  '550-Final-Recipient: rfc822; ceo@evil.test',
  '550 Action: delivered',
];

export interface RemoteMx {
  dns: TestDnsServer;
  /** The port both sinks listen on (the relay's POSTAMT_RELAY_SMTP_PORT). */
  port: number;
  /** Test token (X-E2E-Token header) → number of transactions the accepting sink received with it. */
  received(): Map<string, number>;
  stop(): Promise<void>;
}

function sink(ip: string, port: number, args: string[], logDir: string): ManagedProcess {
  // As root smtp-sink insists on dropping privileges (-u).
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  return startProcess('smtp-sink', [...user, ...args, `${ip}:${port}`, '256'], {
    logFile: join(logDir, `smtp-sink-${ip}.log`),
  });
}

/** Answers every RCPT with HOSTILE_REPLY; everything else gets a plain 250. */
function hostileMx(ip: string, port: number): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.write('220 liar ESMTP\r\n');
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i).toUpperCase();
        buf = buf.slice(i + 2);
        if (line.startsWith('EHLO')) socket.write('250-liar\r\n250 ENHANCEDSTATUSCODES\r\n');
        else if (line.startsWith('RCPT')) socket.write(`${HOSTILE_REPLY.join('\r\n')}\r\n`);
        else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve(server));
  });
}

async function listening(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: ip, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export async function startRemoteMx(logDir: string): Promise<RemoteMx> {
  const dns = await startDnsServer();
  const port = await freePort();
  const dumps = makeTempDir('e2e-sink');
  chmodSync(dumps, 0o777);
  const sinks = [
    sink(ACCEPTING_IP, port, ['-d', join(dumps, 'm')], logDir),
    sink(REJECTING_IP, port, ['-f', 'rcpt'], logDir),
  ];
  const liar = await hostileMx(HOSTILE_IP, port);
  await waitFor('smtp-sinks listening', async () =>
    (await Promise.all([listening(ACCEPTING_IP, port), listening(REJECTING_IP, port)])).every(Boolean),
  );
  dns.set(ACCEPTING_DOMAIN, [{ type: 'MX', exchange: `mx.${ACCEPTING_DOMAIN}`, priority: 10 }]);
  dns.host4(`mx.${ACCEPTING_DOMAIN}`, ACCEPTING_IP);
  dns.set(REJECTING_DOMAIN, [{ type: 'MX', exchange: `mx.${REJECTING_DOMAIN}`, priority: 10 }]);
  dns.host4(`mx.${REJECTING_DOMAIN}`, REJECTING_IP);
  dns.set(HOSTILE_DOMAIN, [{ type: 'MX', exchange: `mx.${HOSTILE_DOMAIN}`, priority: 10 }]);
  dns.host4(`mx.${HOSTILE_DOMAIN}`, HOSTILE_IP);
  return {
    dns,
    port,
    received() {
      const counts = new Map<string, number>();
      for (const name of readdirSync(dumps)) {
        const token = /^X-E2E-Token: (\S+)/m.exec(readFileSync(join(dumps, name), 'latin1'))?.[1];
        if (token) counts.set(token, (counts.get(token) ?? 0) + 1);
      }
      return counts;
    },
    async stop() {
      await Promise.all(sinks.map((s) => s.stop()));
      await new Promise((resolve) => liar.close(resolve));
      await dns.stop();
    },
  };
}
