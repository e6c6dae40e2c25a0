// blockdev: its command line as util-linux 2.38.1's real blockdev prints it
// (fixtures/blockdev-args, recorded by test/tools/blockdev-args.mjs), and its
// ioctls on the emulated kernel's devices as block/ioctl.c answers them.

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, sandbox } from '../helpers/cli.js';

const recorded = JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures/blockdev-args/recorded.json'), 'utf8')) as {
  recordedWith: string; fileBytes: number; vectors: Array<{ argv: string[]; rc: number; stdout: string; stderr: string }>;
};

t.test(`blockdev's command line, as ${recorded.recordedWith}`, async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  fs.writeFileSync(path.join(sb.dir, 'f'), Buffer.alloc(recorded.fileBytes, 1));
  for (const v of recorded.vectors) {
    const r = await sb.run('blockdev', v.argv, { stdin: 'ignore' });
    t.same({ rc: r.exitCode, stdout: r.stdout, stderr: r.stderr }, { rc: v.rc, stdout: v.stdout, stderr: v.stderr }, `blockdev ${v.argv.join(' ')}`);
  }
});

t.test('blockdev on loop and mapped devices', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const ok = async (prog: string, args: string[], input?: string) => {
    const r = await sb.run(prog, args, input === undefined ? {} : { input });
    t.equal(r.exitCode, 0, `${prog} ${args.join(' ')}${r.exitCode ? `: ${r.all}` : ''}`);
    return r.stdout;
  };
  fs.writeFileSync(path.join(sb.dir, 'd0'), Buffer.alloc(8 << 20));
  fs.writeFileSync(path.join(sb.dir, 'd1'), Buffer.alloc(8 << 20));
  await ok('losetup', ['/dev/loop0', 'd0']);
  await ok('losetup', ['/dev/loop1', 'd1']);
  t.equal(await ok('blockdev', ['--getsz', '--getsize64', '--getss', '--getbsz', '--getro', '--getra', '/dev/loop0']),
    '16384\n8388608\n512\n4096\n0\n256\n', 'a loop device: size, 512-byte sectors, a 4 KiB block size, read-write, the default read-ahead');
  await ok('dmsetup', ['create', 's', '--table', '0 9984 striped 2 128 /dev/loop0 0 /dev/loop1 0']);
  t.equal(await ok('blockdev', ['--getsz', '--getbsz', '--getiomin', '--getioopt', '--getra', '/dev/mapper/s']),
    '9984\n4096\n65536\n131072\n512\n', 'striped: io_min and io_opt from the chunks, read-ahead from io_opt');
  t.equal(await ok('blockdev', ['--getsz', '/dev/dm-0', '/dev/mapper/s']), '9984\n9984\n', 'two names of one device');
  await ok('dmsetup', ['create', 'odd', '--table', '0 8191 linear /dev/loop1 0']);
  t.equal(await ok('blockdev', ['--getbsz', '/dev/mapper/odd']), '512\n', 'an odd number of sectors: a 512-byte block size');
  // BLKBSZSET needs a claim of the device (blkdev_bszset): a loop a table holds refuses it (recorded: 521).
  const held = await sb.run('blockdev', ['--setbsz', '1024', '/dev/loop0']);
  t.same([held.exitCode, held.stderr], [1, 'blockdev: ioctl error on BLKBSZSET: Device or resource busy\n'], 'a block size of a device dm holds: EBUSY');
  fs.writeFileSync(path.join(sb.dir, 'd2'), Buffer.alloc(1 << 20));
  await ok('losetup', ['/dev/loop2', 'd2']);
  t.equal(await ok('blockdev', ['--setbsz', '1024', '--getbsz', '/dev/loop2']), '1024\n', 'a block size set holds for that open');
  t.equal(await ok('blockdev', ['--getbsz', '/dev/loop2']), '4096\n', 'and the next open starts over (set_init_blocksize)');
  // Read-only: BLKROSET refuses writes from user space; the disk's flag stays the table's.
  await ok('dmsetup', ['create', 'l', '--table', '0 8192 linear /dev/loop0 0']);
  await ok('blockdev', ['--setro', '/dev/mapper/l']);
  t.equal(await ok('blockdev', ['--getro', '/dev/mapper/l']), '1\n');
  const w = await sb.run('dmsetup-ts', ['io', 'write', 'l', '0', '1'], { input: 'x' });
  t.equal(w.exitCode, 1, 'a write to a device set read-only fails');
  t.match(w.stderr, /Operation not permitted/);
  // get_disk_ro() is part0's bd_read_only (which BLKROSET sets) or the disk's own flag (oracle: 669)
  t.match(await ok('dmsetup', ['info', 'l']), /READ-ONLY/, 'dmsetup info shows the flag BLKROSET set');
  await ok('blockdev', ['--setrw', '/dev/mapper/l']);
  t.notMatch(await ok('dmsetup', ['info', 'l']), /READ-ONLY/, 'and no longer once BLKROSET cleared it');
  await ok('dmsetup-ts', ['io', 'write', 'l', '0', '1'], 'x');
  await ok('dmsetup', ['create', 'ro', '--readonly', '--table', '0 8192 linear /dev/loop1 0']);
  await ok('blockdev', ['--setrw', '/dev/mapper/ro']);
  t.equal(await ok('blockdev', ['--getro', '/dev/mapper/ro']), '1\n', 'BLKROSET 0 does not clear a read-only table\'s disk flag');
  // Read-ahead: BLKRASET is what dmsetup info then reports, until the next table swap.
  await ok('blockdev', ['--setra', '1000', '/dev/mapper/l']);
  t.equal(await ok('blockdev', ['--getra', '--getfra', '/dev/mapper/l']), '1000\n1000\n', 'set in sectors, kept in pages');
  t.match(await ok('dmsetup', ['info', 'l']), /Read Ahead: +1000\n/);
  await ok('blockdev', ['--setra', '1001', '/dev/mapper/l']);
  t.equal(await ok('blockdev', ['--getra', '/dev/mapper/l']), '1000\n', 'rounded down to whole pages');
  t.equal(await ok('blockdev', ['--report', '/dev/loop1', '/dev/mapper/ro']),
    'RO    RA   SSZ   BSZ        StartSec            Size   Device\n' +
    'rw   256   512  4096               0         8388608   /dev/loop1\n' +
    'ro   256   512  4096               0         4194304   /dev/mapper/ro\n');
  const rr = await sb.run('blockdev', ['--rereadpt', '/dev/mapper/l']);
  t.same([rr.exitCode, rr.stderr], [1, 'blockdev: ioctl error on BLKRRPART: Invalid argument\n'], 'no partitions on a dm device');
  await ok('dmsetup', ['create', 'empty', '--notable']);
  const e = await sb.run('blockdev', ['--getsz', '/dev/mapper/empty']);
  // No node either: dmsetup makes /dev/mapper/NAME at the first resume (recorded: 521, 524).
  t.same([e.exitCode, e.stderr], [1, 'blockdev: cannot open /dev/mapper/empty: No such file or directory\n'], 'no node before the first table');
  await ok('dmsetup', ['remove_all']);
});
