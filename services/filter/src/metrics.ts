// The filter's Prometheus metrics: messages by outcome and verdict, the time
// from acceptance (the spool id's timestamp) to the end of filtering, and the
// depth of every queue (read from Redis when Prometheus scrapes, so any one
// filter replica can report it).
import { Counter, Gauge, Histogram, type Registry } from '@postamt/observability';
import { catalog, type JobName, type Queues, spoolIdTime } from '@postamt/queue';

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

export function filterMetrics(registry: Registry, queues: Queues) {
  const processed = new Counter({
    name: 'postamt_filter_messages_total',
    help: 'Messages processed by the filter, by outcome and verdict',
    labelNames: ['outcome', 'verdict'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'postamt_filter_delivery_latency_seconds',
    help: 'Seconds from acceptance by intake to the end of filtering (delivered, quarantined or handed to relay)',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86400],
    registers: [registry],
  });
  new Gauge({
    name: 'postamt_queue_jobs',
    help: 'Jobs in each queue, by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      for (const name of Object.keys(catalog) as JobName[]) {
        const counts = await queues
          .get(name)
          .getJobCounts(...STATES)
          .catch(() => null);
        if (!counts) continue;
        for (const state of STATES) this.set({ queue: catalog[name].queue, state }, counts[state] ?? 0);
      }
    },
  });
  return {
    done(spoolId: string, outcome: string, verdict: string): void {
      processed.inc({ outcome, verdict });
      if (outcome === 'done') latency.observe((Date.now() - spoolIdTime(spoolId)) / 1000);
    },
  };
}
