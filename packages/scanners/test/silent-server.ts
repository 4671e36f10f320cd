// A TCP server that accepts connections, reads everything and never answers:
// the scanner that hangs, for deadline tests. It also can answer a fixed reply.
import { createServer, type Server, type Socket } from 'node:net';

export interface StubServer {
  port: number;
  close(): Promise<void>;
}

export async function startStub(reply?: (sock: Socket) => void): Promise<StubServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
    sock.resume();
    reply?.(sock);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
