#!/usr/bin/env node
// Writes docs/configuration.md: every POSTAMT_* variable each service reads,
// with its default and meaning. The names and defaults come from the services'
// zod schemas (the same objects that validate the configuration at start-up),
// the meanings from the doc comment above each key in the source, so the page
// cannot drift from what the code accepts. `--check` fails when the committed
// page is stale (a test runs it). Needs a build (reads each service's dist/).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const target = join(root, 'docs/configuration.md');

const { commonShape, envName } = await import(join(root, 'packages/config/dist/index.js'));

/** Service, its schema's export name, and what the service is. */
const services = [
  ['intake', 'intakeSchema', 'SMTP intake (MX, submission)'],
  ['filter', 'filterSchema', 'filter worker (clamd, spamd, delivery, learning)'],
  ['relay', 'relaySchema', 'outbound relay'],
  ['imap', 'imapSchema', 'IMAP'],
  ['pop3', 'pop3Schema', 'POP3'],
  ['admin', 'adminSchema', 'admin API'],
];

/** Defaults that depend on the machine the page would be generated on. */
const machineDefaults = { hostname: "the machine's host name (with `.localdomain` if it has no dot)" };

/** The object schema under refinements and pipes. */
function objectOf(schema) {
  let s = schema;
  while (s && !s.shape) s = s.def?.in ?? s.def?.schema ?? s.def?.innerType;
  if (!s) throw new Error('no object schema found');
  return s.shape;
}

/** The default as written in the source (`5m`, not 300000), or undefined. */
function defaultOf(field) {
  for (let f = field; f; f = f.def?.innerType ?? f.def?.in) {
    const type = f.def?.type;
    if (type === 'default' || type === 'prefault') return f.def.defaultValue;
    if (type === 'optional') return undefined;
  }
  return undefined;
}

function formatDefault(key, value) {
  if (key in machineDefaults) return machineDefaults[key];
  if (value === undefined) return '—';
  if (value === '') return '(empty)';
  if (Array.isArray(value)) return value.length ? `\`${value.join(',')}\`` : '(empty)';
  if (value && typeof value === 'object')
    return Object.keys(value).length ? `\`${JSON.stringify(value)}\`` : '(empty)';
  return `\`${String(value)}\``;
}

/** Doc comments above `key:` lines in a directory's TypeScript sources. */
function docComments(dir) {
  const docs = new Map();
  const files = readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.ts'));
  for (const file of files) {
    const lines = readFileSync(join(dir, String(file)), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const key = /^\s*([a-z][A-Za-z0-9]*)\??:/.exec(line)?.[1];
      if (!key || docs.has(key)) return;
      const above = lines[i - 1]?.trim() ?? '';
      let start = i - 1;
      if (above.endsWith('*/')) while (start > 0 && !lines[start]?.includes('/**')) start--;
      else if (above.startsWith('//')) while (start > 0 && lines[start - 1]?.trim().startsWith('//')) start--;
      else return;
      const text = lines
        .slice(start, i)
        .join(' ')
        .replace(/\/\*\*|\*\/|(^|\s)\/\/(?=\s|$)/g, ' ')
        .replace(/\s\*\s/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        // Some comments open with the variable's own name: the table already says it.
        .replace(/^POSTAMT_[A-Z0-9_]+:?\s*/, '');
      if (text) docs.set(key, text);
    });
  }
  return docs;
}

function table(shape, keys, docs) {
  const rows = keys.map((key) => {
    const meaning = (docs.get(key) ?? '').replace(/\|/g, '\\|');
    return `| \`${envName(key)}\` | ${formatDefault(key, defaultOf(shape[key]))} | ${meaning} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

function render() {
  const commonKeys = Object.keys(commonShape);
  const commonDocs = docComments(join(root, 'packages/config/src'));
  const out = [
    '# Configuration reference',
    '',
    'Every setting is a `POSTAMT_*` environment variable; the same keys may be given in a YAML file named by',
    '`POSTAMT_CONFIG` (`relay_concurrency: 40` or `POSTAMT_RELAY_CONCURRENCY: 40`; the environment wins). Durations',
    'take `ms`, `s`, `m`, `h`, `d`; sizes `KB`, `MB`, `GB` (binary units, as in Postfix and Dovecot). A service checks all of its settings at start-up and',
    'refuses to start with one message naming every bad one.',
    '',
    'Generated from the services’ schemas by `node deploy/local/config-reference.mjs` (a test fails when this page',
    'is stale). The contract every deployment relies on is in ARCHITECTURE.md; `docs/deploy.md` explains the',
    'settings an operator usually changes.',
    '',
    '## Every service',
    '',
    table(commonShape, commonKeys, commonDocs),
  ];
  for (const [name, exportName, what] of services) {
    const dir = join(root, 'services', name);
    const shape = objectOf(modules.get(name)[exportName]);
    const keys = Object.keys(shape).filter((k) => !commonKeys.includes(k));
    out.push('', `## ${name}: ${what}`, '', table(shape, keys, docComments(join(dir, 'src'))));
  }
  return `${out.join('\n')}\n`;
}

const modules = new Map();
for (const [name] of services)
  modules.set(name, await import(join(root, 'services', name, 'dist/config.js')));

const text = render();
if (process.argv.includes('--check')) {
  const current = readFileSync(target, 'utf8');
  if (current !== text) {
    console.error('docs/configuration.md is stale: run node deploy/local/config-reference.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
