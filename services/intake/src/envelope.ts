// The spool envelope of an SMTP transaction, as both listeners build it.
import type { Envelope } from '@postamt/queue';
import type { Session } from '@postamt/smtp-server';

export function envelopeOf(
  session: Session,
  source: 'mx' | 'submission',
  extra: { ptr?: string; authUser?: string } = {},
): Omit<Envelope, 'id' | 'receivedAt'> {
  const from = session.mailFrom;
  return {
    mailFrom: from?.address ?? '',
    rcptTo: session.rcptTo.map((r) => ({
      address: r.address,
      ...(r.params.orcpt ? { orcpt: r.params.orcpt } : {}),
      ...(r.params.notify ? { notify: r.params.notify } : {}),
    })),
    source,
    client: {
      ip: session.remoteAddress,
      helo: session.helo?.name,
      ...(extra.ptr ? { ptr: extra.ptr } : {}),
      ...(session.tls ? { tls: `${session.tls.protocol} with cipher ${session.tls.cipher}` } : {}),
    },
    ...(extra.authUser ? { authUser: extra.authUser } : {}),
    params: {
      ...(from?.params.body ? { body: from.params.body } : {}),
      ...(from?.params.smtputf8 ? { smtputf8: true } : {}),
      ...(from?.params.ret ? { ret: from.params.ret } : {}),
      ...(from?.params.envid ? { envid: from.params.envid } : {}),
    },
  };
}
