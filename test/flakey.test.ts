// dm-flakey on an in-process kernel with a virtual clock. Every expected
// string is what the oracle (Linux 6.1.0-56) printed in scenarios 020, 101-105.

import t from 'tap';
import * as fs from 'node:fs';
import { flakeyTarget } from '../targets/flakey.js';
import { Bio, ReqOp, submitBioWait, type BlkStatus } from '../kernel/bio.js';
import type { Kernel } from '../kernel/kernel.js';
import type { MappedDevice } from '../kernel/dm.js';
import { kernelWithDisks, expectRefusals } from './helpers/kernel.js';

const SECTORS = 16384; // 8 MiB disks, as dm_disk N 8

function setup(t: { teardown(fn: () => void): void }, disks = 1) {
  return kernelWithDisks(t, disks, SECTORS);
}

async function create(kernel: Kernel, name: string, table: string): Promise<MappedDevice> {
  kernel.dmIoctl.devCreate(name);
  const specs = table.split('\n').map((line) => {
    const [start, length, type, ...rest] = line.split(' ');
    return { start: Number(start), length: Number(length), type: type!, params: rest.join(' ') };
  });
  kernel.dmIoctl.tableLoad({ name }, specs);
  await kernel.dmIoctl.devResume({ name });
  return kernel.dmIoctl.deviceByName(name)!;
}

/** `dmsetup table` / `dmsetup status` lines for one device. */
function lines(kernel: Kernel, name: string, type: 'table' | 'info'): string[] {
  return kernel.dmIoctl.tableStatus({ name }, type).targets.map((s) => `${name}: ${s.start} ${s.length} ${s.type} ${s.params}`);
}

const fill = (n: number, byte: number) => Buffer.alloc(n * 512, byte);
const write = (md: MappedDevice, sector: number, buf: Buffer): Promise<BlkStatus> => submitBioWait(new Bio(ReqOp.WRITE, md, sector, buf));
async function read(md: MappedDevice, sector: number, n: number): Promise<{ status: BlkStatus; data: Buffer }> {
  const data = Buffer.alloc(n * 512);
  const status = await submitBioWait(new Bio(ReqOp.READ, md, sector, data));
  return { status, data };
}
const flush = (md: MappedDevice): Promise<BlkStatus> => submitBioWait(new Bio(ReqOp.FLUSH, md, 0, Buffer.alloc(0)));
function leg(file: string, sector: number, n: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(n * 512);
    fs.readSync(fd, b, 0, b.length, sector * 512);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

t.test('the target type', async (t) => {
  t.equal(flakeyTarget.name, 'flakey');
  t.same(flakeyTarget.version, [1, 5, 0]);
  const { kernel } = setup(t, 0);
  // `dmsetup targets` order on the oracle: delay, flakey, zero, mirror, striped, linear, error.
  const names = kernel.dmIoctl.listVersions().map((v) => v.name);
  t.same(names, ['delay', 'flakey', 'zero', 'mirror', 'striped', 'linear', 'error']);
});

t.test('table and status text (scenarios 020, 101)', async (t) => {
  const { kernel } = setup(t, 2);
  const cases: Array<[string, string]> = [
    ['/dev/loop0 0 5 5', '7:0 0 5 5 0 '],
    ['/dev/loop0 0 5 0', '7:0 0 5 0 0 '],
    ['/dev/loop0 100 5 5 0', '7:0 100 5 5 0 '],
    ['7:1 0 0 4294967295 1 drop_writes', '7:1 0 0 4294967295 1 drop_writes '],
    ['/dev/loop1 0 4294967295 0 1 ERROR_Writes', '7:1 0 4294967295 0 1 error_writes '],
    ['/dev/loop0 0 3 7 5 corrupt_bio_byte 32 w 255 0', '7:0 0 3 7 5 corrupt_bio_byte 32 w 255 0 '],
    ['/dev/loop0 0 3 7 5 Corrupt_Bio_Byte 1 R 0 2048', '7:0 0 3 7 5 corrupt_bio_byte 1 r 0 2048 '],
    ['/dev/loop0 0 1 1 6 drop_writes corrupt_bio_byte 512 r 7 4294967295', '7:0 0 1 1 6 drop_writes corrupt_bio_byte 512 r 7 4294967295 '],
    ['/dev/loop0 0 1 1 6 corrupt_bio_byte 512 r 7 0 error_writes', '7:0 0 1 1 6 error_writes corrupt_bio_byte 512 r 7 0 '],
    ['/dev/loop0 0 1 1 0 left over words', '7:0 0 1 1 0 '],
    ['/dev/loop0 0 1 1 1 drop_writes extra', '7:0 0 1 1 1 drop_writes '],
    ['/dev/loop0 0 01 002 005 corrupt_bio_byte 0010 w 0255 00', '7:0 0 1 2 5 corrupt_bio_byte 10 w 255 0 '],
    // sscanf("%u") wraps: 4294967296 is 0, 4294967297 feature args is 1 (scenario 102).
    ['/dev/loop0 0 4294967296 5 4294967297 drop_writes', '7:0 0 0 5 1 drop_writes '],
  ];
  let i = 0;
  for (const [params, table] of cases) {
    const name = `f${i++}`;
    const len = params.startsWith('/dev/loop0 100') ? 4096 : 8192;
    await create(kernel, name, `0 ${len} flakey ${params}`);
    t.same(lines(kernel, name, 'table'), [`${name}: 0 ${len} flakey ${table}`], params);
    t.same(lines(kernel, name, 'info'), [`${name}: 0 ${len} flakey `], `${params}: status`);
  }
});

t.test('constructor refusals, in the kernel order (scenario 102)', async (t) => {
  const { kernel } = setup(t, 1);
  const cases: Array<[string, string]> = [
    ['', 'Invalid argument count (-EINVAL)'],
    ['/dev/loop0 0 5', 'Invalid argument count (-EINVAL)'],
    ['/dev/loop0 x 5 5', 'Invalid device sector (-EINVAL)'],
    ['/dev/loop0 -1 5 5', 'Invalid device sector (-EINVAL)'],
    ['/dev/loop0 0 x 5', 'Invalid up interval (-EINVAL)'],
    ['/dev/loop0 0 -1 5', 'Invalid up interval (-EINVAL)'],
    ['/dev/loop0 0 5 x', 'Invalid up interval (-EINVAL)'],
    ['/dev/loop0 0 5 5x', 'Invalid up interval (-EINVAL)'],
    ['/dev/loop0 0 0 0', 'Total (up + down) interval is zero (-EINVAL)'],
    ['/dev/loop0 0 4294967295 1', 'Total (up + down) interval is zero (-EINVAL)'],
    ['/dev/loop0 0 1 4294967295', 'Total (up + down) interval is zero (-EINVAL)'],
    ['/dev/loop0 0 4294967295 2', 'Interval overflow (-EINVAL)'], // scenario 109
    ['/dev/loop0 0 2 4294967295', 'Interval overflow (-EINVAL)'],
    ['/dev/loop0 0 5 5 x', 'Invalid number of feature args (-EINVAL)'],
    ['/dev/loop0 0 5 5 7 drop_writes drop_writes drop_writes drop_writes drop_writes drop_writes drop_writes', 'Invalid number of feature args (-EINVAL)'],
    ['/dev/loop0 0 5 5 2 drop_writes', 'Invalid number of feature args (-EINVAL)'],
    ['/dev/loop0 0 5 5 -1', 'Invalid number of feature args (-EINVAL)'],
    ['/dev/loop0 0 5 5 2 corrupt_bio_byte 32 r 1 0', 'Insufficient feature arguments (-EINVAL)'],
    ['/dev/loop0 0 5 5 2 drop_writes drop_writes', 'Feature drop_writes duplicated (-EINVAL)'],
    ['/dev/loop0 0 5 5 2 error_writes drop_writes', 'Feature drop_writes conflicts with feature error_writes (-EINVAL)'],
    ['/dev/loop0 0 5 5 2 error_writes ERROR_WRITES', 'Feature error_writes duplicated (-EINVAL)'],
    ['/dev/loop0 0 5 5 2 drop_writes error_writes', 'Feature error_writes conflicts with feature drop_writes (-EINVAL)'],
    ['/dev/loop0 0 5 5 1 corrupt_bio_byte 32 r 1 0', 'Feature corrupt_bio_byte requires parameters (-EINVAL)'],
    ['/dev/loop0 0 5 5 1 corrupt_bio_byte', 'Feature corrupt_bio_byte requires parameters (-EINVAL)'],
    ['/dev/loop0 0 5 5 5 corrupt_bio_byte 0 r 1 0', 'Invalid corrupt bio byte (-EINVAL)'],
    ['/dev/loop0 0 5 5 5 corrupt_bio_byte x r 1 0', 'Invalid corrupt bio byte (-EINVAL)'],
    ['/dev/loop0 0 5 5 5 corrupt_bio_byte 1 x 1 0', 'Invalid corrupt bio direction (r or w) (-EINVAL)'],
    ['/dev/loop0 0 5 5 5 corrupt_bio_byte 1 rw 1 0', 'Invalid corrupt bio direction (r or w) (-EINVAL)'],
    ['/dev/loop0 0 5 5 5 corrupt_bio_byte 1 w 256 0', 'Invalid corrupt value to write into bio byte (0-255) (-EINVAL)'],
    ['/dev/loop0 0 5 5 5 corrupt_bio_byte 1 w 1 -1', 'Invalid corrupt bio flags mask (-EINVAL)'],
    ['/dev/loop0 0 5 5 3 corrupt_bio_byte 32 r 1', 'Invalid corrupt bio flags mask (-EINVAL)'],
    ['/dev/loop0 0 5 5 1 frobnicate', 'Unrecognised flakey feature requested (-EINVAL)'],
    ['/dev/loop0 0 5 5 6 drop_writes corrupt_bio_byte 1 w 1 0', 'drop_writes is incompatible with corrupt_bio_byte with the WRITE flag set (-EINVAL)'],
    ['/dev/loop0 0 5 5 6 corrupt_bio_byte 1 w 1 0 drop_writes', 'drop_writes is incompatible with corrupt_bio_byte with the WRITE flag set (-EINVAL)'],
    ['/dev/loop0 0 5 5 6 error_writes corrupt_bio_byte 1 W 1 0', 'error_writes is incompatible with corrupt_bio_byte with the WRITE flag set (-EINVAL)'],
    ['/dev/loop0 0 5 5 6 corrupt_bio_byte 1 w 1 0 corrupt_bio_byte', 'Feature corrupt_bio_byte requires parameters (-EINVAL)'],
    ['/dev/nosuch 0 5 5', 'Device lookup failed (-ENODEV)'],
    ['/dev/nosuch x 5 5', 'Invalid device sector (-EINVAL)'],
    ['/dev/nosuch 0 5 5 1 frobnicate', 'Unrecognised flakey feature requested (-EINVAL)'],
    ['/dev/loop0 0 0 4294967296', 'Total (up + down) interval is zero (-EINVAL)'],
  ];
  expectRefusals(t, kernel, 'flakey', cases);
  // Nothing is left open by a refused table.
  t.equal(kernel.loop(0)!.openCount, 0);
});

t.test('no features: up 3 s, down 3 s, from table load (scenario 105)', async (t) => {
  const { kernel, clock, files } = setup(t);
  const md = await create(kernel, 'fl', '0 8192 flakey /dev/loop0 0 3 3');
  clock.advance(1000);
  t.equal(await write(md, 0, fill(8, 1)), 0, 'up: write');
  t.equal((await read(md, 0, 8)).status, 0, 'up: read');
  t.same(leg(files[0]!, 0, 8), fill(8, 1));
  clock.advance(1999);
  t.equal(clock.nowMs(), 2999);
  t.equal(await write(md, 8, fill(8, 9)), 0, 'still up at 2.999 s');
  clock.advance(1);
  t.equal(await write(md, 8, fill(8, 2)), 'EIO', 'down at 3 s: write fails');
  t.equal((await read(md, 0, 8)).status, 'EIO', 'down: read fails');
  t.equal(await flush(md), 'EIO', 'down: flush fails');
  t.same(leg(files[0]!, 8, 8), fill(8, 9), 'the failed write never reached the disk');
  t.same(lines(kernel, 'fl', 'table'), ['fl: 0 8192 flakey 7:0 0 3 3 0 ']);
  clock.advance(3000);
  t.equal(await write(md, 8, fill(8, 3)), 0, 'up again at 6 s');
  t.same((await read(md, 8, 8)).data, fill(8, 3));
  // The clock runs from table load, not from resume: a suspend changes nothing.
  await kernel.dmIoctl.devSuspend({ name: 'fl' });
  await kernel.dmIoctl.devResume({ name: 'fl' });
  t.equal((await read(md, 8, 8)).status, 0);
  clock.advance(3000);
  t.equal((await read(md, 8, 8)).status, 'EIO', 'down at 9 s');
  t.same(kernel.klog.read().filter((l) => l.text.startsWith('device-mapper:')), []);
});

t.test('a reloaded table starts its own clock', async (t) => {
  const { kernel, clock } = setup(t);
  const md = await create(kernel, 'fl', '0 8192 flakey /dev/loop0 0 3 3');
  clock.advance(2500);
  kernel.dmIoctl.tableLoad({ name: 'fl' }, [{ start: 0, length: 8192, type: 'flakey', params: '/dev/loop0 0 3 3' }]);
  await kernel.dmIoctl.devResume({ name: 'fl' });
  clock.advance(1000);
  t.equal(await write(md, 0, fill(1, 1)), 0, 'up: 1 s into the new table, 3.5 s into the old one');
});

t.test('drop_writes while down (scenario 103)', async (t) => {
  const { kernel, clock, files } = setup(t);
  const md = await create(kernel, 'fl', '0 8192 flakey /dev/loop0 0 3 3 1 drop_writes');
  clock.advance(1000);
  t.equal(await write(md, 0, fill(8, 1)), 0);
  clock.advance(3000);
  t.equal(await write(md, 8, fill(8, 2)), 0, 'down: the write reports success');
  t.same(leg(files[0]!, 8, 8), fill(8, 0), 'but never reaches the disk');
  t.same((await read(md, 0, 8)).data, fill(8, 1), 'reads work');
  t.equal(await flush(md), 0, 'a flush is a write: dropped, successfully');
  t.same(lines(kernel, 'fl', 'info'), ['fl: 0 8192 flakey ']);
  clock.advance(3000);
  t.equal(await write(md, 16, fill(8, 3)), 0);
  t.same(leg(files[0]!, 16, 8), fill(8, 3), 'up again: writes land');
});

t.test('error_writes while down (scenarios 020, 104)', async (t) => {
  const { kernel, files } = setup(t);
  // up 0: always down.
  const md = await create(kernel, 'fl2', '0 8192 flakey /dev/loop0 0 0 5 1 error_writes');
  t.equal(await write(md, 0, fill(8, 1)), 'EIO', 'a write bio fails (dd with a 4 KiB O_DIRECT write gets EIO on the oracle)');
  t.same(leg(files[0]!, 0, 8), fill(8, 0));
  const r = await read(md, 0, 8);
  t.equal(r.status, 0, 'reads work');
  t.equal(await flush(md), 'EIO');
});

t.test('corrupt_bio_byte while down (scenario 104)', async (t) => {
  const { kernel, files } = setup(t, 2);
  const cw = await create(kernel, 'cw', '0 8192 flakey /dev/loop0 0 0 60 5 corrupt_bio_byte 1 w 9 0');
  const cr = await create(kernel, 'cr', '0 8192 flakey /dev/loop1 0 0 60 5 corrupt_bio_byte 1 r 9 0');
  // The oracle's writeback is one 4 KiB bio at sector 8: its first byte becomes 9.
  const buf = fill(8, 5);
  t.equal(await write(cw, 8, buf), 0);
  const want = fill(8, 5);
  want[0] = 9;
  t.same(leg(files[0]!, 8, 8), want, 'the first byte of the bio is overwritten on the way down');
  t.equal(buf[0], 9, 'in place, in the submitter\'s pages, as 6.1 does');
  t.same((await read(cw, 8, 8)).data, want, 'reads are not touched by a w corruption');
  // Byte 4097 of an 8 KiB write: the first byte of its second page.
  const big = fill(16, 5);
  const cw2 = await create(kernel, 'cw2', '0 8192 flakey /dev/loop0 0 0 60 5 corrupt_bio_byte 4097 w 9 0');
  t.equal(await write(cw2, 64, big), 0);
  t.equal(leg(files[0]!, 64, 16)[4096], 9);
  t.equal(leg(files[0]!, 64, 16)[0], 5);
  // r: 6.1 corrupts in end_io, when the bio has no data left; reads come back intact.
  t.equal(await write(cr, 8, fill(8, 5)), 0, 'writes pass');
  const r = await read(cr, 8, 8);
  t.equal(r.status, 0);
  t.same(r.data, fill(8, 5), 'reads are not corrupted in 6.1 (oracle: 61f45a29...)');
});

t.test('corrupt_bio_byte flags: only bios with every flag in the mask', async (t) => {
  const { kernel, files } = setup(t);
  // 2048 is REQ_SYNC in 6.1's bi_opf.
  const md = await create(kernel, 'fl', '0 8192 flakey /dev/loop0 0 0 60 5 corrupt_bio_byte 1 w 9 2048');
  t.equal(await write(md, 0, fill(1, 5)), 0);
  t.equal(leg(files[0]!, 0, 1)[0], 5, 'no REQ_SYNC: untouched');
  const { REQ_SYNC } = await import('../kernel/bio.js');
  t.equal(await submitBioWait(new Bio(ReqOp.WRITE, md, 0, fill(1, 5), null, REQ_SYNC)), 0);
  t.equal(leg(files[0]!, 0, 1)[0], 9, 'REQ_SYNC: corrupted');
});

t.test('two flakey targets in one table, each mapping its own offset', async (t) => {
  const { kernel, files } = setup(t, 2);
  const md = await create(kernel, 'k', '0 1024 flakey /dev/loop0 0 2 2\n1024 1024 flakey /dev/loop1 512 2 2 1 error_writes');
  t.same(lines(kernel, 'k', 'table'), ['k: 0 1024 flakey 7:0 0 2 2 0 ', 'k: 1024 1024 flakey 7:1 512 2 2 1 error_writes ']);
  t.same(kernel.dmIoctl.tableDeps({ name: 'k' }).deps.map((d) => `${d.major}:${d.minor}`), ['7:1', '7:0']);
  t.equal(await write(md, 1024, fill(1, 7)), 0);
  t.same(leg(files[1]!, 512, 1), fill(1, 7));
});
