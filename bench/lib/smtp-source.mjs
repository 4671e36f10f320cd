// Postfix's smtp-source as the load generator, the same for both servers:
// one SMTP session per message (its default), `sessions` in parallel.
import { spawn } from 'node:child_process';
import { onCleanup } from './cleanup.mjs';
import { requireProgram } from './proc.mjs';
import { now } from './timing.mjs';

/**
 * Sends `messages` messages of `size` bytes to host:port (127.0.0.1) and resolves with
 * { seconds, rate, code, output } — wall clock from spawn to exit. smtp-source
 * stops at the first error reply, so a non-zero exit means not all were sent.
 */
export function runSmtpSource({ port, host = '127.0.0.1', sessions, messages, size, from, to, timeoutMs }) {
  const bin = requireProgram('smtp-source', 'apt-get install postfix');
  // -M: a fully-qualified HELO name; smtp-source's default (the local host name) may be refused.
  const args = ['-s', String(sessions), '-m', String(messages), '-l', String(size), '-f', from, '-t', to];
  args.push('-M', 'client.bench.example');
  args.push(`${host}:${port}`);
  return new Promise((resolve) => {
    const t0 = now();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // Killed if the bench is interrupted mid-run.
    const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
    const release = onCleanup('smtp-source', async () => kill(), kill);
    let output = '';
    const keep = (d) => {
      // Enough to show an error, bounded in case it is chatty.
      if (output.length < 8192) output += d.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (code, signal, error) => {
      clearTimeout(timer);
      release();
      const seconds = now() - t0;
      resolve({
        command: `smtp-source ${args.join(' ')}`,
        seconds,
        rate: messages / seconds,
        code: timedOut ? 'timeout' : (code ?? signal),
        ok: !timedOut && code === 0 && !error,
        output: (error ? `${error.message}\n` : '') + output.trim(),
      });
    };
    child.once('error', (err) => finish(null, null, err));
    child.once('exit', (code, signal) => finish(code, signal));
  });
}
