// /dev/mapper as a devtmpfs directory: block nodes libdm makes, and the regular
// files a program's open(O_CREAT) leaves there (busybox dd of=/dev/mapper/NAME
// with no such node), which libdm will not make a node over nor rename onto,
// and which dm_write/dm_read (dd with O_DIRECT) cannot open: EINVAL.

import t from 'tap';
import { bootKernel } from '../../index.js';
import { DevFs } from '../../kernel/devfs.js';
import { FileTable } from '../../kernel/blkdev-file.js';
import { dispatch } from '../../kernel/rpc.js';
import { vfsLookup } from '../../kernel/vfs.js';

t.test('DevFs: nodes and regular files share one namespace', async (t) => {
  const d = new DevFs();
  t.ok(d.add('m'), 'mknod');
  t.notOk(d.add('m'), 'a second mknod finds it there');
  t.equal(d.creat('m'), undefined, 'O_CREAT over a node opens the node, makes no file');
  t.same(d.creat('f'), Buffer.alloc(0), 'O_CREAT where nothing is: an empty regular file');
  t.ok(d.isFile('f') && !d.has('f'), 'a file, not a node');
  d.writeFile('f', Buffer.from('abc'));
  t.equal(d.readFile('f')?.toString(), 'abc');
  t.same(d.list(), ['f', 'm'], 'readdir lists both');
  t.ok(d.rename('m', 'f'), 'rename(2) replaces what is at the new name');
  t.ok(d.has('f') && !d.isFile('f') && !d.has('m'), 'the node moved over the file');
  d.creat('g');
  t.ok(d.rename('g', 'h') && d.isFile('h'), 'a file renames as a file');
  t.ok(d.remove('h') && !d.isFile('h'), 'unlink removes a file');
  t.notOk(d.remove('h'), 'and then finds nothing');
  d.add('a');
  d.creat('z');
  d.add('q');
  t.same(d.readdir(), ['q', 'z', 'a', 'f'], 'readdir: the newest first');
  d.rename('a', 'b');
  t.same(d.readdir(), ['b', 'q', 'z', 'f'], 'a renamed entry is the newest');
  t.same(d.list(), ['b', 'f', 'q', 'z'], 'list: sorted');
});

t.test('rpc: node operations refuse a regular file; dm_write makes one where nothing is', async (t) => {
  const k = bootKernel({ virtualClock: true });
  t.teardown(() => k.shutdown());
  const files = new FileTable();
  const call = async (op: string, args: Record<string, unknown>, payload: Buffer | null = null) => {
    try { return (await dispatch(k, op, args, payload, files)).result; } catch (e) { return (e as { errno?: string }).errno; }
  };
  t.equal(await call('ioWrite', { dev: 'm', sector: 0, bs: 512 }, Buffer.alloc(512, 1)), 'EINVAL', 'no device, no node: O_CREAT then O_DIRECT fails');
  t.ok(k.devfs.isFile('m'), 'the regular file stays');
  t.equal(await call('ioRead', { dev: 'm', sector: 0, count: 1, bs: 512 }), 'EINVAL', 'a read of it fails the same way');
  t.equal(await call('ioRead', { dev: 'n', sector: 0, count: 1, bs: 512 }), 'ENOENT', 'a read makes nothing');
  t.notOk(k.devfs.isFile('n'));
  t.same(vfsLookup(k, '/dev/mapper/m'), { kind: 'file', text: '' }, 'ls and cat see an empty file');
  k.dmIoctl.devCreate('m');
  k.dmIoctl.tableLoad({ name: 'm' }, [{ start: 0, length: 8, type: 'zero', params: '' }]);
  await k.dmIoctl.devResume({ name: 'm' });
  t.equal(await call('nodeAdd', { name: 'm' }), 'notblock', '_add_dev_node: a non-block file is already present');
  t.equal(await call('ioWrite', { dev: 'm', sector: 0, bs: 512 }, Buffer.alloc(512, 1)), 'EINVAL', 'the device is there, its path is the file');
  t.equal(await call('nodeAdd', { name: 'x' }), true);
  t.equal(await call('devfsCreat', { name: 'y' }), '', 'a file y');
  t.equal(await call('nodeRename', { from: 'x', to: 'y' }), 'notblock', '_rename_dev_node will not rename onto it');
  t.ok(k.devfs.has('x'), 'the node keeps its old name');
  t.equal(await call('nodeRemove', { name: 'm' }), true, '_rm_dev_node unlinks the file');
  t.notOk(k.devfs.isFile('m'));
  t.equal(await call('nodeAdd', { name: 'm' }), true, 'then the node can be made');
});
