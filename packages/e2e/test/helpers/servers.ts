// Intake, pop3 and imap on one stack without scanners or filter: accepted
// mail stays in the spool, where the hostile-input tests can inspect it.
import { freePort, type ServiceProcess } from '@postamt/testkit';
import { intakeEnv, type Stack, startStack } from './stack.js';

export interface Servers {
  stack: Stack;
  smtp: number;
  pop3: number;
  imap: number;
  intake: ServiceProcess;
  pop3d: ServiceProcess;
  imapd: ServiceProcess;
  stop(): Promise<void>;
}

export async function startServers(label: string, extra: Record<string, string> = {}): Promise<Servers> {
  const stack = await startStack({ scanners: false, label });
  const [smtp, pop3, imap] = [await freePort(), await freePort(), await freePort()];
  const [intake, pop3d, imapd] = await Promise.all([
    stack.start('intake', await intakeEnv(smtp, extra)),
    stack.start('pop3', {
      POSTAMT_POP3_PORT: String(pop3),
      POSTAMT_POP3S_PORT: String(await freePort()),
      POSTAMT_POP3_AUTH_FAIL_DELAY: '300ms',
      ...extra,
    }),
    stack.start('imap', {
      POSTAMT_IMAP_PORT: String(imap),
      POSTAMT_IMAPS_PORT: String(await freePort()),
      POSTAMT_IMAP_AUTH_FAIL_DELAY: '300ms',
      ...extra,
    }),
  ]);
  return { stack, smtp, pop3, imap, intake, pop3d, imapd, stop: () => stack.stop() };
}
