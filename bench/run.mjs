#!/usr/bin/env node
// Benchmark runner: `node bench/run.mjs <scenario> [options]` (or
// `npm run bench -- <scenario> [options]`). Without a scenario it lists them.
// A scenario is bench/scenarios/<name>.mjs exporting `description`, `peer`,
// `options` (node:util parseArgs specs with a `description`) and
// `run(options, { log, keep })` → { figures, notes, ok, details }, and may
// export `ratioOrder = 'peer/postamt'` to print peer / Postamt instead.
// The table goes to stdout, progress to stderr, and everything to
// bench/results/<scenario>-<timestamp>.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runCleanups } from './lib/cleanup.mjs';
import { orderedRatio, renderTable } from './lib/table.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const scenarioDir = join(benchDir, 'scenarios');
const resultsDir = join(benchDir, 'results');

const commonOptions = {
  help: { type: 'boolean', short: 'h', default: false, description: 'show the options of a scenario' },
  keep: {
    type: 'boolean',
    default: false,
    description: 'keep the temp dirs (Postfix instance, intake data, redis) for debugging',
  },
  'no-save': { type: 'boolean', default: false, description: 'do not write bench/results/*.json' },
};

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

function scenarioNames() {
  return readdirSync(scenarioDir)
    .filter((n) => n.endsWith('.mjs'))
    .map((n) => n.slice(0, -4))
    .sort();
}

async function loadScenario(name) {
  return import(pathToFileURL(join(scenarioDir, `${name}.mjs`)).href);
}

function optionHelp(options) {
  return Object.entries(options)
    .map(([k, o]) => {
      const dflt =
        o.default !== undefined && o.default !== '' && o.default !== false ? ` (default ${o.default})` : '';
      return `  ${`--${k}${o.type === 'string' ? ' <value>' : ''}`.padEnd(20)} ${o.description ?? ''}${dflt}`;
    })
    .join('\n');
}

async function listScenarios() {
  const lines = [
    'usage: node bench/run.mjs <scenario> [options]   (npm run bench -- <scenario> [options])',
    '',
    'scenarios:',
  ];
  for (const name of scenarioNames()) {
    const s = await loadScenario(name);
    lines.push(`  ${name.padEnd(16)} ${s.description ?? ''}`);
  }
  lines.push('', 'options for every scenario:', optionHelp(commonOptions));
  lines.push('', 'node bench/run.mjs <scenario> --help shows its own options.');
  return lines.join('\n');
}

function environment() {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: benchDir, encoding: 'utf8' });
  return {
    node: process.version,
    os: `${process.platform} ${release()} ${arch()}`,
    cpu: cpus()[0]?.model,
    cpus: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    loadavg: loadavg(),
    commit: git.status === 0 ? git.stdout.trim() : null,
  };
}

async function main() {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${await listScenarios()}\n`);
    return 0;
  }
  if (!scenarioNames().includes(name)) {
    process.stderr.write(`unknown scenario "${name}"\n\n${await listScenarios()}\n`);
    return 2;
  }
  const scenario = await loadScenario(name);
  const spec = { ...commonOptions, ...scenario.options };
  const parseSpec = Object.fromEntries(
    Object.entries(spec).map(([k, { type, short, default: dflt }]) => [
      k,
      short ? { type, short, default: dflt } : { type, default: dflt },
    ]),
  );
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: parseSpec, strict: true, allowPositionals: false }));
  } catch (err) {
    process.stderr.write(`${err.message}\n\noptions of ${name}:\n${optionHelp(spec)}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${name}: ${scenario.description}\n\noptions:\n${optionHelp(spec)}\n`);
    return 0;
  }

  const startedAt = new Date();
  const env = environment();
  log(`${name} on ${env.cpus}× ${env.cpu}, load ${env.loadavg.map((l) => l.toFixed(2)).join(' ')}`);
  const result = await scenario.run(values, { log, keep: values.keep });
  const peer = scenario.peer ?? 'peer';

  process.stdout.write(
    `\n${name} — Postamt vs ${peer}\n\n${renderTable(result.figures, peer, { order: scenario.ratioOrder })}\n`,
  );
  if (result.notes?.length)
    process.stdout.write(`\nnotes:\n${result.notes.map((n) => `- ${n}`).join('\n')}\n`);

  if (!values['no-save']) {
    mkdirSync(resultsDir, { recursive: true });
    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    const file = join(resultsDir, `${name}-${stamp}.json`);
    const figures = result.figures.map((f) => ({ ...f, ratio: orderedRatio(f, scenario.ratioOrder) }));
    const doc = {
      scenario: name,
      peer,
      ratioOrder: scenario.ratioOrder ?? 'postamt/peer',
      startedAt: startedAt.toISOString(),
      seconds: (Date.now() - startedAt.getTime()) / 1000,
      options: values,
      environment: env,
      ok: result.ok,
      figures,
      notes: result.notes,
      details: result.details,
    };
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    process.stdout.write(`\nresults: ${file}\n`);
  }
  return result.ok === false ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`[bench] ${err.stack ?? err}\n`);
} finally {
  // Stops whatever a scenario left running (Postfix, intake, redis), also on errors.
  await runCleanups();
}
// Explicit exit: an open client handle must not keep the runner alive.
process.exit(code);
