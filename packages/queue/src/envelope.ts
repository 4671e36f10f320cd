// The SMTP envelope stored at the head of every spool file. It is everything a
// filter worker or relay needs besides the message bytes, so a spooled message
// can be re-queued from the file alone after Redis lost its job.
import { z } from 'zod';

export const recipientSchema = z.object({
  /** The address as given in RCPT TO (after alias expansion it may differ from `original`). */
  address: z.string(),
  /** RFC 3461 ORCPT and NOTIFY, carried for DSNs. */
  orcpt: z.string().optional(),
  notify: z.array(z.enum(['NEVER', 'SUCCESS', 'FAILURE', 'DELAY'])).optional(),
});

export const envelopeSchema = z.object({
  id: z.string(),
  receivedAt: z.string(),
  /** Empty string for the null reverse-path `<>`. */
  mailFrom: z.string(),
  rcptTo: z.array(recipientSchema).min(1),
  source: z.enum(['mx', 'submission', 'internal']),
  client: z.object({
    ip: z.string(),
    ptr: z.string().optional(),
    helo: z.string().optional(),
    tls: z.string().optional(),
  }),
  authUser: z.string().optional(),
  params: z
    .object({
      body: z.enum(['7BIT', '8BITMIME', 'BINARYMIME']).optional(),
      smtputf8: z.boolean().optional(),
      ret: z.enum(['FULL', 'HDRS']).optional(),
      envid: z.string().optional(),
    })
    .default({}),
});

export type Envelope = z.infer<typeof envelopeSchema>;
export type Recipient = z.infer<typeof recipientSchema>;
