#!/usr/bin/env node
// intake entry: validates the config, sizes libuv's file I/O thread pool, then
// starts the service (service.ts), or with POSTAMT_SMTP_WORKERS > 1 the
// supervisor (supervisor.ts) that forks this same file as its workers. The
// pool size is read once, when the pool starts, and importing bullmq (through
// @postamt/queue) already starts it: so the service is imported only after the
// size is set (workers inherit it through the environment).
import cluster from 'node:cluster';
import { ConfigError } from '@postamt/config';
import { SLOT_ENV } from './cluster-messages.js';
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
  if (cluster.isWorker) {
    const { runIntake } = await import('./service.js');
    await runIntake(config, { kind: 'worker', slot: Number(process.env[SLOT_ENV]) });
  } else if (config.smtpWorkers > 1) {
    const { runSupervisor } = await import('./supervisor.js');
    await runSupervisor(config);
  } else {
    const { runIntake } = await import('./service.js');
    await runIntake(config);
  }
} catch (err) {
  process.stderr.write(`intake failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
}
