#!/usr/bin/env node
// intake entry: validates the config, sizes libuv's file I/O thread pool, then
// starts the service (service.ts). The pool size is read once, when the pool
// starts, and importing bullmq (through @postamt/queue) already starts it: so
// the service is imported only after the size is set.
import { ConfigError } from '@postamt/config';
import { type IntakeConfig, loadIntakeConfig } from './config.js';

let config: IntakeConfig;
try {
  config = loadIntakeConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
process.env.UV_THREADPOOL_SIZE = String(config.ioThreads);

try {
  const { runIntake } = await import('./service.js');
  await runIntake(config);
} catch (err) {
  process.stderr.write(`intake failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
}
