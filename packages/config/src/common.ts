// The settings every Postamt service shares. The names of the environment
// variables (POSTAMT_DATA, POSTAMT_HOSTNAME, ...) are a public contract: compose
// files, Kubernetes manifests and operators' scripts depend on them.
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { duration, hostname, hostPort, hostPortList, logLevel, port, transportMap } from './fields.js';
import { markSecret } from './load.js';

function defaultHostname(): string {
  const name = osHostname();
  return name.includes('.') ? name : `${name}.localdomain`;
}

export const commonShape = {
  /** The shared volume: spool/, mail/, quarantine/. */
  data: z
    .string()
    .min(1, 'expected a directory path')
    .prefault('./data')
    .transform((p) => resolve(p)),
  /** This server's FQDN, used in the banner, EHLO and Received headers. */
  hostname: hostname.default(defaultHostname()),
  /** Redis: queues, directory, greylisting, limits, mail events (`rediss://` for TLS). */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'expected a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  /** `host:port` of clamd (INSTREAM over TCP). */
  clamd: hostPort.prefault('127.0.0.1:3310'),
  /** `host:port` of spamd (SPAMC/1.5). */
  spamd: hostPort.prefault('127.0.0.1:783'),
  /** Resolvers for every DNS lookup; empty means the system's. */
  dnsServers: hostPortList.default([]),
  /** A YAML file of domains, users and aliases applied at start. */
  seed: z.string().optional(),
  /** Per-domain next hop, e.g. `example.net=[10.0.0.5]:25,*=[smarthost.example]:587`. */
  relayTransports: transportMap.default({}),
  /** PEM certificate chain for every TLS listener; absent (with POSTAMT_TLS_KEY): a self-signed pair is made. */
  tlsCert: z.string().optional(),
  /** PEM private key of POSTAMT_TLS_CERT. */
  tlsKey: z.string().optional(),
  /** How long a new (client, sender, recipient) triplet must wait before its retry is accepted. */
  greylistDelay: duration.prefault('300s'),
  /** pino level: fatal, error, warn, info, debug, trace. */
  logLevel: logLevel.default('info'),
  /** `json` (one object per line) or `pretty` (for a terminal). */
  logFormat: z.enum(['json', 'pretty'], { message: 'expected json or pretty' }).default('json'),
  /** Port of the health and metrics listener (/healthz, /readyz, /metrics). */
  metricsPort: port.default(9090),
  /** Address the listeners bind to. */
  bind: z.string().min(1).default('0.0.0.0'),
  /**
   * How long a service may take to stop on SIGTERM: sessions and jobs in flight
   * finish within it, then it exits. The orchestrator's grace period (compose
   * stop_grace_period, Kubernetes terminationGracePeriodSeconds) must be longer.
   */
  stopTimeout: duration.refine((ms) => ms >= 1000, 'expected a duration of at least 1s').prefault('30s'),
};

markSecret('redisUrl');

/** Adds the cross-field rules of the common settings to a service schema. */
export function withCommonRules<S extends z.ZodObject>(schema: S) {
  return schema.superRefine((value, ctx) => {
    const v = value as { tlsCert?: string; tlsKey?: string };
    if (Boolean(v.tlsCert) !== Boolean(v.tlsKey)) {
      ctx.addIssue({
        code: 'custom',
        path: [v.tlsCert ? 'tlsKey' : 'tlsCert'],
        message: 'expected both POSTAMT_TLS_CERT and POSTAMT_TLS_KEY, or neither',
      });
    }
  });
}

export const commonSchema = z.object(commonShape);
export type CommonConfig = z.output<typeof commonSchema>;
