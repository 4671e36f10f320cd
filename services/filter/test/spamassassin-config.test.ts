// The SpamAssassin config shipped in deploy/docker/spamd (local.cf, postamt.pre)
// passes `spamassassin --lint` as the image uses it: the system's .pre files
// with ours copied beside them (the Dockerfile copies into /etc/spamassassin).
// Network tests stay off (-L); the debug log shows the plugins that are on.
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';

const shipped = join(import.meta.dirname, '../../../deploy/docker/spamd');
const system = '/etc/spamassassin';

function siteConfig(): string {
  const dir = makeTempDir('sa-config');
  for (const name of readdirSync(system).filter((n) => n.endsWith('.pre') || n === '65_debian.cf'))
    copyFileSync(join(system, name), join(dir, name));
  for (const name of ['local.cf', 'postamt.pre']) copyFileSync(join(shipped, name), join(dir, name));
  return dir;
}

function lint(dir: string, debug = false): { code: number | null; out: string } {
  const r = spawnSync(
    'spamassassin',
    ['--lint', '-L', `--siteconfigpath=${dir}`, ...(debug ? ['-D', 'plugin,config,bayes'] : [])],
    { encoding: 'utf8', timeout: 120_000 },
  );
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('deploy/docker/spamd SpamAssassin config', () => {
  it('lints clean and loads Bayes, Pyzor, Razor2 and DCC', () => {
    const dir = siteConfig();
    const r = lint(dir, true);
    expect(r.out).not.toMatch(/warn:/);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`config: read file ${join(dir, 'local.cf')}`);
    for (const plugin of ['Bayes', 'Pyzor', 'Razor2', 'DCC'])
      expect(r.out).toContain(`plugin: loading Mail::SpamAssassin::Plugin::${plugin}`);
  }, 120_000);

  it('the lint reads our files: a bad line in local.cf fails it', () => {
    const dir = siteConfig();
    appendFileSync(join(dir, 'local.cf'), 'bayes_auto_learn_threshold_spam twelve\n');
    const r = lint(dir);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/warn: config: .*local\.cf \(line \d+\)/);
  }, 120_000);
});
