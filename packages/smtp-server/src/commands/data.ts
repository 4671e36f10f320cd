// DATA (RFC 5321 §4.1.1.4): only with at least one accepted recipient; after
// every RCPT failed the answer is 554 (RFC 2920 §3.1). The transport reads the
// message (dot-decoder.ts) into the onData hook and answers its reply.

import { Replies } from '../replies.js';
import { command } from './context.js';

export const data = command({
  verbs: ['DATA'],
  states: ['rcpt'],
  wrongState: (s) =>
    s.kind === 'mail'
      ? Replies.noValidRecipients
      : s.kind === 'greeted'
        ? Replies.needHelo
        : Replies.needMail,
  async handle(ctx) {
    if (ctx.state.kind === 'rcpt') await ctx.receiveData(ctx.state);
  },
});

/** BDAT (RFC 3030) and the obsolete verbs: recognised, not served, not advertised. */
export const unsupported = command({
  verbs: ['BDAT', 'TURN', 'ETRN', 'SEND', 'SOML', 'SAML', 'EXPN'],
  states: ['greeted', 'ready', 'mail', 'rcpt'],
  wrongState: () => Replies.accessDenied,
  handle(ctx) {
    ctx.reply(Replies.notImplemented);
  },
});
