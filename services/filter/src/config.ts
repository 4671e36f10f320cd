// Filter worker settings: the common POSTAMT_* ones plus concurrency, scanner
// deadlines and caps, and the spam levels (amavisd's tag/tag2/kill):
//   score ≥ POSTAMT_SPAM_TAG_LEVEL   X-Spam-Status/X-Spam-Score headers are added
//   score ≥ POSTAMT_SPAM_TAG2_LEVEL  spam: X-Spam-Flag YES, delivered to Junk
//   score ≥ POSTAMT_SPAM_KILL_LEVEL  quarantined, not delivered
import { booleanish, byteSize, commonShape, duration, loadConfig, withCommonRules } from '@postamt/config';
import { z } from 'zod';
import { invalidOverrides, type LevelOverrides, parseLevelOverrides } from './levels.js';

const level = z.coerce.number({ message: 'expected a SpamAssassin score such as 6.3' }).min(-1000).max(10000);

export const filterSchema = withCommonRules(
  z.object({
    ...commonShape,
    /** Jobs one worker process handles at once. */
    filterConcurrency: z.coerce.number().int().min(1).max(256).default(4),
    /** Learn jobs (spamd TELL) one worker handles at once. */
    learnConcurrency: z.coerce.number().int().min(1).max(64).default(1),
    /** Score from which X-Spam-Status/X-Spam-Score headers are added (-999: always, as amavisd's tag level). */
    spamTagLevel: level.default(-999),
    /** Score from which mail is spam: tagged and delivered to Junk. */
    spamTag2Level: level.default(6.3),
    /** Score from which spam is quarantined instead of delivered. */
    spamKillLevel: level.default(25),
    /** Per-domain and per-user levels: `example.test=tag2:4,kill:15; ceo@example.test=tag2:3`. */
    spamLevels: z
      .string()
      .default('')
      .transform((text, ctx): LevelOverrides => {
        const parsed = parseLevelOverrides(text);
        if ('error' in parsed) {
          ctx.addIssue({ code: 'custom', message: `expected recipient=tag2:N,kill:N; ...: ${parsed.error}` });
          return z.NEVER;
        }
        return parsed as LevelOverrides;
      }),
    /** Time to connect to a scanner. */
    scanConnectTimeout: duration.prefault('2s'),
    /** Longest silence from a scanner within one scan. */
    scanIdleTimeout: duration.prefault('30s'),
    /** Longest whole scan. */
    scanTimeout: duration.prefault('120s'),
    /** Failures in a row after which a scanner is not called for POSTAMT_SCAN_BREAKER_COOLDOWN. */
    scanBreakerThreshold: z.coerce.number().int().min(1).max(1000).default(5),
    /** How long a scanner that failed POSTAMT_SCAN_BREAKER_THRESHOLD times is left alone. */
    scanBreakerCooldown: duration.prefault('5s'),
    /** Bytes sent to clamd at most; keep below clamd's StreamMaxLength (30M in deploy/). */
    clamdMaxBytes: byteSize.prefault('25MB'),
    /** Bytes sent to spamd at most; larger mail is cut (SpamAssassin gains little from more). */
    spamdMaxBytes: byteSize.prefault('512KB'),
    /**
     * Per-user Bayes with a site-wide prior (spam-user.ts): spamd gets a `User:`
     * on every request (spamd runs with --virtual-config-dir, see deploy/). Off:
     * no `User:` at all, one store for everyone.
     */
    spamdPerUser: booleanish.default(true),
    /** spamd `User:` of the site-wide store; not an address, so no mailbox can own it. */
    spamdSiteUser: z
      .string()
      .regex(/^[A-Za-z0-9][-A-Za-z0-9_.+]{0,63}$/, { message: 'expected a name of letters, digits and -_.+' })
      .default('postamt-site'),
    /** A user's own store scores their mail from this many learned spam on; keep equal to spamd's bayes_min_spam_num. */
    bayesMinSpam: z.coerce.number().int().min(1).max(100_000).default(200),
    /** ... and this many learned ham (bayes_min_ham_num). */
    bayesMinHam: z.coerce.number().int().min(1).max(100_000).default(200),
    /** DKIM/SPF/DMARC checks of mail from the MX (resolvers: POSTAMT_DNS_SERVERS). */
    authChecks: booleanish.default(true),
    /** What a DMARC failure under the sender domain's p=reject means: quarantine, Junk, or a header only. */
    dmarcRejectAction: z
      .enum(['quarantine', 'junk', 'tag'], { message: 'expected quarantine, junk or tag' })
      .default('quarantine'),
    /** Attachment types quarantined like viruses, by extension (comma-separated; empty: none). */
    bannedExtensions: z
      .union([z.string(), z.array(z.string())])
      .transform((v) =>
        (Array.isArray(v) ? v : v.split(','))
          .map((s) => s.trim().replace(/^\./, '').toLowerCase())
          .filter(Boolean),
      )
      .default([
        'exe',
        'scr',
        'pif',
        'com',
        'bat',
        'cmd',
        'cpl',
        'hta',
        'jar',
        'js',
        'jse',
        'lnk',
        'msi',
        'ps1',
        'vbe',
        'vbs',
        'wsf',
        'wsh',
      ]),
    /** Subject prefix for spam delivered to Junk, e.g. "***SPAM*** "; empty: the Subject is left alone. */
    spamSubjectTag: z.string().max(100).default(''),
    /**
     * What a scan limit means (clamd's Heuristics.Limits.Exceeded, or a message
     * over POSTAMT_CLAMD_MAX_BYTES): deliver it marked as partly scanned, or quarantine it.
     */
    scanLimitAction: z
      .enum(['deliver', 'quarantine'], { message: 'expected deliver or quarantine' })
      .default('deliver'),
  }),
).superRefine((v, ctx) => {
  if (!(v.spamTagLevel <= v.spamTag2Level && v.spamTag2Level <= v.spamKillLevel)) {
    ctx.addIssue({
      code: 'custom',
      path: ['spamTag2Level'],
      message: 'expected POSTAMT_SPAM_TAG_LEVEL ≤ POSTAMT_SPAM_TAG2_LEVEL ≤ POSTAMT_SPAM_KILL_LEVEL',
    });
  }
  const bad = invalidOverrides(
    { tag: v.spamTagLevel, tag2: v.spamTag2Level, kill: v.spamKillLevel },
    v.spamLevels,
  );
  if (bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['spamLevels'],
      message: `expected tag ≤ tag2 ≤ kill for ${bad.join(', ')}`,
    });
  }
  if (v.scanConnectTimeout > v.scanTimeout || v.scanIdleTimeout > v.scanTimeout) {
    ctx.addIssue({
      code: 'custom',
      path: ['scanTimeout'],
      message: 'expected POSTAMT_SCAN_TIMEOUT to be at least the connect and idle timeouts',
    });
  }
});

export type FilterConfig = z.output<typeof filterSchema>;

export function loadFilterConfig(env?: NodeJS.ProcessEnv): FilterConfig {
  return loadConfig(filterSchema, { service: 'filter', env });
}
