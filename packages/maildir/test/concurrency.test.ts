// Several real processes on one folder at once, and processes killed with
// SIGKILL mid-work. The workers run the built package (dist/), like services.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MaildirStore, readUidList } from '../src/index.js';
import { runWorker, tempRoot } from './helpers.js';

function checkObservations(outputs: string[]): number {
  const uidOf = new Map<string, number>();
  const baseOf = new Map<number, string>();
  let n = 0;
  for (const out of outputs) {
    for (const line of out.split('\n')) {
      if (!line) continue;
      const { b, u } = JSON.parse(line) as { b: string; u: number };
      n++;
      if (uidOf.has(b)) expect(uidOf.get(b), `base ${b} seen with two UIDs`).toBe(u);
      if (baseOf.has(u)) expect(baseOf.get(u), `UID ${u} seen on two messages`).toBe(b);
      uidOf.set(b, u);
      baseOf.set(u, b);
    }
  }
  return n;
}

async function expectConsistent(root: string): Promise<void> {
  const snap = await new MaildirStore({ root }).open('INBOX');
  const files = ['new', 'cur'].flatMap((sub) => readdirSync(join(root, sub)));
  expect(snap.messages.length).toBe(files.length);
  const uids = snap.messages.map((m) => m.uid);
  expect(uids).toEqual([...uids].sort((a, b) => a - b));
  expect(new Set(uids).size).toBe(uids.length);
  expect(Math.max(0, ...uids)).toBeLessThan(snap.uidNext);
  const list = (await readUidList(root)).list!;
  expect(list.uids.size).toBe(files.length);
}

describe('the UID list under concurrent writers', () => {
  it('gives every message exactly one UID and never reuses one', async () => {
    const root = tempRoot();
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => runWorker([root, 'mixed', '120', String(i)])),
    );
    const observed = checkObservations(runs.map((r) => r.stdout));
    expect(observed).toBeGreaterThan(100);
    await expectConsistent(root);
    // And observations made after all writers stopped agree with those made while they ran.
    const snap = await new MaildirStore({ root }).open('INBOX');
    checkObservations([
      ...runs.map((r) => r.stdout),
      snap.messages.map((m) => JSON.stringify({ b: m.base, u: m.uid })).join('\n'),
    ]);
  });
});

describe('crash recovery', () => {
  it('repairs after SIGKILL mid-append: list consistent, UIDs kept, tmp leftovers harmless', async () => {
    const root = tempRoot();
    const runs = await Promise.all(
      [0, 1, 2].map((i) => runWorker([root, 'append', '0', String(i)], 400 + i * 97)),
    );
    expect(runs.every((r) => r.signal === 'SIGKILL')).toBe(true);
    const before = (await readUidList(root)).list;
    const snap = await new MaildirStore({ root }).open('INBOX');
    // UIDs already handed out survive the crash unchanged.
    for (const [base, uid] of before?.uids ?? []) {
      const m = snap.messages.find((x) => x.base === base);
      if (m) expect(m.uid).toBe(uid);
    }
    expect(snap.uidValidity).toBe(before?.uidValidity ?? snap.uidValidity);
    await expectConsistent(root);
  });

  it('breaks the lock of a dead holder at once, and of a silent one after the stale age', async () => {
    const root = tempRoot();
    const r = await runWorker([root, 'hold-lock', '0', '9']);
    expect(r.signal).toBe('SIGKILL');
    expect(statSync(join(root, 'postamt-uidlist.lock')).isFile()).toBe(true);
    writeFileSync(join(root, 'new', '1.x.h,S=1'), 'x');
    // "At once": with an hour's stale age and no lock timeout to speak of, only
    // seeing that the holder is dead can get this open through.
    const snap = await new MaildirStore({ root, lock: { staleMs: 3600_000, timeoutMs: 60_000 } }).open(
      'INBOX',
    );
    expect(snap.messages.length).toBe(1);

    // A holder on another machine (unknown host) that stopped touching its lock.
    writeFileSync(join(root, 'postamt-uidlist.lock'), 'other-host\n1\n0\ntoken\n');
    writeFileSync(join(root, 'new', '2.x.h,S=1'), 'x');
    const store = new MaildirStore({ root, lock: { staleMs: 300, timeoutMs: 5000 } });
    expect((await store.open('INBOX')).messages.length).toBe(2);

    // A live holder is waited for, then the waiter times out with 'locked'.
    writeFileSync(join(root, 'postamt-uidlist.lock'), `other-host\n1\n${Date.now()}\ntoken\n`);
    writeFileSync(join(root, 'new', '3.x.h,S=1'), 'x');
    const impatient = new MaildirStore({ root, lock: { staleMs: 60_000, timeoutMs: 200 } });
    await expect(impatient.open('INBOX')).rejects.toMatchObject({ code: 'locked' });
  });
});
