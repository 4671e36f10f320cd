// The POP3 service's Prometheus metrics, registered on the process registry.
import { Counter, Gauge, type Registry } from '@postamt/observability';

export interface Pop3Metrics {
  connections: Counter<'listener'>;
  active: Gauge;
  logins: Counter<'result'>;
  commands: Counter<'command'>;
  deleted: Counter;
}

export function createPop3Metrics(registry: Registry): Pop3Metrics {
  const registers = [registry];
  return {
    connections: new Counter({
      name: 'postamt_pop3_connections_total',
      help: 'POP3 connections accepted, by listener',
      labelNames: ['listener'],
      registers,
    }),
    active: new Gauge({ name: 'postamt_pop3_sessions_active', help: 'Open POP3 sessions', registers }),
    logins: new Counter({
      name: 'postamt_pop3_logins_total',
      help: 'POP3 logins, by result (ok, failed, in-use, error)',
      labelNames: ['result'],
      registers,
    }),
    commands: new Counter({
      name: 'postamt_pop3_commands_total',
      help: 'POP3 commands handled, by verb',
      labelNames: ['command'],
      registers,
    }),
    deleted: new Counter({
      name: 'postamt_pop3_messages_deleted_total',
      help: 'Messages removed by POP3 QUIT',
      registers,
    }),
  };
}
