// A small filesystem for disk-full tests: a 2 MB tmpfs mounted over a temp dir
// (needs root, as in CI containers). The test skips where mounting is refused.
import { execFileSync } from 'node:child_process';
import { rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@postamt/testkit';

export interface SmallVolume {
  dir: string;
  /** Writes a filler file leaving about `leaveBytes` free. */
  fill(leaveBytes: number): void;
  /** Removes the filler file. */
  free(): void;
  unmount(): void;
}

export function canMount(): boolean {
  return process.getuid?.() === 0;
}

export function mountSmallVolume(size = '2m'): SmallVolume {
  const dir = makeTempDir('small-volume');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  const freeBytes = () => {
    const out = execFileSync('df', ['-B1', '--output=avail', dir]).toString().trim().split('\n');
    return Number(out[out.length - 1]);
  };
  return {
    dir,
    fill(leaveBytes) {
      const n = Math.max(0, freeBytes() - leaveBytes);
      writeFileSync(filler, Buffer.alloc(n, 0x61));
    },
    free() {
      execFileSync('rm', ['-f', filler]);
    },
    unmount() {
      execFileSync('umount', ['-l', dir]);
      rmdirSync(dir);
    },
  };
}
