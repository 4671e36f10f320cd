// AUTH (RFC 4954): the hook point for submission. Offered only when an onAuth
// hook is set and TLS is active; not during a transaction (§4) and not twice.
// Without TLS it is refused with 538 5.7.11 (§6), so no password ever crosses
// the wire in clear; without a hook (the MX listener) it does not exist (502).
// The mechanism itself (PLAIN, LOGIN, ...) is the hook's business: it asks for
// more through `challenge`.

import { Replies } from '../replies.js';
import { command } from './context.js';

export const auth = command({
  verbs: ['AUTH'],
  states: ['ready'],
  wrongState: (s) => (s.kind === 'greeted' ? Replies.needHelo : Replies.nestedMail),
  async handle(ctx, cmd) {
    const onAuth = ctx.hooks.onAuth;
    if (!onAuth) return ctx.reply(Replies.notImplemented);
    if (!ctx.tls) return ctx.reply(Replies.encryptionRequired);
    if (ctx.user) return ctx.reply(Replies.alreadyAuthenticated);
    if (!ctx.options.authMechanisms.includes(cmd.mechanism)) return ctx.reply(Replies.authUnknownMechanism);
    const result = await onAuth
      .call(ctx.hooks, ctx.session, {
        mechanism: cmd.mechanism,
        ...(cmd.initial !== undefined ? { initial: cmd.initial } : {}),
        challenge: async (text) => {
          ctx.reply({ code: 334, text });
          const line = await ctx.readAuthLine();
          return line === null || line === '*' ? null : line;
        },
      })
      .catch(() => ({ ok: false as const, reply: Replies.tempFailure }));
    if (!result.ok) return ctx.reply(result.reply);
    ctx.user = result.user;
    ctx.reply(Replies.authOk);
  },
});
