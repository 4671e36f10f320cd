// One pino logger per process: JSON lines in production, human-readable lines
// in the local run. Every log line carries the service name; per-message and
// per-session child loggers add the queue id or session id.
import { type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  service: string;
  level?: string;
  format?: 'json' | 'pretty';
}

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level ?? 'info',
    base: { service: options.service },
    // Secrets must never reach a log line, whatever object a caller passes.
    redact: {
      paths: ['password', '*.password', 'pass', '*.pass', 'token', '*.token', 'auth.pass', 'credentials'],
      censor: '(secret)',
    },
  };
  if (options.format === 'pretty') {
    return pino(
      base,
      pino.transport({
        target: 'pino-pretty',
        options: {
          colorize: process.stdout.isTTY,
          translateTime: 'HH:MM:ss.l',
          ignore: 'pid,hostname',
          messageFormat: '[{service}] {msg}',
        },
      }),
    );
  }
  return pino(base);
}
