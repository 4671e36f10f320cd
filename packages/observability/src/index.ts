export { drainTime, onShutdown } from './lifecycle.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { AggregatorRegistry, Counter, createRegistry, Gauge, Histogram, Registry } from './metrics.js';
export {
  type OpsServer,
  type OpsServerOptions,
  type ReadinessCheck,
  readiness,
  startOpsServer,
} from './ops-server.js';
