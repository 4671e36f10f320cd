// The POP3 config schema: variable names, defaults, the plaintext policy and bounds.
import { ConfigError, envName } from '@postamt/config';
import { describe, expect, it } from 'vitest';
import { loadPop3Config } from '../src/config.js';

describe('pop3 config', () => {
  it('has the documented variable names and defaults', () => {
    expect(envName('pop3Port')).toBe('POSTAMT_POP3_PORT');
    expect(envName('pop3sPort')).toBe('POSTAMT_POP3S_PORT');
    expect(envName('pop3AllowPlaintext')).toBe('POSTAMT_POP3_ALLOW_PLAINTEXT');
    const c = loadPop3Config({});
    expect(c).toMatchObject({
      pop3Port: 110,
      pop3sPort: 995,
      pop3AllowPlaintext: 'loopback',
      pop3IdleTimeout: 600_000,
      pop3MaxAuthFailures: 3,
      pop3MaxLine: 512,
    });
  });

  it.each([
    ['never', 'never'],
    ['loopback', 'loopback'],
    ['ALWAYS', 'always'],
    ['true', 'always'],
    ['no', 'never'],
  ])('reads POSTAMT_POP3_ALLOW_PLAINTEXT=%s', (value, expected) => {
    expect(loadPop3Config({ POSTAMT_POP3_ALLOW_PLAINTEXT: value }).pop3AllowPlaintext).toBe(expected);
  });

  it('names every bad variable at once', () => {
    try {
      loadPop3Config({
        POSTAMT_POP3_ALLOW_PLAINTEXT: 'maybe',
        POSTAMT_POP3_PORT: '70000',
        POSTAMT_POP3_MAX_LINE: '10',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const vars = (err as ConfigError).problems.map((p) => p.variable).sort();
      expect(vars).toEqual(['POSTAMT_POP3_ALLOW_PLAINTEXT', 'POSTAMT_POP3_MAX_LINE', 'POSTAMT_POP3_PORT']);
    }
  });
});
