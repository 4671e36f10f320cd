// A private, throw-away Postfix instance: its own config, queue and data
// directories in a temp dir, one smtpd on a loopback port, and nothing that
// delivers. The system's Postfix (/etc/postfix, port 25) is never started or
// changed; `postfix -c DIR` selects our config directory.
//
// Pitfalls found while setting this up (Postfix 3.7, Debian):
// - data_directory must be owned by mail_owner (postfix), or master fails with
//   "open lock file .../master.lock: Permission denied". queue_directory is
//   root-owned; `postfix start` creates its subdirectories with the right owners.
// - The temp dir must be world-searchable (0755): daemons run as `postfix`.
// - maillog_file must sit under maillog_file_prefixes (default /var, /dev/stdout).
// - Postfix writes errors to stderr only on a tty; otherwise to syslog/maillog,
//   so on failure we show the tail of our maillog.
// - As root, `postfix -c DIR` needs no alternate_config_directories entry and no
//   /etc/postfix/main.cf at all (that check applies to set-gid commands run by
//   other users); should a Postfix version insist, we add the line and retry.
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@postamt/testkit';
import { onCleanup } from './cleanup.mjs';
import { requireProgram, runSync, smtpBanner, tail, treeCpuSeconds } from './proc.mjs';
import { waitUntil } from './timing.mjs';

/** Postfix queues, as directories of the queue_directory. */
export const QUEUES = ['maildrop', 'incoming', 'active', 'deferred', 'hold', 'corrupt'];

function mainCf(
  dir,
  {
    port,
    processLimit,
    listenAddress = '127.0.0.1',
    mynetworks = '127.0.0.0/8',
    recipientRestrictions = 'permit_mynetworks, reject',
    extraMainCf = '',
  },
) {
  return `# Private benchmark instance written by bench/lib/postfix.mjs; deleted after the run.
compatibility_level = 3.6
queue_directory = ${dir}/spool
data_directory = ${dir}/data
maillog_file = ${dir}/maillog
maillog_file_prefixes = ${dir}
myhostname = bench.postfix.test
mydomain = postfix.test
myorigin = $myhostname
# Loopback (or a private bench veth address) only, IPv4 only.
inet_interfaces = ${listenAddress}
inet_protocols = ipv4
mynetworks = ${mynetworks}
mydestination = example.test, localhost
# The one local recipient; like Postamt's directory check, unknown users are rejected.
local_recipient_maps = inline:{ user@example.test=ok }
alias_maps =
alias_database =
smtpd_recipient_restrictions = ${recipientRestrictions}
# Measure acceptance only: every accepted message goes to the hold queue,
# where the queue manager never looks at it.
smtpd_end_of_data_restrictions = check_client_access static:HOLD
# Belt and braces: should anything ever leave the hold queue, it is discarded.
local_transport = discard:bench
virtual_transport = discard:bench
relay_transport = discard:bench
default_transport = discard:bench
default_process_limit = ${processLimit}
biff = no
# smtpd listens on ${listenAddress}:${port} (master.cf).
${extraMainCf}`;
}

// The default master.cf minus every inet listener (so port 25 is never bound)
// and minus delivery agents we do not need; chroot off everywhere.
function masterCf(port, listenAddress = '127.0.0.1', extraMasterCf = '') {
  return `# service type  private unpriv  chroot  wakeup  maxproc command
${listenAddress}:${port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
${extraMasterCf}`;
}

function uidOf(user) {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`user ${user} does not exist (is Postfix installed?)`);
  return Number(line.split(':')[2]);
}

/** Files (recursively) in one queue directory. */
function countFiles(dir) {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  }
  return n;
}

/** The main.cf `alternate_config_directories` fallback (see the notes above). */
function allowConfigDir(configDir) {
  const sysMain = '/etc/postfix/main.cf';
  mkdirSync('/etc/postfix', { recursive: true });
  const current = existsSync(sysMain) ? readFileSync(sysMain, 'utf8') : '';
  if (current.includes(configDir)) return;
  const prefix = configDir.slice(0, configDir.lastIndexOf('/'));
  process.stderr.write(`[bench] adding alternate_config_directories to ${sysMain}\n`);
  appendFileSync(
    sysMain,
    `${current && !current.endsWith('\n') ? '\n' : ''}# added by postamt bench\nalternate_config_directories = ${prefix}\n`,
  );
}

/**
 * Starts the instance and resolves once smtpd answers with 220 on
 * 127.0.0.1:port. Call `stop()` (also registered for cleanup) when done.
 * Optional: `netns` (from lib/netns.mjs) starts it inside that namespace, so it
 * reads the namespace's /etc/resolv.conf, listening on `listenAddress` there;
 * `mynetworks`, `recipientRestrictions` and `extraMainCf` (appended lines)
 * change the policy; `extraMasterCf` adds services (e.g. the smtp client).
 */
export async function startPostfix({
  port,
  processLimit = 100,
  keep = false,
  startTimeoutMs = 30_000,
  netns = null,
  listenAddress = '127.0.0.1',
  mynetworks,
  recipientRestrictions,
  extraMainCf,
  extraMasterCf,
}) {
  const postfix = requireProgram('postfix', 'apt-get install postfix');
  if (process.getuid?.() !== 0) throw new Error('the Postfix side of the bench must run as root');

  const dir = makeTempDir('bench-postfix');
  chmodSync(dir, 0o755);
  const configDir = join(dir, 'etc');
  mkdirSync(configDir);
  mkdirSync(join(dir, 'spool'), { mode: 0o755 });
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  chownSync(join(dir, 'data'), uidOf('postfix'), 0);
  writeFileSync(
    join(configDir, 'main.cf'),
    mainCf(dir, { port, processLimit, listenAddress, mynetworks, recipientRestrictions, extraMainCf }),
  );
  writeFileSync(join(configDir, 'master.cf'), masterCf(port, listenAddress, extraMasterCf));
  const maillog = join(dir, 'maillog');
  // In a namespace every command runs inside it: `check` looks for inet_interfaces there.
  const pf = (cmd, timeoutMs = 60_000) =>
    netns
      ? runSync(...netns.wrap(postfix, ['-c', configDir, cmd]), { timeoutMs })
      : runSync(postfix, ['-c', configDir, cmd], { timeoutMs });

  let masterPid = null;
  const readMasterPid = () => {
    try {
      return Number.parseInt(readFileSync(join(dir, 'spool/pid/master.pid'), 'utf8'), 10) || null;
    } catch {
      return null;
    }
  };
  // Synchronous so the same code works from the process 'exit' handler.
  const stopSync = () => {
    if (existsSync(join(configDir, 'main.cf'))) {
      const pid = masterPid ?? readMasterPid();
      const r = pf('stop', 30_000);
      if (r.code !== 0) pf('abort', 15_000);
      // Last resort if the master is still around: kill it by its pid (never by name).
      if (pid && existsSync(`/proc/${pid}`)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (!keep) runSync('rm', ['-rf', dir]);
  };
  const stop = onCleanup(`postfix ${dir}`, async () => stopSync(), stopSync);

  const fail = (what, out) => {
    throw new Error(`postfix ${what} failed:\n${out}\n--- ${maillog}:\n${tail(maillog, 20)}`);
  };
  try {
    let check = pf('check');
    if (check.code !== 0 && /alternate_config_directories/.test(check.out + tail(maillog))) {
      allowConfigDir(configDir);
      check = pf('check');
    }
    if (check.code !== 0) fail('check', check.out);
    const start = pf('start');
    if (start.code !== 0) fail('start', start.out);
    masterPid = readMasterPid();
    await waitUntil(`postfix smtpd on ${listenAddress}:${port}`, () => smtpBanner(port, listenAddress), {
      timeoutMs: startTimeoutMs,
      intervalMs: 100,
    });
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    dir,
    port,
    host: listenAddress,
    masterPid,
    version: runSync(requireProgram('postconf'), ['-c', configDir, '-h', 'mail_version']).out,
    maillog,
    /** Number of queue files in each Postfix queue. */
    queueCounts: () => Object.fromEntries(QUEUES.map((q) => [q, countFiles(join(dir, 'spool', q))])),
    /** CPU seconds of the master and all its processes so far. */
    cpuSeconds: () => treeCpuSeconds(masterPid),
    logTail: (lines) => tail(maillog, lines),
    stop,
  };
}
