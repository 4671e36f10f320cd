// The process's Prometheus registry. Each service registers its own counters on
// it; default Node metrics (event loop lag, heap, GC) come for free.
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { AggregatorRegistry, Counter, Gauge, Histogram, Registry };

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // The event-loop lag histogram samples with a timer; prom-client's default of every
  // 10 ms woke an idle process 100 times a second (≈5 ms of CPU per second, most of a
  // filter worker's cost while it waits on spamd). Once a second still shows lag.
  collectDefaultMetrics({ register: registry, prefix: 'postamt_', eventLoopMonitoringPrecision: 1000 });
  return registry;
}
