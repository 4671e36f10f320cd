// The SMTP layer in-process with scripted sessions (testkit's LineClient) and
// hooks that record what they see: state machine, pipelining, DATA streaming
// and limits, smuggling in `reject` mode, PROXY v2, pregreet, errors.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { LineClient, makeTempDir } from '@postamt/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DataStream,
  MemoryPassedClients,
  proxyV2Header,
  Replies,
  type Session,
  type SmtpHooks,
  SmtpServer,
  type SmtpServerOptions,
} from '../src/index.js';

interface Received {
  from: string;
  to: string[];
  body: string;
  sizeExceeded: boolean;
  client: string;
}

let server: SmtpServer | undefined;

afterEach(async () => {
  await server?.close(500);
  server = undefined;
});

async function start(
  opts: Partial<SmtpServerOptions> = {},
  hooks: Partial<SmtpHooks> = {},
): Promise<{ port: number; got: Received[] }> {
  const got: Received[] = [];
  server = new SmtpServer(
    { hostname: 'mx.test.example', maxMessageSize: 1000, ...opts },
    {
      async onData(s: Session, stream: DataStream) {
        const chunks: Buffer[] = [];
        try {
          for await (const c of stream) chunks.push(c as Buffer);
        } catch {
          return Replies.tempFailure;
        }
        got.push({
          from: s.mailFrom?.address ?? '',
          to: s.rcptTo.map((r) => r.address),
          body: Buffer.concat(chunks).toString(),
          sizeExceeded: stream.sizeExceeded,
          client: s.remoteAddress,
        });
        return stream.sizeExceeded ? Replies.messageTooBig : { code: 250, status: '2.0.0', text: 'queued' };
      },
      ...hooks,
    },
  );
  return { port: await server.listen(0, '127.0.0.1'), got };
}

async function session(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await c.expect(/^220 /);
  await c.command('EHLO client.example.org', /^250 /);
  return c;
}

describe('session state machine', () => {
  it('walks EHLO → MAIL → RCPT → DATA and refuses commands out of order', async () => {
    const { port, got } = await start();
    const c = await LineClient.connect(port);
    await c.expect(/^220 mx\.test\.example /);
    expect(await c.command('MAIL FROM:<a@b.example>', /^\d{3} /)).toMatch(/^503 5\.5\.1 .*HELO/);
    await c.command('EHLO client.example.org', /^250 /);
    expect(await c.command('RCPT TO:<x@y.example>', /^\d{3} /)).toMatch(/^503 5\.5\.1 .*MAIL/);
    expect(await c.command('DATA', /^\d{3} /)).toMatch(/^503 /);
    await c.command('MAIL FROM:<a@b.example>', /^250 2\.1\.0/);
    expect(await c.command('MAIL FROM:<a@b.example>', /^\d{3} /)).toMatch(/^503 5\.5\.1 .*nested/);
    expect(await c.command('DATA', /^\d{3} /)).toMatch(/^554 5\.5\.1 /);
    await c.command('RCPT TO:<x@y.example>', /^250 2\.1\.5/);
    await c.command('DATA', /^354 /);
    c.write('Subject: t\r\n\r\n..dot\r\n.\r\n');
    await c.expect(/^250 2\.0\.0 queued/);
    expect(got).toEqual([
      {
        from: 'a@b.example',
        to: ['x@y.example'],
        body: 'Subject: t\r\n\r\n.dot\r\n',
        sizeExceeded: false,
        client: '127.0.0.1',
      },
    ]);
    expect(await c.command('VRFY alice', /^\d{3} /)).toMatch(/^252 /);
    expect(await c.command('QUIT', /^\d{3} /)).toMatch(/^221 /);
    await c.waitClosed();
  });

  it('answers a pipelined batch in order (RFC 2920), and input after the final dot', async () => {
    const { port, got } = await start(
      {},
      {
        onRcptTo: (_s, r) =>
          r.address.startsWith('bad') ? { code: 550, status: '5.1.1', text: 'unknown' } : null,
      },
    );
    const c = await session(port);
    c.write('MAIL FROM:<a@b.example>\r\nRCPT TO:<bad@y.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n');
    expect(await c.expect(/^\d{3} /)).toMatch(/^250 /);
    expect(await c.expect(/^\d{3} /)).toMatch(/^550 /);
    expect(await c.expect(/^\d{3} /)).toMatch(/^250 /);
    expect(await c.expect(/^\d{3} /)).toMatch(/^354 /);
    c.write('hi\r\n.\r\nMAIL FROM:<c@d.example>\r\nRCPT TO:<bad2@y.example>\r\nDATA\r\nQUIT\r\n');
    expect(await c.expect(/^\d{3} /)).toMatch(/^250 2\.0\.0 queued/);
    expect(await c.expect(/^\d{3} /)).toMatch(/^250 /);
    expect(await c.expect(/^\d{3} /)).toMatch(/^550 /);
    expect(await c.expect(/^\d{3} /)).toMatch(/^554 5\.5\.1 .*no valid recipients/);
    expect(await c.expect(/^\d{3} /)).toMatch(/^221 /);
    expect(got).toHaveLength(1);
  });

  it('refuses a declared SIZE over the limit at MAIL, and an undeclared one after draining DATA', async () => {
    const { port, got } = await start();
    const c = await session(port);
    expect(await c.command('MAIL FROM:<a@b.example> SIZE=5000', /^\d{3} /)).toMatch(/^552 5\.3\.4 /);
    await c.command('MAIL FROM:<a@b.example> SIZE=500', /^250 /);
    await c.command('RCPT TO:<x@y.example>', /^250 /);
    await c.command('DATA', /^354 /);
    c.write(`${'x'.repeat(998)}\r\n`.repeat(50));
    c.write('.\r\n');
    expect(await c.expect(/^\d{3} /)).toMatch(/^552 5\.3\.4 /);
    expect(got[0]?.sizeExceeded).toBe(true);
    expect(got[0]?.body.length).toBeLessThanOrEqual(1000);
    // The session goes on.
    expect(await c.command('NOOP', /^\d{3} /)).toMatch(/^250 /);
  });

  it('streams DATA with back-pressure: a slow consumer still gets every byte', async () => {
    const { port } = await start(
      { maxMessageSize: 20_000_000 },
      {
        async onData(_s, stream) {
          let n = 0;
          for await (const c of stream) {
            n += (c as Buffer).length;
            await new Promise((r) => setImmediate(r));
          }
          return { code: 250, status: '2.0.0', text: `got ${n}` };
        },
      },
    );
    const c = await session(port);
    await c.command('MAIL FROM:<a@b.example>', /^250 /);
    await c.command('RCPT TO:<x@y.example>', /^250 /);
    await c.command('DATA', /^354 /);
    const line = `${'y'.repeat(998)}\r\n`;
    c.write(line.repeat(10_000));
    c.write('.\r\n');
    expect(await c.expect(/^250 /, 30_000)).toBe(`250 2.0.0 got ${line.length * 10_000}`);
  });

  it('refuses a smuggling attempt in reject mode, and the hook never sees a complete message', async () => {
    const { port, got } = await start({ bareNewlineDot: 'reject' });
    const c = await session(port);
    await c.command('MAIL FROM:<a@b.example>', /^250 /);
    await c.command('RCPT TO:<x@y.example>', /^250 /);
    await c.command('DATA', /^354 /);
    c.write('Subject: a\r\n\r\nbody\n.\nMAIL FROM:<evil@example.org>\r\n.\r\n');
    expect(await c.expect(/^\d{3} /)).toMatch(/^550 5\.6\.0 /);
    expect(got).toEqual([]);
    expect(await c.command('NOOP', /^\d{3} /)).toMatch(/^250 /);
  });
});

describe('protocol hygiene', () => {
  it('answers a whole pipelined session even when the client half-closes after QUIT', async () => {
    const { port, got } = await start();
    const s = new Socket();
    await new Promise<void>((resolve) => s.connect(port, '127.0.0.1', resolve));
    let out = '';
    s.on('data', (d) => {
      out += d.toString();
    });
    const closed = new Promise((resolve) => s.on('close', resolve));
    await new Promise((r) => setTimeout(r, 50));
    s.end(
      'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n',
    );
    await closed;
    expect(
      out
        .split('\r\n')
        .filter((l) => /^\d{3} /.test(l))
        .map((l) => l.slice(0, 3)),
    ).toEqual(['220', '250', '250', '250', '354', '250', '221']);
    expect(got).toHaveLength(1);
  });

  it('closes the connection after QUIT without waiting for the client to close its side', async () => {
    const closedSessions: string[] = [];
    const { port } = await start({}, { onClose: (s) => void closedSessions.push(s.id) });
    const s = new Socket();
    await new Promise<void>((resolve) => s.connect(port, '127.0.0.1', resolve));
    let out = '';
    s.on('data', (d) => {
      out += d.toString();
    });
    s.on('error', () => {});
    const ended = new Promise((resolve) => s.once('end', resolve));
    const closed = new Promise((resolve) => s.once('close', resolve));
    await new Promise<void>((resolve) => {
      const check = () => (out.includes('\r\n') ? resolve() : s.once('data', check));
      check();
    });
    s.write('EHLO c.example\r\n');
    await new Promise<void>((resolve) => {
      const check = () => (/^250 /m.test(out) ? resolve() : s.once('data', check));
      check();
    });
    s.write('QUIT\r\n');
    // Our side stays open; the server ends the stream after its 221.
    await ended;
    expect(out.trimEnd().split('\r\n').at(-1)).toMatch(/^221 /);
    expect(closedSessions).toHaveLength(1);
    // The server's socket is gone: what the client sends now is not answered.
    s.end('NOOP\r\n');
    await closed;
    expect(out.trimEnd().split('\r\n').at(-1)).toMatch(/^221 /);
  });

  it('still delivers the 221 when the client sent more after QUIT', async () => {
    const { port } = await start();
    const s = new Socket();
    await new Promise<void>((resolve) => s.connect(port, '127.0.0.1', resolve));
    let out = '';
    s.on('data', (d) => {
      out += d.toString();
    });
    const ended = new Promise((resolve) => s.once('end', resolve));
    await new Promise<void>((resolve) => {
      const check = () => (out.includes('\r\n') ? resolve() : s.once('data', check));
      check();
    });
    // Pipelined after QUIT: closing with that input unread would reset the connection.
    s.write('EHLO c.example\r\nQUIT\r\nNOOP\r\nNOOP\r\n');
    await ended;
    s.end();
    expect(
      out
        .split('\r\n')
        .filter((l) => /^\d{3} /.test(l))
        .map((l) => l.slice(0, 3)),
    ).toEqual(['220', '250', '221']);
  });

  it('closes after too many errors, and after too many unknown commands', async () => {
    const { port } = await start({ maxErrors: 3, maxUnknownCommands: 2 });
    const c = await session(port);
    c.write('MAIL\r\nRCPT\r\nDATA\r\n');
    expect(await c.expect(/^421 /)).toMatch(/^421 4\.7\.0 .*too many errors/);
    await c.waitClosed();
    const d = await session(port);
    d.write('FOO\r\nBAR\r\n');
    expect(await d.expect(/^421 /)).toMatch(/too many errors/);
    await d.waitClosed();
  });

  it('answers 500 to an overlong line and goes on; drops bare LF and bare CR', async () => {
    const { port } = await start();
    const c = await session(port);
    expect(await c.command(`NOOP ${'x'.repeat(20_000)}`, /^\d{3} /)).toMatch(/^500 5\.5\.2 .*too long/);
    expect(await c.command('NOOP', /^\d{3} /)).toMatch(/^250 /);
    c.write('NOOP\n');
    expect(await c.expect(/^\d{3} /)).toMatch(/^500 5\.5\.2 .*bare <LF>/);
    await c.waitClosed();
    const d = await session(port);
    d.write('NOOP\rNOOP\r\n');
    expect(await d.expect(/^\d{3} /)).toMatch(/^500 5\.5\.2 .*bare <CR>/);
    await d.waitClosed();
  });

  it('says goodbye to an HTTP client', async () => {
    const { port } = await start();
    const c = await LineClient.connect(port);
    await c.expect(/^220 /);
    c.send('GET / HTTP/1.1');
    expect(await c.expect(/^\d{3} /)).toMatch(/^221 /);
    await c.waitClosed();
  });

  it('serves only QUIT after the connect hook refused the client', async () => {
    const { port } = await start({}, { onConnect: () => ({ code: 554, status: '5.7.1', text: 'listed' }) });
    const c = await LineClient.connect(port);
    expect(await c.expect(/^\d{3} /)).toMatch(/^554 5\.7\.1 listed/);
    expect(await c.command('EHLO x.example', /^\d{3} /)).toMatch(/^503 5\.7\.0 /);
    expect(await c.command('QUIT', /^\d{3} /)).toMatch(/^221 /);
  });

  it('answers 451 when a hook throws, and when it misses its deadline', async () => {
    const { port } = await start(
      { timeouts: { hook: 200 } },
      {
        onMailFrom: () => {
          throw new Error('boom');
        },
        onRcptTo: () => new Promise(() => {}),
      },
    );
    const c = await session(port);
    expect(await c.command('MAIL FROM:<a@b.example>', /^\d{3} /)).toMatch(/^451 4\.3\.0 /);
  });
});

/** A raw connection from a given loopback source address. */
function connectFrom(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = new Socket();
    s.once('error', reject);
    s.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
  });
}

function firstLine(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      const i = buf.indexOf('\r\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    s.on('close', () => resolve(buf));
  });
}

describe('pregreet, PROXY and per-client limits', () => {
  it('makes an unknown client wait, drops it if it talks, and greets a passed client at once', async () => {
    const memory = new MemoryPassedClients(3600_000);
    const { port } = await start({ pregreetWaitMs: 400, passedClients: memory });
    const eager = await connectFrom(port, '127.0.0.2');
    eager.write('EHLO eager.example\r\n');
    expect(await firstLine(eager)).toMatch(/^421 4\.7\.0 .*talk too soon/);
    const t0 = performance.now();
    const s = await connectFrom(port, '127.0.0.3');
    expect(await firstLine(s)).toMatch(/^220 /);
    // A timer never fires early: the unknown client waited the whole 400 ms.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    s.destroy();
    expect(memory.has('127.0.0.3')).toBe(true);
    // No upper bound on time (machines are noisy): instead a server whose wait
    // is ten minutes, sharing the memory, must greet the passed client at all.
    const first = server;
    const { port: slowPort } = await start({ pregreetWaitMs: 600_000, passedClients: memory });
    await first?.close();
    for (let i = 0; i < 3; i++) {
      const again = await connectFrom(slowPort, '127.0.0.3');
      expect(await firstLine(again)).toMatch(/^220 /);
      again.destroy();
    }
    // ...while a client it does not know is still held there, and dropped if it talks.
    const stranger = await connectFrom(slowPort, '127.0.0.4');
    stranger.write('EHLO eager.example\r\n');
    expect(await firstLine(stranger)).toMatch(/^421 4\.7\.0 .*talk too soon/);
  });

  it('greets an exempt client (our own network) without the wait, and does not remember it', async () => {
    const memory = new MemoryPassedClients(3600_000);
    // A ten-minute wait: only an exempt client can be greeted within the test.
    const { port } = await start({
      pregreetWaitMs: 600_000,
      passedClients: memory,
      pregreetExempt: (ip) => ip === '127.0.0.5',
    });
    const ours = await connectFrom(port, '127.0.0.5');
    expect(await firstLine(ours)).toMatch(/^220 /);
    ours.destroy();
    expect(memory.has('127.0.0.5')).toBe(false);
    // Anyone else is still held, and dropped if it talks.
    const stranger = await connectFrom(port, '127.0.0.6');
    stranger.write('EHLO eager.example\r\n');
    expect(await firstLine(stranger)).toMatch(/^421 4\.7\.0 .*talk too soon/);
  });

  it('takes the client address from a PROXY v2 header, and drops a connection without one', async () => {
    const { port, got } = await start({ proxyProtocol: true });
    const c = await LineClient.connect(port);
    c.write(proxyV2Header({ address: '203.0.113.7', port: 4711 }, { address: '127.0.0.1', port }));
    await c.expect(/^220 /);
    await c.command('EHLO client.example.org', /^250 /);
    await c.command('MAIL FROM:<a@b.example>', /^250 /);
    await c.command('RCPT TO:<x@y.example>', /^250 /);
    await c.command('DATA', /^354 /);
    c.write('hi\r\n.\r\n');
    await c.expect(/^250 /);
    expect(got[0]?.client).toBe('203.0.113.7');
    const bare = await LineClient.connect(port);
    bare.send('EHLO client.example.org');
    await bare.waitClosed();
  });

  it('limits connections, messages and recipients per client', async () => {
    const { port } = await start({
      proxyProtocol: true,
      limits: { connections: 2, messages: 2, recipients: 3, windowMs: 60_000 },
    });
    const from = async (ip: string) => {
      const c = await LineClient.connect(port);
      c.write(`PROXY TCP4 ${ip} 127.0.0.1 1234 25\r\n`);
      return c;
    };
    const a = await from('198.51.100.1');
    const b = await from('198.51.100.1');
    await a.expect(/^220 /);
    await b.expect(/^220 /);
    const third = await from('198.51.100.1');
    expect(await third.expect(/^\d{3} /)).toMatch(/^421 4\.7\.0 .*too many connections/);
    const other = await from('198.51.100.2');
    await other.expect(/^220 /);
    await a.command('EHLO client.example.org', /^250 /);
    await a.command('MAIL FROM:<a@b.example>', /^250 /);
    for (let i = 0; i < 3; i++) await a.command(`RCPT TO:<x${i}@y.example>`, /^250 /);
    expect(await a.command('RCPT TO:<x9@y.example>', /^\d{3} /)).toMatch(/^450 4\.7\.1 /);
    await a.command('RSET', /^250 /);
    await a.command('MAIL FROM:<a@b.example>', /^250 /);
    await a.command('RSET', /^250 /);
    expect(await a.command('MAIL FROM:<a@b.example>', /^\d{3} /)).toMatch(/^450 4\.7\.1 /);
  });
});

describe('STARTTLS and the AUTH hook', () => {
  function secureContext() {
    const dir = makeTempDir('smtp-tls');
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=mx.test.example',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    return createSecureContext({ key: readFileSync(key), cert: readFileSync(cert) });
  }

  it('discards input pipelined with STARTTLS, starts over, and offers AUTH only under TLS', async () => {
    const seen: string[] = [];
    const { port, got } = await start(
      { tls: { secureContext: secureContext() } },
      {
        async onAuth(_s, req) {
          const answer = req.initial ?? (await req.challenge('')) ?? '';
          const [, user, pass] = Buffer.from(answer, 'base64').toString().split('\0');
          return pass === 'secret'
            ? { ok: true, user: user ?? '' }
            : { ok: false, reply: { code: 535, status: '5.7.8', text: 'no' } };
        },
        onMailFrom: (s) => {
          seen.push(s.transmissionType);
          return null;
        },
      },
    );
    const c = await LineClient.connect(port);
    await c.expect(/^220 /);
    c.send('EHLO client.example.org');
    const ehlo: string[] = [];
    for (;;) {
      const l = await c.expect(/^250[- ]/);
      ehlo.push(l);
      if (l.startsWith('250 ')) break;
    }
    expect(ehlo).toContain('250-STARTTLS');
    expect(ehlo.some((l) => l.includes('AUTH'))).toBe(false);
    expect(await c.command('AUTH PLAIN', /^\d{3} /)).toMatch(/^538 5\.7\.11 /);
    c.write('STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n');
    await c.expect(/^220 2\.0\.0 /);
    await c.startTls();
    expect(await c.command('RCPT TO:<x@y.example>', /^\d{3} /)).toMatch(/^503 5\.5\.1 .*HELO/);
    c.send('EHLO client.example.org');
    expect(await c.expect(/^250-AUTH PLAIN LOGIN/)).toBeTruthy();
    await c.expect(/^250 /);
    expect(await c.command('STARTTLS', /^\d{3} /)).toMatch(/^503 5\.5\.1 /);
    const bad = Buffer.from('\0alice\0wrong').toString('base64');
    expect(await c.command(`AUTH PLAIN ${bad}`, /^\d{3} /)).toMatch(/^535 5\.7\.8 /);
    c.send('AUTH PLAIN');
    await c.expect(/^334 /);
    expect(await c.command(Buffer.from('\0alice\0secret').toString('base64'), /^\d{3} /)).toMatch(
      /^235 2\.7\.0 /,
    );
    await c.command('MAIL FROM:<a@b.example>', /^250 /);
    await c.command('RCPT TO:<x@y.example>', /^250 /);
    await c.command('DATA', /^354 /);
    c.write('hi\r\n.\r\n');
    await c.expect(/^250 /);
    expect(seen).toEqual(['ESMTPSA']);
    expect(got).toHaveLength(1);
  });

  it('serves implicit TLS: TLS from the first octet, AUTH offered, no STARTTLS', async () => {
    const { port } = await start(
      { tls: { secureContext: secureContext(), implicit: true } },
      { onAuth: async () => ({ ok: true, user: 'alice' }) },
    );
    const c = await LineClient.connectTls(port);
    await c.expect(/^220 /);
    c.send('EHLO client.example.org');
    const ehlo: string[] = [];
    for (;;) {
      const l = await c.expect(/^250[- ]/);
      ehlo.push(l);
      if (l.startsWith('250 ')) break;
    }
    expect(ehlo).toContain('250-AUTH PLAIN LOGIN');
    expect(ehlo).not.toContain('250-STARTTLS');
    expect(await c.command('STARTTLS', /^\d{3} /)).toMatch(/^503 5\.5\.1 /);
    expect(await c.command(`AUTH PLAIN ${Buffer.from('\0alice\0x').toString('base64')}`, /^\d{3} /)).toMatch(
      /^235 2\.7\.0 /,
    );
    c.close();
  });

  it('an implicit TLS listener drops a client that speaks plain SMTP', async () => {
    const { port } = await start({ tls: { secureContext: secureContext(), implicit: true } });
    const c = await LineClient.connect(port);
    c.send('EHLO client.example.org');
    await waitClosed(c);
    expect(c.lines.filter((l) => /^\d{3}/.test(l))).toEqual([]);
  });
});

async function waitClosed(c: LineClient): Promise<void> {
  for (let i = 0; i < 100 && !c.closed; i++) await new Promise((r) => setTimeout(r, 50));
  expect(c.closed).toBe(true);
}
