// The process's Prometheus registry. Each service registers its own counters on
// it; default Node metrics (event loop lag, heap, GC) come for free.
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { AggregatorRegistry, Counter, Gauge, Histogram, Registry };

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'postamt_' });
  return registry;
}
