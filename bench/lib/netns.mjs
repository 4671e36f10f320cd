// A throw-away network namespace joined to this host by a veth pair with two
// private addresses, so a server inside it (Postfix) can have its own
// /etc/resolv.conf (`ip netns exec` bind-mounts /etc/netns/NAME/* over /etc)
// without touching the machine's. Everything stays on this machine: the pair
// has no route anywhere else. Names and the /30 are derived from our pid, so
// two benches (or helpers) can run side by side; removed at cleanup.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { onCleanup } from './cleanup.mjs';
import { requireProgram, runSync } from './proc.mjs';

/** Creates the namespace; returns { name, hostIp, nsIp, exec(cmd, args), stop }. */
export function createNetns({ resolvConf } = {}) {
  if (process.getuid?.() !== 0) throw new Error('a network namespace needs root');
  const ip = requireProgram('ip', 'apt-get install iproute2');
  const tag = process.pid % 10_000;
  const name = `pabench${process.pid}`;
  const hostIf = `pab${tag}h`;
  const nsIf = `pab${tag}n`;
  // 10.231.<a>.<b>/30: pid-derived, within one /16 kept for benches.
  const block = (process.pid % 16_000) * 4;
  const base = `10.231.${Math.floor(block / 256)}`;
  const hostIp = `${base}.${(block % 256) + 1}`;
  const nsIp = `${base}.${(block % 256) + 2}`;
  const etcDir = `/etc/netns/${name}`;

  const must = (args) => {
    const r = runSync(ip, args, { timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.out}`);
  };
  const removeSync = () => {
    runSync(ip, ['netns', 'del', name], { timeoutMs: 15_000 }); // takes the veth pair with it
    runSync(ip, ['link', 'del', hostIf], { timeoutMs: 15_000 }); // in case the netns never got it
    if (existsSync(etcDir)) rmSync(etcDir, { recursive: true, force: true });
  };
  const stop = onCleanup(`netns ${name}`, async () => removeSync(), removeSync);
  try {
    must(['netns', 'add', name]);
    must(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    must(['link', 'set', nsIf, 'netns', name]);
    must(['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    must(['link', 'set', hostIf, 'up']);
    must(['-n', name, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
    must(['-n', name, 'link', 'set', nsIf, 'up']);
    must(['-n', name, 'link', 'set', 'lo', 'up']);
    mkdirSync(etcDir, { recursive: true });
    if (resolvConf) writeFileSync(`${etcDir}/resolv.conf`, resolvConf);
  } catch (err) {
    stop();
    throw err;
  }
  return {
    name,
    hostIp,
    nsIp,
    /** Writes /etc/netns/NAME/<file> (seen as /etc/<file> inside). */
    etcFile: (file, text) => writeFileSync(`${etcDir}/${file}`, text),
    /** [cmd, args] that run `cmd args` inside the namespace. */
    wrap: (cmd, args) => [ip, ['netns', 'exec', name, cmd, ...args]],
    stop,
  };
}
