// Buffered block-device I/O as the oracle's dd does it, checked against what
// the oracle printed: scenario 104 (flakey while down), 020 (error_writes),
// 107 (a delayed writeback) and the probe that found the page cache
// ("Buffer I/O error ..., lost async page write" / "async page read").

import t from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { bufferedRead, bufferedWrite } from '../../kernel/blkdev-pagecache.js';
import { Bio, ReqOp, REQ_RAHEAD } from '../../kernel/bio.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { MappedDevice } from '../../kernel/dm.js';
import type { Target } from '../../kernel/dm-target.js';
import { kernelWithDisks } from '../helpers/kernel.js';

const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');

function setup(t: { teardown(fn: () => void): void }, disks: number) {
  return kernelWithDisks(t, disks, (8 << 20) / 512);
}

async function create(kernel: Kernel, name: string, line: string): Promise<MappedDevice> {
  kernel.dmIoctl.devCreate(name);
  const [start, length, type, ...rest] = line.split(' ');
  kernel.dmIoctl.tableLoad({ name }, [{ start: Number(start), length: Number(length), type: type!, params: rest.join(' ') }]);
  await kernel.dmIoctl.devResume({ name });
  return kernel.dmIoctl.deviceByName(name)!;
}

/** The prelude's helpers, on the in-process kernel. */
async function dmWrite(kernel: Kernel, md: MappedDevice, sector: number, count: number, byte: number): Promise<string> {
  const r = await bufferedWrite(kernel.klog, md, sector, Buffer.alloc(count * 512, byte), 512);
  return r.error ? 'dm_write: I/O error\n' : '';
}
async function dmRead(kernel: Kernel, md: MappedDevice, sector: number, count: number): Promise<string> {
  const r = await bufferedRead(kernel.klog, md, sector, count, 512);
  return r.error || r.data.length !== count * 512 ? 'dm_read: I/O error\n' : md5(r.data) + '\n';
}
function legRead(file: string, sector: number, count: number): string {
  const b = Buffer.alloc(count * 512);
  const fd = fs.openSync(file, 'r');
  try { fs.readSync(fd, b, 0, b.length, sector * 512); } finally { fs.closeSync(fd); }
  return md5(b) + '\n';
}

/** Record every bio a target maps: op, sector, bytes, RAHEAD. */
function spy(md: MappedDevice): string[] {
  const seen: string[] = [];
  const target = md.live!.targets[0]!.target as Target;
  const map = target.map.bind(target);
  target.map = (bio: Bio) => {
    seen.push(`${bio.op === ReqOp.READ ? 'R' : 'W'} ${bio.sector} ${bio.size}${bio.flags & REQ_RAHEAD ? ' ra' : ''}`);
    return map(bio);
  };
  return seen;
}

t.test('scenario 104: flakey while down, through the page cache', async (t) => {
  const { kernel, files } = setup(t, 5);
  let out = '';
  const lin = await create(kernel, 'lin', '0 16384 linear /dev/loop0 0');
  out += await dmWrite(kernel, lin, 0, 16, 7);
  await kernel.dmIoctl.devRemove({ name: 'lin' });
  const devs: Record<string, MappedDevice> = {
    none: await create(kernel, 'none', '0 8192 flakey /dev/loop0 0 0 60'),
    err: await create(kernel, 'err', '0 8192 flakey /dev/loop1 0 0 60 1 error_writes'),
    drop: await create(kernel, 'drop', '0 8192 flakey /dev/loop2 0 0 60 1 drop_writes'),
    cw: await create(kernel, 'cw', '0 8192 flakey /dev/loop3 0 0 60 5 corrupt_bio_byte 1 w 9 0'),
    cr: await create(kernel, 'cr', '0 8192 flakey /dev/loop4 0 0 60 5 corrupt_bio_byte 1 r 9 0'),
  };
  for (const n of ['none', 'err', 'drop', 'cw', 'cr']) {
    out += `== ${n}\n`;
    out += await dmWrite(kernel, devs[n]!, 8, 8, 5);
    out += await dmRead(kernel, devs[n]!, 0, 8);
    out += await dmRead(kernel, devs[n]!, 8, 8);
  }
  out += '== legs\n';
  for (let i = 0; i < 5; i++) out += legRead(files[i]!, 0, 8) + legRead(files[i]!, 8, 8);
  const golden = fs.readFileSync(new URL('../../../fixtures/conformance/expected/104-flakey-down-modes.out', import.meta.url), 'utf8');
  t.equal(out, golden.slice(0, golden.indexOf('cr: 0 8192')), 'the md5s the oracle printed');
});

t.test('scenario 020 and the probe: a lost writeback is logged, dd succeeds', async (t) => {
  const { kernel, files } = setup(t, 1);
  await create(kernel, 'fl', '0 8192 flakey /dev/loop0 0 5 0');
  const fl2 = await create(kernel, 'fl2', '0 8192 flakey /dev/loop0 0 0 5 1 error_writes');
  const bios = spy(fl2);
  kernel.klog.read(true);
  t.equal(await dmWrite(kernel, fl2, 0, 8, 1), '', 'dm_write prints nothing');
  t.same(bios, ['R 0 4096', 'W 0 4096'], 'read the block, then one 4 KiB writeback at close');
  t.same(kernel.klog.read(true).map((l) => l.text), ['Buffer I/O error on dev dm-1, logical block 0, lost async page write']);
  t.equal(legRead(files[0]!, 0, 8), '620f0b67a91f7f74151bc5be745b7110\n', 'nothing reached the disk');
  // Down with no features: the read-before-write fails, so the write does.
  const none = await create(kernel, 'none', '0 8192 flakey /dev/loop0 0 0 5');
  t.equal(await dmWrite(kernel, none, 0, 8, 3), 'dm_write: I/O error\n');
  t.same(kernel.klog.read(true).map((l) => l.text), [], 'the failed read-before-write logs nothing');
  const seen = spy(none);
  t.equal(await dmRead(kernel, none, 0, 8), 'dm_read: I/O error\n');
  t.same(seen, ['R 0 16384 ra', 'R 0 4096'], 'a 4-page readahead, then the page itself');
  t.same(kernel.klog.read(true).map((l) => l.text), ['Buffer I/O error on dev dm-2, logical block 0, async page read']);
});

t.test('readahead windows of a sequential read', async (t) => {
  const { kernel } = setup(t, 1);
  const lin = await create(kernel, 'lin', '0 16384 linear /dev/loop0 0');
  const seen = spy(lin);
  await bufferedRead(kernel.klog, lin, 0, 64, 512);
  t.same(seen, ['R 0 16384 ra', 'R 32 32768 ra', 'R 96 65536 ra'], '4 pages, then 8 at the mark, then 16');
  seen.length = 0;
  await bufferedRead(kernel.klog, lin, 800, 8, 512);
  t.same(seen, ['R 800 4096 ra'], 'a lone page elsewhere is read alone (still readahead I/O)');
  seen.length = 0;
  await bufferedRead(kernel.klog, lin, 16376, 16, 512);
  t.same(seen, ['R 16376 4096 ra'], 'nothing past the end of the device');
});

t.test('scenario 107: the writeback is what delay holds; suspend lets it go', async (t) => {
  const { kernel, files } = setup(t, 1);
  const dl = await create(kernel, 'dl', '0 8192 delay /dev/loop0 0 0 /dev/loop0 0 5000');
  const status = () => kernel.dmIoctl.tableStatus({ name: 'dl' }, 'info').targets[0]!.params;
  let finished = false;
  const w = dmWrite(kernel, dl, 0, 8, 1).then((s) => { finished = true; return s; });
  while (status() !== '0 1 0') await new Promise((r) => setImmediate(r));
  t.equal(finished, false, 'dd is waiting in close for the writeback');
  t.equal(legRead(files[0]!, 0, 8), '620f0b67a91f7f74151bc5be745b7110\n');
  await kernel.dmIoctl.devSuspend({ name: 'dl' });
  t.equal(status(), '0 0 0');
  t.equal(await w, '');
  t.equal(legRead(files[0]!, 0, 8), 'aa8f39967deb441a6e7484963945a960\n');
});

t.test('write past the end and partial blocks', async (t) => {
  const { kernel } = setup(t, 1);
  const lin = await create(kernel, 'lin', '0 8193 linear /dev/loop0 0');
  const seen = spy(lin);
  // 8193 sectors: the block size falls to 512, so no read-before-write.
  t.equal(await dmWrite(kernel, lin, 8, 2, 4), '');
  t.same(seen, ['W 8 512', 'W 9 512']);
  const r = await bufferedWrite(kernel.klog, lin, 8193, Buffer.alloc(512), 512);
  t.equal(r.error, 'ENOSPC');
});

// The probe behind scenario 700: a device another table holds keeps dd's
// dirty pages past dd's close (the close is not the device's last).
t.test('a held device keeps its dirty pages until something writes them back', async (t) => {
  const { kernel, clock, files } = setup(t, 1);
  const l0 = await create(kernel, 'l0', '0 8192 linear /dev/loop0 0');
  const top = await create(kernel, 'top', '0 8192 linear /dev/mapper/l0 0');
  const zeros = legRead(files[0]!, 0, 8);
  const filled = (byte: number) => md5(Buffer.alloc(4096, byte)) + '\n';
  t.equal(await dmWrite(kernel, l0, 0, 8, 7), '');
  t.equal(legRead(files[0]!, 0, 8), zeros, 'not written: the table holds l0');
  t.equal(await dmRead(kernel, top, 0, 8), zeros, 'top reads what l0\'s device has');
  t.equal(await dmRead(kernel, l0, 0, 8), filled(7), 'l0 reads its own cache');
  await kernel.dmIoctl.devSuspend({ name: 'l0' }, false, true);
  await kernel.dmIoctl.devResume({ name: 'l0' });
  t.equal(legRead(files[0]!, 0, 8), zeros, 'a suspend without lock_fs writes nothing back');
  await kernel.dmIoctl.devSuspend({ name: 'l0' });
  await kernel.dmIoctl.devResume({ name: 'l0' });
  t.equal(legRead(files[0]!, 0, 8), filled(7), 'lock_fs synced it');
  t.equal(await dmWrite(kernel, l0, 8, 8, 9), '');
  await clock.advance(29_000);
  t.equal(legRead(files[0]!, 8, 8), zeros, 'not yet expired');
  await clock.advance(10_000);
  t.equal(legRead(files[0]!, 8, 8), filled(9), 'the flusher wrote it after dirty_expire_centisecs');
  t.equal(await dmWrite(kernel, l0, 16, 8, 3), '');
  await kernel.dmIoctl.devRemove({ name: 'top' });
  await clock.settle();
  t.equal(legRead(files[0]!, 16, 8), filled(3), 'the holder\'s close was the last: written back');
  t.equal(await dmWrite(kernel, l0, 24, 8, 4), '');
  t.equal(legRead(files[0]!, 24, 8), filled(4), 'not held: written back at dd\'s close');
});
