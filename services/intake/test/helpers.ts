// Shared by the intake tests: start the intake against a test Redis and DNS
// server, and script one SMTP transaction with the raw LineClient, returning
// each stage's reply line so a test can assert exactly where a check answered.
import { Directory } from '@postamt/directory';
import { connectRedis, type Redis, Spool } from '@postamt/queue';
import {
  freePort,
  LineClient,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  startRedis,
  startService,
} from '@postamt/testkit';

export interface Env {
  redisServer: RedisServer;
  redis: Redis;
}

export async function startEnv(): Promise<Env> {
  const redisServer = await startRedis();
  const redis = connectRedis(redisServer.url, 'worker');
  redis.on('error', () => {});
  const dir = new Directory(redis);
  await dir.addDomain('example.test');
  await dir.putUser({ address: 'alice@example.test', password: 'secret' });
  await dir.putUser({ address: 'carol@example.test', password: 'secret' });
  return { redisServer, redis };
}

export interface Intake {
  proc: ServiceProcess;
  port: number;
  data: string;
}

export async function startIntake(env: Env, vars: Record<string, string>): Promise<Intake> {
  const data = makeTempDir('intake-data');
  const port = await freePort();
  const proc = await startService('intake', {
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: env.redisServer.url,
    POSTAMT_HOSTNAME: 'mx.postamt.test',
    POSTAMT_SMTP_PORT: String(port),
    POSTAMT_DNS_TIMEOUT: '300ms',
    POSTAMT_DNS_CACHE_TTL: '0s',
    POSTAMT_LOG_LEVEL: 'debug',
    // The submission listeners have their own tests (submission.test.ts).
    POSTAMT_SUBMISSION_PORT: 'off',
    POSTAMT_SUBMISSIONS_PORT: 'off',
    ...vars,
  });
  return { proc, port, data };
}

export interface Transaction {
  greeting: string;
  mail?: string;
  rcpt?: string;
  data?: string;
  /** The queue id when the message was accepted. */
  id?: string;
}

/** One transaction; stops at the first non-2xx/3xx reply. */
export async function transact(
  port: number,
  t: { helo?: string; from?: string; to?: string; body?: string },
): Promise<Transaction> {
  const c = await LineClient.connect(port);
  try {
    const greeting = await c.expect(/^\d{3} /);
    const out: Transaction = { greeting };
    if (!greeting.startsWith('220')) return out;
    await c.command(`EHLO ${t.helo ?? 'client.example.org'}`, /^250 /);
    out.mail = await c.command(`MAIL FROM:<${t.from ?? 'bob@example.org'}>`, /^\d{3} /);
    if (!out.mail.startsWith('250')) return out;
    out.rcpt = await c.command(`RCPT TO:<${t.to ?? 'alice@example.test'}>`, /^\d{3} /);
    if (!out.rcpt.startsWith('250')) return out;
    await c.command('DATA', /^354 /);
    c.write(`${t.body ?? 'Subject: hi\r\n\r\nhello\r\n'}.\r\n`);
    out.data = await c.expect(/^\d{3} /);
    out.id = /queued as ([0-9A-Z]{26})/.exec(out.data)?.[1];
    c.send('QUIT');
    return out;
  } finally {
    c.close();
  }
}

export async function storedMessage(data: string, id: string): Promise<string> {
  const entry = await new Spool(data).openMessage(id);
  const chunks: Buffer[] = [];
  for await (const chunk of entry.stream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}
