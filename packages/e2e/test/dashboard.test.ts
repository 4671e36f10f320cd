// The Grafana dashboard in deploy/ only charts metrics that some service
// registers (or Node's default metrics), so it never shows empty panels after a rename.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'test') return [];
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('grafana dashboard', () => {
  it('is valid JSON whose queries name registered metrics', () => {
    const dash = JSON.parse(readFileSync(join(root, 'deploy/grafana/postamt-dashboard.json'), 'utf8'));
    expect(dash.panels.length).toBeGreaterThan(5);
    const code = ['services', 'packages']
      .flatMap((d) => sources(join(root, d)))
      .map((f) => readFileSync(f, 'utf8'));
    const registered = new Set(
      code.flatMap((c) => [...c.matchAll(/name: '(postamt_[a-z0-9_]+)'/g)].map((m) => m[1])),
    );
    const defaults = /^postamt_(process|nodejs)_/;
    const used = new Set<string>();
    for (const panel of dash.panels)
      for (const t of panel.targets)
        for (const m of t.expr.matchAll(/postamt_[a-z0-9_]+/g))
          used.add(m[0].replace(/_(bucket|sum|count)$/, ''));
    const unknown = [...used].filter((name) => !registered.has(name) && !defaults.test(name));
    expect(unknown).toEqual([]);
  });
});
