// One SMTP connection: transport and the session loop. Reads the PROXY header
// when configured, applies the per-client connection limit, greets (after the
// pregreet wait for clients not seen passing), then reads commands one at a
// time and hands them to the dispatcher (commands/index.ts). Every reply goes
// through `reply`, which logs refusals with the session id and holds replies
// back while more pipelined commands are waiting (RFC 2920 §3.2: the batch is
// flushed before the server waits for input).

import type { Socket } from 'node:net';
import { isIPv4 } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { CommandContext } from './commands/context.js';
import { dispatch } from './commands/index.js';
import { readMessage } from './data-phase.js';
import type { HookReply, SmtpHooks } from './hooks.js';
import { Input } from './input.js';
import type { ClientLimiter } from './limits.js';
import type { ResolvedOptions, SmtpLogger } from './options.js';
import { lineLimit, MAX_LINE } from './parser.js';
import { parseProxyHeader } from './proxy.js';
import { formatReply, greeting, Replies, type SmtpReply } from './replies.js';
import { heloOf, type Session, type State, type TlsInfo, transmissionType, txOf } from './session.js';

let sequence = 0;

/** `::ffff:192.0.2.1` (a dual-stack listener) is the IPv4 client 192.0.2.1. */
export function plainIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function after<T>(ms: number, value: T): { promise: Promise<T>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

function tlsInfo(s: TLSSocket): TlsInfo {
  return { protocol: s.getProtocol() ?? 'TLS', cipher: s.getCipher()?.name ?? 'unknown' };
}

export class Connection implements CommandContext {
  state: State = { kind: 'greeted' };
  user: string | undefined;
  tls: TlsInfo | undefined;
  readonly session: Session;
  private readonly input = new Input();
  private readonly log: SmtpLogger;
  private out: string[] = [];
  private closing = false;
  private waitingForCommand = false;
  private shuttingDown = false;
  private errors = 0;
  private unknown = 0;
  private junk = 0;
  private remoteAddress: string;
  private remotePort: number;
  private proxied = false;
  private counted = false;
  /** The socket's idle timeout as last set (setting it again would make a new timer). */
  private idleMs = -1;

  constructor(
    private socket: Socket,
    readonly options: ResolvedOptions,
    readonly hooks: SmtpHooks,
    readonly limits: ClientLimiter,
  ) {
    const id = `${Date.now().toString(36)}${(sequence++ % 1296).toString(36).padStart(2, '0')}`;
    this.remoteAddress = plainIp(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.log = options.logger;
    // Implicit TLS (port 465): the listener handed over a socket already secured.
    if (socket instanceof TLSSocket && socket.encrypted) this.tls = tlsInfo(socket);
    const self = this;
    this.session = {
      id,
      get remoteAddress() {
        return self.remoteAddress;
      },
      get remotePort() {
        return self.remotePort;
      },
      localAddress: plainIp(socket.localAddress),
      localPort: socket.localPort ?? 0,
      get proxied() {
        return self.proxied;
      },
      get helo() {
        return heloOf(self.state);
      },
      get tls() {
        return self.tls;
      },
      get user() {
        return self.user;
      },
      get mailFrom() {
        return txOf(self.state)?.mailFrom;
      },
      get rcptTo() {
        return txOf(self.state)?.rcptTo ?? [];
      },
      get transmissionType() {
        return transmissionType(heloOf(self.state), !!self.tls, !!self.user);
      },
    };
    this.watch(socket);
    this.input.attach(socket);
  }

  private watch(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('error', (err) =>
      this.log.debug({ session: this.session.id, err: err.message }, 'socket error'),
    );
    socket.on('timeout', () => {
      this.log.info({ session: this.session.id, client: this.remoteAddress }, 'timeout');
      this.close(Replies.timeout);
    });
  }

  // ---- the one reply choke point -------------------------------------------------

  reply(r: SmtpReply): void {
    if (this.closing) return;
    if (r.code >= 400) {
      this.log.info(
        { session: this.session.id, client: this.remoteAddress, code: r.code, status: r.status },
        'refused',
      );
    }
    this.out.push(formatReply(r));
  }

  private flush(): void {
    if (this.out.length === 0 || this.socket.destroyed) return;
    this.socket.write(this.out.length === 1 ? (this.out[0] as string) : this.out.join(''));
    this.out = [];
  }

  /**
   * Answers `r` and ends our side. `linger`: wait (up to 2 s) for the client to
   * close its side; otherwise the socket is closed as soon as everything is
   * handed to the kernel, whose send buffer still delivers it and the FIN.
   */
  close(r?: SmtpReply, linger = true): void {
    if (this.closing) return;
    if (r) this.reply(r);
    this.flush();
    this.closing = true;
    const socket = this.socket;
    socket.end();
    const cut = () => socket.destroy();
    if (!linger && socket.writableLength === 0) {
      cut();
      return;
    }
    if (!linger) socket.once('finish', cut);
    // A client that does not close its side is not waited for.
    setTimeout(cut, 2000).unref();
  }

  /**
   * After QUIT's 221 (RFC 5321 §4.1.1.10) the session is over: no waiting for the
   * client's side (many clients reset the connection instead of closing it, and
   * reading that reset costs an error object per session). Input still buffered
   * means the client sent more after QUIT: then the lingering close, since
   * closing a socket with unread input resets it and may drop the 221.
   */
  quit(r: SmtpReply): void {
    this.close(r, this.input.buffered > 0);
  }

  /** Sets the socket's idle timeout; activity on the socket restarts it anyway. */
  private idle(ms: number): void {
    if (ms === this.idleMs) return;
    this.idleMs = ms;
    this.socket.setTimeout(ms);
  }

  /** Server shutdown: idle sessions get 421 now, busy ones after their command. */
  shutdown(): void {
    this.shuttingDown = true;
    if (this.waitingForCommand) this.close(Replies.shuttingDown);
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---- lifecycle ---------------------------------------------------------------

  async run(): Promise<void> {
    try {
      if (this.options.proxyProtocol && !(await this.readProxyHeader())) return;
      if (!(await this.limits.openConnection(this.remoteAddress))) {
        this.log.info({ client: this.remoteAddress }, 'too many connections from client');
        this.close(Replies.tooManyConnections);
        return;
      }
      this.counted = true;
      if (!(await this.greet())) return;
      await this.commandLoop();
    } catch (err) {
      this.log.error({ session: this.session.id, err }, 'session failed');
      this.close(Replies.tempFailure);
    } finally {
      if (this.counted) this.limits.closeConnection(this.remoteAddress);
      if (!this.closing) this.close();
      try {
        this.hooks.onClose?.(this.session);
      } catch (err) {
        this.log.error({ session: this.session.id, err }, 'onClose failed');
      }
    }
  }

  private async readProxyHeader(): Promise<boolean> {
    this.idle(this.options.timeouts.proxyHeader);
    for (;;) {
      const r = parseProxyHeader(this.input.peek());
      if (r.kind === 'ok') {
        this.input.consume(r.length);
        if (r.source) {
          this.remoteAddress = plainIp(r.source.address);
          this.remotePort = r.source.port;
          this.proxied = true;
        }
        return true;
      }
      if (r.kind === 'invalid') {
        this.log.warn({ client: this.remoteAddress, reason: r.reason }, 'bad PROXY header');
        this.close();
        return false;
      }
      if (!(await this.input.more())) return false;
    }
  }

  /** Pregreet wait (unknown clients only) in parallel with the connect hook, then the greeting. */
  private async greet(): Promise<boolean> {
    const o = this.options;
    const ip = this.remoteAddress;
    const passed =
      o.passedClients && !o.pregreetExempt(ip)
        ? await Promise.resolve(o.passedClients.has(ip)).catch(() => false)
        : true;
    const onConnect = this.hooks.onConnect;
    const hooked = onConnect ? this.hook('onConnect', () => onConnect.call(this.hooks, this.session)) : null;
    let talked = false;
    if (!passed && o.pregreetWaitMs > 0) {
      this.idle(0);
      const wait = after(o.pregreetWaitMs, false);
      talked = await Promise.race([this.input.more(), wait.promise]);
      wait.cancel();
    }
    const r = hooked ? await hooked : null;
    if (this.input.ended) return false;
    // Whoever it is: input before the greeting is talking too soon (RFC 5321 §3.1).
    if (talked || this.input.buffered > 0) {
      this.log.info({ session: this.session.id, client: ip }, 'pregreet: client talked before the greeting');
      this.close(Replies.pregreet);
      return false;
    }
    if (!passed) o.passedClients?.add(ip);
    if (r && r.code >= 400) {
      if (r.code === 421) {
        this.close(r);
        return false;
      }
      // RFC 5321 §3.1: 554 instead of the greeting; wait for QUIT, refuse the rest.
      this.state = { kind: 'refused', reply: r };
      this.reply(r);
      return true;
    }
    this.reply(greeting(o.hostname, o.banner));
    return true;
  }

  private async commandLoop(): Promise<void> {
    const o = this.options;
    while (!this.closing) {
      if (this.shuttingDown) return this.close(Replies.shuttingDown);
      if (!this.input.hasLine()) this.flush();
      this.idle(o.timeouts.command);
      this.waitingForCommand = true;
      const ev = await this.input.nextLine(MAX_LINE);
      this.waitingForCommand = false;
      if (this.closing) return;
      switch (ev.kind) {
        case 'eof':
          return;
        case 'bare-lf':
        case 'bare-cr':
          // Postfix smtpd_forbid_bare_newline = yes: answer and disconnect.
          this.errors++;
          this.log.info(
            { session: this.session.id, client: this.remoteAddress, kind: ev.kind },
            'bare newline',
          );
          return this.close(ev.kind === 'bare-lf' ? Replies.bareLf : Replies.bareCr);
        case 'too-long':
          this.reply(Replies.lineTooLong);
          this.countError('syntax');
          break;
        case 'line': {
          const outcome = await dispatch(this, ev.line.toString('utf8'));
          if (outcome.error) this.countError(outcome.error);
          if (outcome.junk && ++this.junk > o.maxJunkCommands) this.close(Replies.tooManyJunk);
          break;
        }
      }
    }
  }

  private countError(kind: 'syntax' | 'unknown' | 'sequence'): void {
    this.errors++;
    if (kind === 'unknown') this.unknown++;
    if (this.errors >= this.options.maxErrors || this.unknown >= this.options.maxUnknownCommands) {
      this.log.info(
        { session: this.session.id, client: this.remoteAddress, errors: this.errors },
        'too many errors',
      );
      this.close(Replies.tooManyErrors);
    }
  }

  // ---- what commands ask of the transport --------------------------------------

  async hook(name: string, run: () => Promise<HookReply> | HookReply): Promise<HookReply> {
    const deadline = after(this.options.timeouts.hook, 'timeout' as const);
    try {
      const r = await Promise.race([Promise.resolve().then(run), deadline.promise]);
      if (r === 'timeout') {
        this.log.error({ session: this.session.id, hook: name }, 'hook timed out');
        return Replies.tempFailure;
      }
      if (r?.code === 421) this.close(r);
      return r;
    } catch (err) {
      this.log.error({ session: this.session.id, hook: name, err }, 'hook failed');
      return Replies.tempFailure;
    } finally {
      deadline.cancel();
    }
  }

  async startTls(): Promise<void> {
    const ctx = this.options.tls;
    if (!ctx) return;
    this.reply({ code: 220, status: '2.0.0', text: 'Ready to start TLS' });
    this.flush();
    // RFC 3207 §4.2 / CVE-2011-0411: nothing pipelined with STARTTLS survives it.
    const dropped = this.input.discard();
    if (dropped > 0)
      this.log.info(
        { session: this.session.id, client: this.remoteAddress, dropped },
        'discarded input pipelined after STARTTLS',
      );
    this.input.resume();
    this.input.detach();
    const plain = this.socket;
    plain.setTimeout(0);
    this.idleMs = -1;
    const secure = new TLSSocket(plain, { isServer: true, secureContext: ctx.secureContext });
    const timer = after(this.options.timeouts.tlsHandshake, false);
    const ok = await Promise.race([
      new Promise<boolean>((resolve) => {
        secure.once('secure', () => resolve(true));
        // A client that sent FIN instead of a ClientHello will never finish the handshake.
        secure.once('end', () => resolve(false));
        secure.once('error', () => resolve(false));
        secure.once('close', () => resolve(false));
      }),
      timer.promise,
    ]);
    timer.cancel();
    this.socket = secure;
    if (!ok) {
      this.log.info({ session: this.session.id, client: this.remoteAddress }, 'TLS handshake failed');
      this.closing = true;
      secure.destroy();
      return;
    }
    this.watch(secure);
    this.input.attach(secure);
    this.tls = tlsInfo(secure);
    this.state = { kind: 'greeted' };
  }

  async readAuthLine(): Promise<string | null> {
    this.flush();
    this.idle(this.options.timeouts.command);
    const ev = await this.input.nextLine(lineLimit('AUTH'));
    if (ev.kind === 'eof') return null;
    if (ev.kind !== 'line') return '*';
    return ev.line.toString('latin1');
  }

  async receiveData(s: Extract<State, { kind: 'rcpt' }>): Promise<void> {
    this.reply(Replies.startData);
    this.flush();
    this.idle(this.options.timeouts.data);
    const r = await readMessage({
      input: this.input,
      options: this.options,
      hooks: this.hooks,
      session: this.session,
      log: this.log,
      dataEnded: () => this.idle(0),
    });
    if (r === 'gone') {
      // The client half-closed: end our side too, or it waits for us forever.
      this.close();
      return;
    }
    // RFC 5321 §4.1.1.4: the transaction is over, whatever the reply.
    this.state = { kind: 'ready', helo: s.helo };
    this.reply(r);
    if (r.code === 421) this.close();
  }
}
