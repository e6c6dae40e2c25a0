// Waiting for a mirror to come in sync: the library's waitForSync on the real
// and the virtual clock, and `dmsetup-ts wait-sync` (a bar on a terminal, the
// final state only otherwise).

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { bootKernel, waitForSync, SyncTimeout } from '../../index.js';
import { createDevice, kernelWithDisks } from '../helpers/kernel.js';
import { sandbox, MAIN } from '../helpers/cli.js';

const MIRROR = (len: number) => [{ start: 0, length: len, type: 'mirror', params: 'core 1 1024 2 /dev/loop0 0 /dev/loop1 0' }];

t.test('waitForSync on the virtual clock, with progress', async (t) => {
  const { kernel } = kernelWithDisks(t, 2, 65536);
  t.teardown(() => kernel.shutdown());
  await createDevice(kernel, 'm', MIRROR(65536));
  await kernel.clock.settle();
  const seen: number[] = [];
  const p = await waitForSync(kernel, 'm', { onProgress: (x) => seen.push(x.inSync) });
  t.same(p, { inSync: 64, regions: 64, health: 'AA' });
  t.equal(seen.at(-1), 64);
  t.ok(seen.every((n, i) => i === 0 || n > seen[i - 1]!), 'progress only grows');
  t.match(kernel.dmIoctl.tableStatus({ name: 'm' }, 'info').targets[0]!.params, / 64\/64 1 AA /);
});

t.test('waitForSync on the real clock; a linear device is refused; a stalled resync times out', async (t) => {
  const dir = t.testdir({});
  const k = bootKernel();
  t.teardown(() => k.shutdown());
  for (const n of [0, 1]) { fs.writeFileSync(path.join(dir, `d${n}`), ''); fs.truncateSync(path.join(dir, `d${n}`), 16 << 20); k.loopAttach(n, path.join(dir, `d${n}`)); }
  await createDevice(k, 'm', MIRROR(32768));
  t.same(await waitForSync(k, 'm'), { inSync: 32, regions: 32, health: 'AA' });
  await createDevice(k, 'l', [{ start: 0, length: 8, type: 'zero', params: '' }]);
  await t.rejects(waitForSync(k, 'l'), /l: not a mirror/);
  // The primary leg behind a 20 s delay: the resync cannot finish in 300 ms.
  await createDevice(k, 'slow', [{ start: 0, length: 32768, type: 'delay', params: '/dev/loop0 0 20000' }]);
  await createDevice(k, 's', [{ start: 0, length: 32768, type: 'mirror', params: 'core 1 1024 2 /dev/mapper/slow 0 /dev/loop1 0' }]);
  const e = await waitForSync(k, 's', { timeoutMs: 300 }).catch((x: unknown) => x);
  t.ok(e instanceof SyncTimeout, 'SyncTimeout');
  t.match(String((e as Error).message), /^s: not in sync after 300 ms: 0\/32 regions, legs AA$/);
  t.same((e as SyncTimeout).progress, { inSync: 0, regions: 32, health: 'AA' });
});

t.test('dmsetup-ts wait-sync', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  for (const n of [0, 1]) {
    fs.writeFileSync(path.join(sb.dir, `d${n}`), '');
    fs.truncateSync(path.join(sb.dir, `d${n}`), 32 << 20);
    t.equal((await sb.run('losetup', [`/dev/loop${n}`, `d${n}`])).exitCode, 0);
  }
  t.equal((await sb.dmsetup(['create', 'm', '--table', '0 65536 mirror core 1 1024 2 /dev/loop0 0 /dev/loop1 0'])).exitCode, 0);
  const r = await sb.run('dmsetup-ts', ['wait-sync', 'm']);
  t.equal(r.exitCode, 0);
  t.equal(r.stdout, 'm: in sync: 64/64 regions, legs AA\n', 'not a terminal: the final state only');
  t.equal(r.stderr, '');
  const none = await sb.run('dmsetup-ts', ['wait-sync', 'nosuch']);
  t.equal(none.exitCode, 1);
  t.equal(none.stderr, 'dmsetup-ts wait-sync: nosuch: No such device\n');
  t.equal((await sb.run('dmsetup-ts', ['wait-sync'])).exitCode, 2);
  // On a terminal (script(1) gives it one): the bar, then the final state.
  const script = await execa('script', ['-qec', `${process.execPath} ${MAIN} wait-sync m`, '/dev/null'], { env: { ...sb.env, DMSETUP_TS_PROG: 'dmsetup-ts' }, reject: false });
  t.equal(script.exitCode, 0);
  t.match(String(script.stdout), /\r\x1b\[Km \[#{30}\] 64\/64 regions 100% [0-9.]+ regions\/s [0-9-]+:[0-9-]+ left\r\x1b\[Km: in sync: 64\/64 regions, legs AA/);
});
