// The parts of /dev, /sys and /proc that tell about block devices, as the
// oracle VM's tools read them: /dev/mapper and the device nodes, /sys/block
// with each disk's attributes, holders and slaves, /sys/dev/block, and
// /proc/partitions. Each path is a directory (its entries in readdir order),
// a text file, a block device, or a symbolic link.

import { DM_MAJOR, type BlockDevice } from './block.js';
import { KernelError } from './errno.js';
import { sysBlockReaddir, kernfsOrder } from './sysfs.js';
import type { Kernel } from './kernel.js';
import type { MappedDevice } from './dm.js';
import type { LoopDevice } from './loop.js';

export type VfsNode =
  | { kind: 'dir'; entries: string[] }
  | { kind: 'file'; text: string }
  | { kind: 'block'; path: string }
  | { kind: 'char' }
  | { kind: 'link'; target: string };

/** The attributes of /sys/block/NAME (6.1, as the VM lists them), dm/ and loop/ apart. */
const DISK_ATTRS = [
  'alignment_offset', 'bdi', 'capability', 'dev', 'discard_alignment', 'diskseq', 'events', 'events_async',
  'events_poll_msecs', 'ext_range', 'hidden', 'holders', 'inflight', 'integrity', 'power', 'queue', 'range',
  'removable', 'ro', 'size', 'slaves', 'stat', 'subsystem', 'trace', 'uevent',
];
const DM_ATTRS = ['name', 'rq_based_seq_io_merge_deadline', 'suspended', 'use_blk_mq', 'uuid'];
const LOOP_ATTRS = ['autoclear', 'backing_file', 'dio', 'offset', 'partscan', 'sizelimit'];

const u8 = (n: number) => String(n).padStart(8);

/** The disk (gendisk) of a name: a loop device, or a dm device that has one. */
function disk(k: Kernel, name: string): BlockDevice | undefined {
  if (!/^(loop|dm-)[0-9]+$/.test(name)) return undefined;
  const bdev = k.lookupDevPath(`/dev/${name}`);
  return bdev && (bdev.major !== DM_MAJOR || (bdev as MappedDevice).hasDisk) ? bdev : undefined;
}

/** What a dm device's tables hold open (bd_link_disk_holder at each dm_get_device, live and inactive). */
function slaves(bdev: BlockDevice): string[] {
  if (bdev.major !== DM_MAJOR) return [];
  const md = bdev as MappedDevice;
  const names = new Set<string>();
  for (const t of [md.live, md.inactive]) for (const d of t?.deps() ?? []) names.add(d.diskName);
  return kernfsOrder([...names]);
}

function holders(k: Kernel, bdev: BlockDevice): string[] {
  return kernfsOrder(k.dmIoctl.devices().filter((md) => md.hasDisk && slaves(md).includes(bdev.diskName)).map((md) => md.diskName));
}

/** /sys/block/NAME/stat (part_stat_show): counters, no merges, no times (the emulation keeps none). */
function stat(bdev: BlockDevice): string {
  const s = bdev.major === DM_MAJOR ? (bdev as MappedDevice).diskStat : undefined;
  const f = [s?.ios[0] ?? 0, 0, s?.sectors[0] ?? 0, 0, s?.ios[1] ?? 0, 0, s?.sectors[1] ?? 0, 0,
    (s?.inFlight[0] ?? 0) + (s?.inFlight[1] ?? 0), 0, 0, 0, 0, 0, 0, 0, 0];
  return `${f.map(u8).join(' ')}\n`;
}

function diskAttr(k: Kernel, bdev: BlockDevice, rest: string[]): VfsNode | undefined {
  const isDm = bdev.major === DM_MAJOR;
  const loop = isDm ? undefined : (bdev as LoopDevice);
  const file = (text: string): VfsNode => ({ kind: 'file', text });
  if (rest.length === 0) {
    const entries = [...DISK_ATTRS, ...(isDm ? ['dm'] : ['mq']), ...(loop?.attached ? ['loop'] : [])].sort();
    return { kind: 'dir', entries };
  }
  const [a, b, ...more] = rest;
  if (more.length) return undefined;
  if (b === undefined) {
    switch (a) {
      case 'size': return file(`${bdev.sizeSectors()}\n`);
      case 'ro': return file(`${bdev.readOnly ? 1 : 0}\n`);
      case 'dev': return file(`${bdev.major}:${bdev.minor}\n`);
      case 'removable': case 'hidden': case 'alignment_offset': case 'discard_alignment': return file('0\n');
      case 'range': case 'ext_range': return file('1\n');
      case 'events': case 'events_async': return file(''); // no media events: nothing, not even a newline
      case 'events_poll_msecs': return file('-1\n');
      case 'stat': return file(stat(bdev));
      case 'inflight': {
        const s = isDm ? (bdev as MappedDevice).diskStat : undefined;
        return file(`${u8(s?.inFlight[0] ?? 0)} ${u8(s?.inFlight[1] ?? 0)}\n`);
      }
      case 'holders': return { kind: 'dir', entries: holders(k, bdev) };
      case 'slaves': return { kind: 'dir', entries: slaves(bdev) };
      case 'dm': return isDm ? { kind: 'dir', entries: DM_ATTRS } : undefined;
      case 'loop': return loop?.attached ? { kind: 'dir', entries: LOOP_ATTRS } : undefined;
    }
    if (DISK_ATTRS.includes(a!) || (a === 'mq' && !isDm)) throw new KernelError('EIO', `${a}: not emulated`);
    return undefined;
  }
  if (a === 'holders' && holders(k, bdev).includes(b)) return { kind: 'link', target: `../../${b}` };
  if (a === 'slaves' && slaves(bdev).includes(b)) return { kind: 'link', target: `../../${b}` };
  if (a === 'dm' && isDm) {
    const md = bdev as MappedDevice;
    switch (b) {
      case 'name': return file(`${md.name}\n`);
      case 'uuid': return file(`${md.uuid}\n`);
      case 'suspended': return file(`${md.suspended ? 1 : 0}\n`);
      case 'use_blk_mq': return file('1\n');
      case 'rq_based_seq_io_merge_deadline': return file('0\n');
    }
  }
  if (a === 'loop' && loop?.attached) {
    switch (b) {
      case 'backing_file': return file(`${loop.file}\n`);
      case 'offset': return file(`${loop.offset}\n`);
      case 'sizelimit': return file(`${loop.sizelimit}\n`);
      case 'autoclear': return file(`${loop.autoclear ? 1 : 0}\n`);
      case 'partscan': return file(`${loop.partscan ? 1 : 0}\n`);
      case 'dio': return file(`${loop.directIo ? 1 : 0}\n`);
    }
  }
  return undefined;
}

/** /proc/partitions (show_partition): every disk with a size, in the order the disks came. */
function procPartitions(k: Kernel): string {
  const disks: BlockDevice[] = [...k.loopDevices(), ...k.dmIoctl.devices().filter((md) => md.hasDisk).sort((a, b) => a.minor - b.minor)];
  const lines = disks.filter((d) => d.sizeSectors() > 0)
    .map((d) => `${String(d.major).padStart(4)}  ${String(d.minor).padStart(7)} ${String(Math.floor(d.sizeSectors() / 2)).padStart(10)} ${d.diskName}\n`);
  return `major minor  #blocks  name\n\n${lines.join('')}`;
}

/** The node at an absolute path, or undefined if there is none (ENOENT). */
export function vfsLookup(k: Kernel, p: string): VfsNode | undefined {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  const path = `/${parts.join('/')}`;
  if (path === '/dev/mapper') return { kind: 'dir', entries: ['control', ...k.devfs.list()] };
  if (path === '/proc/partitions') return { kind: 'file', text: procPartitions(k) };
  if (path === '/dev/mapper/control') return { kind: 'char' };
  if (path.startsWith('/dev/mapper/') && parts.length === 3 && k.devfs.isFile(parts[2]!)) {
    return { kind: 'file', text: k.devfs.readFile(parts[2]!)!.toString('latin1') };
  }
  if (/^\/dev\/(mapper\/[^/]+|dm-[0-9]+|loop[0-9]+)$/.test(path)) {
    // A node exists for every loop device, every dm device with a gendisk, each /dev/mapper name made.
    const exists = path.startsWith('/dev/mapper/') ? k.devfs.has(parts[2]!) : k.lookupDevPath(path) !== undefined && (!path.startsWith('/dev/dm-') || disk(k, parts[1]!) !== undefined);
    return exists ? { kind: 'block', path } : undefined;
  }
  if (parts[0] === 'sys' && parts[1] === 'block') {
    if (parts.length === 2) return { kind: 'dir', entries: sysBlockReaddir(k) };
    const bdev = disk(k, parts[2]!);
    return bdev ? diskAttr(k, bdev, parts.slice(3)) : undefined;
  }
  if (parts[0] === 'sys' && parts[1] === 'dev' && parts[2] === 'block') {
    const all = sysBlockReaddir(k).map((n) => disk(k, n)!).filter(Boolean);
    if (parts.length === 3) return { kind: 'dir', entries: kernfsOrder(all.map((d) => `${d.major}:${d.minor}`)) };
    const d = all.find((x) => `${x.major}:${x.minor}` === parts[3]);
    if (!d) return undefined;
    if (parts.length === 4) return { kind: 'link', target: `../../devices/virtual/block/${d.diskName}` };
    return diskAttr(k, d, parts.slice(4));
  }
  return undefined;
}

/** The paths vfsLookup answers for; others are this machine's. */
export function isVirtualPath(p: string): boolean {
  return /^\/(dev\/mapper(\/|$)|dev\/dm-[0-9]+$|dev\/loop[0-9]+$|sys\/block(\/|$)|sys\/dev\/block(\/|$)|proc\/partitions$)/.test(p.replace(/\/+/g, '/'));
}
