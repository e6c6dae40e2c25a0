// I/O at sectors past 2^53 (sector_t is a u64): never a throw, the block
// layer's answer instead: EIO past the end of the device, through the library
// and through `dmsetup-ts io` (issue 13, item 4).

import t from 'tap';
import { bootKernel } from '../../index.js';
import { Bio, ReqOp, submitBioWait } from '../../kernel/bio.js';
import { sandbox } from '../helpers/cli.js';

t.test('bios at any sector of devices up to 2^54 sectors: a status, never a throw', async (t) => {
  const k = bootKernel({ virtualClock: true });
  t.teardown(() => k.shutdown());
  const N = (1n << 54n) - 64n;
  const mk = async (name: string, targets: Array<{ start: bigint; length: bigint; type: string; params: string }>) => {
    k.dmIoctl.devCreate(name);
    k.dmIoctl.tableLoad({ name }, targets);
    await k.dmIoctl.devResume({ name });
    return k.dmIoctl.deviceByName(name)!;
  };
  const z1 = await mk('z1', [{ start: 0n, length: N, type: 'zero', params: '' }]);
  await mk('z2', [{ start: 0n, length: N / 2n, type: 'zero', params: '' }]);
  await mk('z3', [{ start: 0n, length: N / 2n, type: 'zero', params: '' }]);
  const lin = await mk('lin', [
    { start: 0n, length: (1n << 53n) + 1n, type: 'linear', params: '/dev/mapper/z1 0' },
    { start: (1n << 53n) + 1n, length: 7n, type: 'error', params: '' },
    { start: (1n << 53n) + 8n, length: 1000n, type: 'linear', params: '/dev/mapper/z1 5' },
  ]);
  const str = await mk('str', [{ start: 0n, length: N - 64n, type: 'striped', params: '2 8 /dev/mapper/z2 0 /dev/mapper/z3 0' }]);
  const loop = k.loop(0)!; // a loop device without a file: size 0
  let thrown = 0, bios = 0;
  const sectors = [0, 2 ** 53 - 8, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 53 + 8, 2 ** 54 - 128, 2 ** 54 - 64, 2 ** 54, 2 ** 63, 2 ** 64, -8, -1, 0.5, NaN, Infinity];
  for (const bdev of [z1, lin, str, loop]) {
    for (const s of sectors) {
      for (const len of [512, 4096, 65536]) {
        for (const op of [ReqOp.READ, ReqOp.WRITE]) {
          bios++;
          try {
            const st = await submitBioWait(new Bio(op, bdev, s, Buffer.alloc(len)));
            const size = bdev.sizeSectors();
            const inside = Number.isInteger(s) && s >= 0 && s + len / 512 <= size && size > 0;
            if (!inside) t.equal(st, 'EIO', `${bdev.diskName} sector ${s} ${len} bytes: past the end, EIO`);
          } catch (e) {
            thrown++;
            t.fail(`${bdev.diskName} sector ${s} ${len} bytes op ${op}: threw ${(e as Error).message}`);
          }
        }
      }
    }
  }
  t.equal(thrown, 0, `none of ${bios} bios threw`);
  t.equal(await submitBioWait(new Bio(ReqOp.READ, z1, 2 ** 53, Buffer.alloc(4096))), 0, 'a read inside the device past 2^53');
});

t.test('dmsetup-ts io past 2^53', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  t.equal((await sb.dmsetup(['create', 'z', '--table', '0 8 zero'])).exitCode, 0);
  t.equal((await sb.dmsetup(['create', 'big', '--table', `0 ${(1n << 54n) - 64n} zero`])).exitCode, 0);
  const page = Buffer.alloc(4096);
  for (const s of ['9007199254740992', '9007199254740993', '18446744073709551615']) {
    for (const mode of [[], ['--buffered']]) {
      const w = await sb.run('dmsetup-ts', ['io', 'write', 'z', s, '8', ...mode], { input: page });
      t.equal(w.exitCode, 1, `write at ${s} ${mode}: fails`);
      t.equal(w.stderr, `dmsetup-ts io: z: write at sector ${s}: No space left on device\n`, 'past the end of the device');
      const r = await sb.run('dmsetup-ts', ['io', 'read', 'z', s, '8', ...mode]);
      t.same([r.exitCode, r.stdout, r.stderr], [0, '', ''], `read at ${s} ${mode}: nothing (the end of the device)`);
    }
    if (s !== '18446744073709551615') {
      const w = await sb.run('dmsetup-ts', ['io', 'write', 'big', s, '8'], { input: page });
      t.equal(w.exitCode, 0, `inside a device of 2^54 - 64 sectors, at ${s}`);
    }
  }
  const over = await sb.run('dmsetup-ts', ['io', 'read', 'z', '18446744073709551616', '1']);
  t.same([over.exitCode, over.stderr], [1, 'dmsetup-ts io: sector 18446744073709551616: past the largest sector_t (2^64 - 1)\n']);
  t.notMatch((await sb.run('dmsetup-ts', ['dmesg'])).stdout, /internal error/);
});
