// Open files on block devices (kernel/blkdev-file.ts), as block/fops.c has
// them in 6.1: O_DIRECT's alignment checks, the end of the device, read-only
// devices, fsync's error, and the last close that writes the page cache back
// (a process's files are closed with it).

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../../index.js';
import { FileTable, openBlockDevice } from '../../kernel/blkdev-file.js';

t.test('direct and buffered I/O on an open block device', async (t) => {
  const k = bootKernel({ virtualClock: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blkdev-file-'));
  t.teardown(async () => { await k.shutdown(); fs.rmSync(dir, { recursive: true, force: true }); });
  const file = path.join(dir, 'd0');
  fs.writeFileSync(file, Buffer.alloc(1 << 20));
  k.loopAttach(0, file);
  k.dmIoctl.devCreate('m');
  k.dmIoctl.tableLoad({ name: 'm' }, [{ start: 0, length: 1024, type: 'linear', params: '/dev/loop0 0' }]);
  await k.dmIoctl.devResume({ name: 'm' });
  k.devfs.add('m');
  k.dmIoctl.devCreate('e');
  k.dmIoctl.tableLoad({ name: 'e' }, [{ start: 0, length: 1024, type: 'error', params: '' }]);
  await k.dmIoctl.devResume({ name: 'e' });
  k.devfs.add('e');

  const files = new FileTable();
  const m = files.get(files.install(openBlockDevice(k.openDevPath('/dev/mapper/m'), k.klog, true, true)));
  t.equal(m.size, 512 * 1024);
  t.equal(await m.write(0, Buffer.alloc(512, 1), false), 'EINVAL', 'O_DIRECT from an unaligned buffer: EINVAL');
  t.equal(await m.write(100, Buffer.alloc(512, 1), true), 'EINVAL', 'O_DIRECT at an unaligned position: EINVAL');
  t.equal(await m.write(0, Buffer.alloc(4096, 2), true), 4096, 'an aligned direct write');
  t.equal(fs.readFileSync(file)[0], 2, 'reaches the file at once');
  t.equal(await m.write(512 * 1024, Buffer.alloc(512), true), 'ENOSPC', 'at the end: ENOSPC');
  t.equal(await m.write(512 * 1024 - 512, Buffer.alloc(4096, 3), true), 512, 'across the end: short');
  const tail = await m.read(512 * 1024 - 512, 4096, true);
  t.ok(Buffer.isBuffer(tail) && tail.length === 512 && tail[0] === 3, 'a read across the end is short');
  t.same(await m.read(512 * 1024, 512, true), Buffer.alloc(0), 'a read at the end reads nothing');

  m.direct = false;
  t.equal(await m.write(8192, Buffer.alloc(100, 4), false), 100, 'buffered: any length');
  t.equal(fs.readFileSync(file)[8192], 0, 'held in the page cache');
  await files.closeAll();
  t.equal(fs.readFileSync(file)[8192], 4, 'written back at the last close');

  const e = openBlockDevice(k.openDevPath('/dev/mapper/e'), k.klog, true, false);
  t.equal(await e.write(0, Buffer.alloc(4096), true), 4096, 'a whole page into the cache of an error device');
  t.equal(await e.fsync(), 'EIO', 'fsync reports the failed write-back');
  await e.close();
  t.match(k.klog.read(false).map((l) => l.text).join('\n'), /Buffer I\/O error on dev dm-1, logical block 0, lost async page write/);

  k.dmIoctl.deviceByName('m')!.bdReadOnly = true;
  const ro = openBlockDevice(k.openDevPath('/dev/mapper/m'), k.klog, true, false);
  t.equal(await ro.write(0, Buffer.alloc(512), true), 'EPERM', 'a read-only device opens for writing; its writes fail');
  await ro.close();

  k.dmIoctl.devCreate('n');
  const errnoOf = (f: () => unknown) => { try { f(); return undefined; } catch (e) { return (e as { errno?: string }).errno; } };
  t.equal(errnoOf(() => k.openDevPath('/dev/mapper/n')), 'ENOENT', 'no node before the first resume');
  k.devfs.add('n');
  t.equal(errnoOf(() => k.openDevPath('/dev/mapper/n')), 'ENXIO', 'a node but no gendisk: ENXIO');
});
