// A TCP relay in front of a real server that counts the connections it
// accepts and can drop a connection the way clamd drops an idle session
// (IdleTimeout): the next request is swallowed and the connection closed.
import { createServer, type Server, Socket } from 'node:net';

export interface Relay {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Every open connection closes, without a reply, at its next request bytes. */
  dropAtNextRequest(): void;
  close(): Promise<void>;
}

export async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  const open = new Set<{ client: Socket; upstream: Socket; drop: boolean }>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = new Socket();
    const pair = { client, upstream, drop: false };
    open.add(pair);
    const end = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (d: Buffer) => (pair.drop ? end() : upstream.write(d)));
    upstream.on('data', (d: Buffer) => client.write(d));
    upstream.connect(target.port, target.host);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    get accepted() {
      return accepted;
    },
    dropAtNextRequest() {
      for (const p of open) p.drop = true;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const p of open) {
          p.client.destroy();
          p.upstream.destroy();
        }
        server.close(() => r());
      }),
  };
}
