// A private, throw-away Dovecot instance for the IMAP and POP3 scenarios: its
// own dovecot.conf, base_dir, state, index and log in a temp dir, a
// passwd-file user list, and imap/pop3 listeners on loopback ports chosen by
// the caller's freePort() — the system's Dovecot (/etc/dovecot, ports 143/110,
// 993/995) is never started or changed. It serves a Maildir tree the caller
// prepares, normally a copy of what Postamt serves: <maildirRoot>/<domain>/<local>.
//
// Pitfalls (Dovecot 2.3, Debian):
// - Mail processes never run as root ("Mail access for users with UID 0 not
//   permitted"), so the users get the `mail` account's uid/gid and the tree is
//   chowned to it (`chownMaildir`, on by default: pass a copy, not an original).
// - Dovecot writes its index, uidlist and control files into the Maildir by
//   default; INDEX= and CONTROL= put them in our temp dir instead.
// - Plaintext logins without TLS: disable_plaintext_auth = no (2.3); 2.4
//   renamed most settings (auth_allow_cleartext, mail_driver, …) and is refused
//   here with a clear message until someone writes and tests its config.
// - The imaps/pop3s listeners are switched off with port = 0; submission and
//   lmtp are not in `protocols`, so nothing else listens.
// - `dovecot -F` keeps the master in the foreground, so it is our child and
//   SIGTERM stops it with all its processes.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeTempDir } from '@postamt/testkit';
import { removeDirLater } from './cleanup.mjs';
import { greets, runSync, startChild, treeCpuSeconds, treeMemory, which } from './proc.mjs';
import { fatal, waitUntil } from './timing.mjs';

const PACKAGES = ['dovecot-imapd', 'dovecot-pop3d'];

/** Installs Dovecot from Debian packages when a needed part is missing; returns `dovecot`'s path. */
export function ensureDovecot({ imap = true, pop3 = true, log = () => {} } = {}) {
  const missing = () =>
    !which('dovecot') ||
    (imap && !existsSync('/usr/lib/dovecot/imap')) ||
    (pop3 && !existsSync('/usr/lib/dovecot/pop3'));
  if (missing()) {
    if (process.getuid?.() !== 0) throw new Error(`Dovecot is missing; install ${PACKAGES.join(' ')}`);
    log(`installing ${PACKAGES.join(' ')} …`);
    // policy-rc.d permitting, the package starts the system Dovecot; we leave it alone.
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...PACKAGES], {
      env,
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (r.status !== 0 || missing()) throw new Error(`apt-get install failed:\n${r.stdout}${r.stderr}`);
  }
  return which('dovecot');
}

/**
 * A copy of the Maildir tree `src` (<domain>/<local>/…) for Dovecot in a new
 * temp dir removed at cleanup: start() chowns it to the mail user, and
 * Dovecot keeps its own flags there.
 */
export function copyForDovecot(src, { prefix = 'bench-dovecot-maildir', keep = false } = {}) {
  const root = makeTempDir(prefix);
  removeDirLater(root, keep);
  const r = runSync('cp', ['-a', `${src}/.`, root], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`copy of ${src} failed: ${r.out}`);
  return root;
}

export function dovecotVersion(bin = which('dovecot')) {
  return runSync(bin, ['--version'], { timeoutMs: 10_000 }).out.split(' ')[0];
}

function accountIds(name) {
  const r = runSync('id', ['-u', name]);
  const g = runSync('id', ['-g', name]);
  if (r.code !== 0 || g.code !== 0) throw new Error(`user ${name} does not exist`);
  return { uid: Number(r.out), gid: Number(g.out) };
}

function conf({ dir, maildirRoot, layout, imapPort, pop3Port, protocols, uid, extraConf = '' }) {
  const listener = (port) => (port ? `address = 127.0.0.1\n    port = ${port}` : 'port = 0');
  return `# Private benchmark instance written by bench/lib/dovecot.mjs; deleted after the run.
instance_name = ${dir.slice(dir.lastIndexOf('/') + 1)}
protocols = ${protocols.join(' ')}
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
login_trusted_networks = 127.0.0.0/8
first_valid_uid = ${uid}
last_valid_uid = ${uid}
mail_location = maildir:${maildirRoot}/${layout}:INDEX=${dir}/index/%u:CONTROL=${dir}/control/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/users
}
service imap-login {
  inet_listener imap {
    ${listener(imapPort)}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    ${listener(pop3Port)}
  }
  inet_listener pop3s {
    port = 0
  }
}
${extraConf}`;
}

/**
 * Starts Dovecot over `maildirRoot` (users' Maildirs at <maildirRoot>/<layout>,
 * layout in Dovecot variables, default `%d/%n` = <domain>/<local>).
 * users: [{ name: 'user@example.test', password }] or { name, passwordHash }
 * with a scheme prefix Dovecot knows ({ARGON2ID}$argon2id$…, as Postamt's
 * directory stores them — so both servers pay the same hash). Resolves once every
 * listener greets; `stop()` is also registered for cleanup. `extraConf` is
 * appended to dovecot.conf (service limits for many connections, …).
 * `restart()` stops the master and starts it again on the same ports, index
 * and control files (a "server just started" cold run); `pid` follows it.
 */
export async function start({
  maildirRoot,
  users,
  imap = true,
  pop3 = true,
  layout = '%d/%n',
  chownMaildir = true,
  mailUser = 'mail',
  keep = false,
  extraConf = '',
  log = () => {},
}) {
  if (!imap && !pop3) throw new Error('start Dovecot with imap, pop3 or both');
  if (process.getuid?.() !== 0) throw new Error('the Dovecot side of the bench must run as root');
  const bin = ensureDovecot({ imap, pop3, log });
  const version = dovecotVersion(bin);
  if (!version.startsWith('2.3.')) {
    throw new Error(`Dovecot ${version}: bench/lib/dovecot.mjs writes a 2.3 configuration only`);
  }
  const { uid, gid } = accountIds(mailUser);

  const dir = makeTempDir('bench-dovecot');
  const removeDir = removeDirLater(dir, keep);
  chmodSync(dir, 0o755);
  for (const sub of ['index', 'control', 'home']) {
    mkdirSync(join(dir, sub));
    chownSync(join(dir, sub), uid, gid);
  }
  if (chownMaildir) {
    const r = runSync('chown', ['-R', `${uid}:${gid}`, maildirRoot], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`chown of ${maildirRoot} failed: ${r.out}`);
  }
  // passwd-file: user:password:uid:gid:gecos:home:shell:extra
  writeFileSync(
    join(dir, 'users'),
    users
      .map(
        (u) =>
          `${u.name}:${u.passwordHash ?? `{PLAIN}${u.password}`}:${uid}:${gid}::${dir}/home/${u.name}::\n`,
      )
      .join(''),
    { mode: 0o644 },
  );
  const imapPort = imap ? await freePort() : null;
  const pop3Port = pop3 ? await freePort() : null;
  const protocols = [imap && 'imap', pop3 && 'pop3'].filter(Boolean);
  const confFile = join(dir, 'dovecot.conf');
  writeFileSync(confFile, conf({ dir, maildirRoot, layout, imapPort, pop3Port, protocols, uid, extraConf }));

  const check = runSync(which('doveconf') ?? 'doveconf', ['-c', confFile, '-n'], { timeoutMs: 30_000 });
  if (check.code !== 0) {
    await removeDir();
    throw new Error(`doveconf rejected ${confFile}:\n${check.out}`);
  }
  const logFile = join(dir, 'dovecot.out');
  let proc = null;
  const launch = async () => {
    proc = startChild('dovecot', bin, ['-F', '-c', confFile], { cwd: dir, logFile });
    try {
      await waitUntil(
        `dovecot on 127.0.0.1:${[imapPort, pop3Port].filter(Boolean).join(',')}`,
        async () => {
          if (proc.gone()) throw fatal(`dovecot exited during start-up:\n${proc.logTail()}`);
          return (!imap || (await greets(imapPort, '* OK'))) && (!pop3 || (await greets(pop3Port, '+OK')));
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    } catch (err) {
      const tail = runSync('tail', ['-n', '20', join(dir, 'dovecot.log')]).out;
      await proc.stop();
      throw new Error(`${err.message}\n--- dovecot.log:\n${tail}`);
    }
  };
  const stop = async () => {
    await proc?.stop();
    await removeDir();
  };
  try {
    await launch();
  } catch (err) {
    await removeDir();
    throw err;
  }
  return {
    dir,
    version,
    imapPort,
    pop3Port,
    get pid() {
      return proc.pid;
    },
    cpuSeconds: () => treeCpuSeconds(proc.pid),
    memory: (opts) => treeMemory(proc.pid, opts),
    logTail: (lines = 20) => runSync('tail', ['-n', String(lines), join(dir, 'dovecot.log')]).out,
    async restart() {
      await proc.stop();
      await launch();
    },
    stop,
  };
}
