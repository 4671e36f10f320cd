// STARTTLS (RFC 3207): only when offered, not twice, not inside a transaction.
// The transport discards whatever the client pipelined after the command
// (§4.2, CVE-2011-0411) and, after the handshake, the session starts over:
// the client must say EHLO again.

import { Replies } from '../replies.js';
import { command } from './context.js';

export const starttls = command({
  verbs: ['STARTTLS'],
  states: ['greeted', 'ready'],
  wrongState: (s) => (s.kind === 'refused' ? Replies.accessDenied : Replies.nestedMail),
  async handle(ctx) {
    if (!ctx.options.tls) return ctx.reply(Replies.notImplemented);
    if (ctx.tls) return ctx.reply(Replies.tlsActive);
    await ctx.startTls();
  },
});
