// Cleanup that runs whatever happens: on normal return, on a thrown error, on
// Ctrl-C/SIGTERM and at process exit. A benchmark that dies must not leave a
// Postfix master, an intake or a redis-server running, nor its temp dirs.
import { rmSync } from 'node:fs';

// Each entry: { name, async: () => Promise<void>, sync: () => void } — sync is the
// last resort used from the 'exit' handler, where nothing asynchronous can run.
const entries = [];
let hooksInstalled = false;

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const e of entries.splice(0).reverse()) {
      try {
        e.sync();
      } catch {
        // keep going: the others still need to be stopped
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      process.stderr.write(`\n[bench] ${sig}: stopping everything\n`);
      // Bounded: if a graceful stop hangs, the 'exit' handler still kills.
      const timer = setTimeout(() => process.exit(130), 15_000);
      runCleanups().finally(() => {
        clearTimeout(timer);
        process.exit(130);
      });
    });
  }
}

/**
 * Registers a cleanup and returns a function that runs it once (and
 * unregisters it). `sync` defaults to nothing; give one for anything that
 * outlives the node process (daemons, temp dirs).
 */
export function onCleanup(name, asyncFn, syncFn = () => {}) {
  installHooks();
  const entry = { name, async: asyncFn, sync: syncFn };
  entries.push(entry);
  return async () => {
    const i = entries.indexOf(entry);
    if (i < 0) return;
    entries.splice(i, 1);
    await entry.async();
  };
}

/** Runs every registered cleanup, newest first; errors are reported, not thrown. */
export async function runCleanups() {
  while (entries.length > 0) {
    const e = entries.pop();
    try {
      await e.async();
    } catch (err) {
      process.stderr.write(`[bench] cleanup of ${e.name} failed: ${err.message}\n`);
      try {
        e.sync();
      } catch {
        // nothing more to do
      }
    }
  }
}

/** A temp dir removed at cleanup (unless `keep`, for debugging). */
export function removeDirLater(dir, keep = false) {
  const rm = () => {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  return onCleanup(`dir ${dir}`, async () => rm(), rm);
}
