// amavisd-new (Debian's package) for the filter scenario: a private instance
// in a temp dir, its own config file (not /etc/amavis), SMTP in on a free
// loopback port, every accepted message forwarded to Postfix's smtp-sink,
// which discards it. It scans with the same clamd (CONTSCAN over TCP on its
// temp files) and with SpamAssassin in process (the same installed rules as
// spamd, network tests off, same levels: tag2 5, kill 25), quarantines to
// files, and sends no notices. Its result cache is off, as Postamt has none.
// amavisd answers 250 only after forwarding, so the time until the last 250
// is its throughput.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { freePort, makeTempDir } from '@postamt/testkit';
import { removeDirLater } from './cleanup.mjs';
import { requireProgram, startChild, treeCpuSeconds, which } from './proc.mjs';
import { fatal, now, waitUntil } from './timing.mjs';

function config({ dir, port, sinkPort, clamdPort, children }) {
  return `use strict;
$MYHOME = '${dir}';
$TEMPBASE = "$MYHOME/tmp";
$db_home = "$MYHOME/db";
$helpers_home = "$MYHOME/var";
$QUARANTINEDIR = "$MYHOME/quarantine";
$pid_file = "$MYHOME/amavisd.pid";
$lock_file = "$MYHOME/amavisd.lock";
$daemon_user = 'amavis';
$daemon_group = 'amavis';
$max_servers = ${children};
$max_requests = 1000;
$child_timeout = 5*60;
$inet_socket_bind = '127.0.0.1';
$inet_socket_port = ${port};
$unix_socketname = undef;
@inet_acl = qw(127.0.0.1);
$mydomain = 'bench.test';
$myhostname = 'amavis.bench.test';
@local_domains_maps = (['.bench.test']);
$forward_method = 'smtp:[127.0.0.1]:${sinkPort}';
$notify_method = $forward_method;
$enable_db = 0;
$enable_zmq = 0;
$enable_dkim_verification = 0;
$enable_dkim_signing = 0;
$do_syslog = 0;
$logfile = "$MYHOME/amavis.log";
$log_level = 0;
$sa_local_tests_only = 1;
$sa_tag_level_deflt = -999;
$sa_tag2_level_deflt = 5;
$sa_kill_level_deflt = 25;
$sa_mail_body_size_limit = 512*1024;
$final_virus_destiny = D_DISCARD;
$final_banned_destiny = D_DISCARD;
$final_spam_destiny = D_DISCARD;
$final_bad_header_destiny = D_PASS;
$virus_quarantine_method = 'local:virus-%m';
$banned_files_quarantine_method = 'local:banned-%m';
$spam_quarantine_method = 'local:spam-%m';
$virus_admin = undef;
$spam_admin = undef;
$banned_admin = undef;
$warnvirusrecip = 0;
$warnbannedrecip = 0;
@av_scanners = (['ClamAV-clamd', \\&ask_daemon, ["CONTSCAN {}\\n", "[127.0.0.1]:${clamdPort}"],
  qr/\\bOK$/m, qr/\\bFOUND$/m, qr/^.*?: (?!Infected Archive)(.*) FOUND$/m ]);
@av_scanners_backup = ();
1;
`;
}

/** One SMTP transaction per connection; resolves with the final DATA reply code. */
function smtpSend(port, rcpts, body) {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    const steps = [
      'EHLO client.bench.example',
      'MAIL FROM:<sender@example.org>',
      ...rcpts.map((r) => `RCPT TO:<${r}>`),
      'DATA',
    ];
    let buf = '';
    let stage = -1; // -1: greeting
    let dataSent = false;
    sock.setTimeout(300_000, () => sock.destroy(new Error('smtp timeout')));
    sock.once('error', reject);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const m = /^(\d{3})([ -])[^\n]*\n/m.exec(buf);
        if (!m) return;
        buf = buf.slice(m.index + m[0].length);
        if (m[2] === '-') continue;
        const code = Number(m[1]);
        if (dataSent) {
          sock.end('QUIT\r\n');
          resolve(code);
          return;
        }
        if (code >= 400) {
          sock.destroy();
          reject(new Error(`smtp ${m[0].trim()}`));
          return;
        }
        stage++;
        if (stage < steps.length) sock.write(`${steps[stage]}\r\n`);
        else {
          // Dot-stuffing (RFC 5321 §4.5.2); the corpus uses CRLF line ends.
          const text = body.toString('latin1').replace(/^\./gm, '..');
          sock.write(Buffer.from(`${text}${text.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1'));
          dataSent = true;
        }
      }
    });
    sock.connect(port, '127.0.0.1');
  });
}

export async function runAmavis({ messages, concurrency, clamd, keep, log }) {
  const amavisd = which('amavisd') ?? which('amavisd-new');
  if (!amavisd) throw new Error('amavisd-new is not installed (apt-get install amavisd-new)');
  const sink = requireProgram('smtp-sink', 'apt-get install postfix');
  const top = makeTempDir('bench-amavis');
  const removeDir = removeDirLater(top, keep);
  chmodSync(top, 0o755);
  // amavisd refuses a config file in a directory it could write: the config
  // stays root's, its home (temp files, quarantine) is amavis'.
  const dir = join(top, 'home');
  for (const d of ['tmp', 'db', 'var', 'quarantine']) mkdirSync(join(dir, d), { recursive: true });
  spawnSync('chown', ['-R', 'amavis:amavis', dir]);
  const [port, sinkPort] = [await freePort(), await freePort()];
  const conf = join(top, 'amavisd.conf');
  writeFileSync(conf, config({ dir, port, sinkPort, clamdPort: clamd.port, children: concurrency }));
  const sinkProc = startChild('smtp-sink', sink, ['-u', 'nobody', `127.0.0.1:${sinkPort}`, '256'], {
    env: process.env,
    logFile: join(top, 'smtp-sink.log'),
  });
  const proc = startChild('amavisd', amavisd, ['-c', conf, 'foreground'], {
    env: process.env,
    logFile: join(top, 'amavisd.out'),
  });
  try {
    await waitUntil(
      'amavisd listening',
      async () => {
        if (proc.gone()) throw fatal(`amavisd exited:\n${proc.logTail()}`);
        return new Promise((resolve) => {
          const s = new Socket();
          s.once('error', () => resolve(false));
          s.once('data', (d) => {
            s.destroy();
            resolve(d.toString().startsWith('220'));
          });
          s.connect(port, '127.0.0.1');
        });
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    log(`amavisd-new: warming up, then ${messages.length} messages at ${concurrency} in flight`);
    const send = async (list) => {
      let next = 0;
      const codes = new Map();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < list.length) {
            const m = list[next++];
            const code = await smtpSend(port, m.to, m.body);
            codes.set(code, (codes.get(code) ?? 0) + 1);
          }
        }),
      );
      return codes;
    };
    await send(messages.slice(0, 40));
    const cpu0 = treeCpuSeconds(proc.pid);
    const t0 = now();
    const codes = await send(messages);
    const seconds = now() - t0;
    const cpu = treeCpuSeconds(proc.pid) - cpu0;
    const quarantined = readdirSync(join(dir, 'quarantine')).length;
    log(`amavisd-new: ${seconds.toFixed(1)} s, replies ${JSON.stringify(Object.fromEntries(codes))}`);
    return {
      seconds,
      rate: messages.length / seconds,
      cpuMsPerMessage: (cpu * 1000) / messages.length,
      processes: concurrency,
      replies: Object.fromEntries(codes),
      quarantined,
    };
  } finally {
    await proc.stop();
    await sinkProc.stop();
    await removeDir();
  }
}
