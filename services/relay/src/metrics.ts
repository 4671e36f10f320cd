// The relay's Prometheus metrics.
import { Counter, Gauge, type Registry } from '@postamt/observability';

export interface RelayMetrics {
  recipients: Counter<'outcome'>;
  jobs: Counter<'result'>;
  active: Gauge;
}

export function relayMetrics(registry: Registry): RelayMetrics {
  return {
    recipients: new Counter({
      name: 'postamt_relay_recipients_total',
      help: 'Recipient delivery outcomes per attempt: sent, temp (deferred), perm (bounced).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'postamt_relay_jobs_total',
      help: 'Relay job runs: done (spool file removed), retry (scheduled again), error.',
      labelNames: ['result'],
      registers: [registry],
    }),
    active: new Gauge({
      name: 'postamt_relay_active_jobs',
      help: 'Relay jobs being worked on.',
      registers: [registry],
    }),
  };
}
