// The operations the kernel process serves: the device-mapper ioctls, loop
// control, block I/O, the kernel log and /dev/mapper nodes. Each takes JSON
// arguments (and a payload) and returns JSON (and a payload), or throws a
// KernelError whose errno the client turns into the text dmsetup prints.

import * as path from 'node:path';
import { KernelError, isErrno } from './errno.js';
import { packRecords } from './protocol.js';
import { blkdevRead, blkdevWrite } from './blkdev-io.js';
import { bufferedRead, bufferedWrite } from './blkdev-pagecache.js';
import { openBlockDevice, type FileTable } from './blkdev-file.js';
import { formatLogLine } from './klog.js';
import { BlockDeviceFile, type BlkIoctl } from './blkdev-ioctl.js';
import { flushBuffers, syncAll } from './blkdev-pagecache.js';
import { DM_MAJOR, LOOP_MAJOR, type BlockDevice } from './block.js';
import type { MappedDevice } from './dm.js';
import type { DevRef, TargetSpec } from './dm-ioctl.js';
import type { Kernel } from './kernel.js';
import type { LoopDevice } from './loop.js';
import { sysBlockReaddir } from './sysfs.js';
import { vfsLookup } from './vfs.js';

export interface RpcReply { result?: unknown; payload?: Buffer }
type Args = Record<string, unknown>;
type Op = (k: Kernel, a: Args, payload: Buffer | null, files: FileTable) => RpcReply | Promise<RpcReply>;

const ref = (a: Args): DevRef => (a.ref ?? {}) as DevRef;

/** The loop device a request names (ENXIO: none such). */
function loopOf(k: Kernel, a: Args): LoopDevice {
  const l = k.loop(Number(a.number));
  if (!l) throw new KernelError('ENXIO');
  return l;
}
const r = (result: unknown): RpcReply => ({ result });

/** Read-ahead of every device-mapper device, in sectors (the 6.1 default: 128 KiB). */
const SECTORS_PER_PAGE = 8;

function blockDevice(k: Kernel, dev: string): BlockDevice {
  const bdev = dev.startsWith('/dev/') ? k.lookupDevPath(dev) : k.dmIoctl.deviceByName(dev);
  if (!bdev) throw new KernelError('ENOENT');
  return bdev;
}

/**
 * The device dm_write/dm_read reach by NAME: the oracle's busybox dd opens
 * /dev/mapper/NAME with O_DIRECT. Where a regular file is (some program made
 * it: /dev is a devtmpfs), the open fails with EINVAL (tmpfs has no O_DIRECT in
 * 6.1); where nothing is, a write's O_CREAT first makes that file.
 */
function ioDevice(k: Kernel, dev: string, write: boolean): BlockDevice {
  if (!dev.startsWith('/dev/')) {
    if (k.devfs.isFile(dev)) throw new KernelError('EINVAL');
    if (!k.devfs.has(dev) && !k.dmIoctl.deviceByName(dev)) {
      if (!write) throw new KernelError('ENOENT');
      k.devfs.creat(dev);
      throw new KernelError('EINVAL');
    }
  }
  return blockDevice(k, dev);
}

const OP_TABLE: Record<string, Op> = {
  // ---- device-mapper control (dm-ioctl) ----
  version: (k) => r(k.dmIoctl.version()),
  listDevices: (k, a) => {
    const list = k.dmIoctl.listDevices();
    return r((a.packed && packRecords(list)) || list);
  },
  listVersions: (k) => r(k.dmIoctl.listVersions()),
  targetVersion: (k, a) => r(k.dmIoctl.targetVersion(String(a.name))),
  devCreate: (k, a) => r(k.dmIoctl.devCreate(String(a.name), a.uuid ? String(a.uuid) : '', a.minor as number | undefined)),
  devRemove: async (k, a) => r(await k.dmIoctl.devRemove(ref(a), Boolean(a.deferred))),
  removeAll: async (k) => { await k.dmIoctl.removeAll(); return r(true); },
  devSetGeometry: (k, a) => r(k.dmIoctl.devSetGeometry(ref(a), String(a.geometry))),
  devRename: (k, a) => r(k.dmIoctl.devRename(ref(a), String(a.newValue), Boolean(a.setUuid))),
  devSuspend: async (k, a) => r(await k.dmIoctl.devSuspend(ref(a), Boolean(a.noflush), Boolean(a.nolockfs))),
  devResume: async (k, a) => r(await k.dmIoctl.devResume(ref(a), Boolean(a.noflush), Boolean(a.nolockfs))),
  devStatus: (k, a) => r(k.dmIoctl.devStatus(ref(a), Boolean(a.inactive))),
  /** DM_DEV_STATUS for each of several devices in one request (a report over every device): one answer each, an errno or the info. */
  devStatusEach: (k, a) => {
    const each = (a.refs as DevRef[]).map((d) => {
      try {
        return { result: k.dmIoctl.devStatus(d, Boolean(a.inactive)) };
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        return { errno: e.errno };
      }
    });
    // Packed: the info, or the errno as a string.
    return r((a.packed && packRecords(each.map((x) => x.result ?? x.errno!))) || each);
  },
  devWait: async (k, a) => r(await k.dmIoctl.devWait(ref(a), Number(a.eventNr ?? 0))),
  tableLoad: async (k, a) => r(await k.dmIoctl.tableLoadAsync(ref(a), a.targets as TargetSpec[], Boolean(a.readOnly), typeof a.attachCwd === 'string' ? a.attachCwd : undefined)),
  tableClear: (k, a) => r(k.dmIoctl.tableClear(ref(a))),
  tableDeps: (k, a) => r(k.dmIoctl.tableDeps(ref(a), Boolean(a.inactive))),
  tableStatus: async (k, a) => r(await k.dmIoctl.tableStatusAsync(ref(a), a.type === 'table' || a.type === 'ima' ? a.type : 'info', Boolean(a.inactive))),
  // The reply's bytes as a latin1 string (JSON has no bytes; libdm's client turns it back).
  targetMessage: (k, a) => {
    const { info, data } = k.dmIoctl.targetMessage(ref(a), typeof a.sector === 'bigint' ? a.sector : Number(a.sector), String(a.message));
    return r(data === undefined ? { info } : { info, data: data.toString('latin1') });
  },

  // ---- /dev/mapper nodes and block device queries ----
  // Each says whether /dev/mapper changed (a node made, removed, renamed).
  // 'notblock': a regular file is in the way (_add_dev_node, _rename_dev_node check with stat first).
  nodeAdd: (k, a) => r(k.devfs.isFile(String(a.name)) ? 'notblock' : k.devfs.add(String(a.name))),
  nodeRemove: (k, a) => r(k.devfs.remove(String(a.name))),
  nodeRename: (k, a) => r(k.devfs.isFile(String(a.to)) ? 'notblock' : k.devfs.rename(String(a.from), String(a.to))),
  /** open(O_CREAT) of /dev/mapper/NAME where no node is: the regular file's contents (devtmpfs makes it). */
  devfsCreat: (k, a) => {
    const data = k.devfs.creat(String(a.name));
    if (!data) throw new KernelError('EEXIST');
    return r(data.toString('base64'));
  },
  /** A regular file in /dev/mapper: its contents, or ENOENT. */
  devfsRead: (k, a) => {
    const data = k.devfs.readFile(String(a.name));
    if (!data) throw new KernelError('ENOENT');
    return r(data.toString('base64'));
  },
  devfsWrite: (k, a) => r(k.devfs.writeFile(String(a.name), Buffer.from(String(a.data), 'base64'))),
  /** The names in /dev/mapper, nodes and files, in readdir order (without control). */
  nodeList: (k) => r(k.devfs.readdir()),
  /** The read-ahead of /dev/mapper/NAME, as dm_task_get_read_ahead gets it. */
  readAhead: (k, a) => {
    // libdm reads sysfs (bdi/read_ahead_kb) when the gendisk exists, else opens the node.
    const name = String(a.name);
    const md = k.dmIoctl.deviceByName(name);
    if (md?.hasDisk) return r(md.raPages * SECTORS_PER_PAGE);
    throw new KernelError(k.devfs.has(name) ? 'ENXIO' : 'ENOENT');
  },
  /** A write of KB to the device's bdi/read_ahead_kb in sysfs (read_ahead_kb_store: whole pages). */
  setReadAhead: (k, a) => {
    const md = k.dmIoctl.deviceByName(String(a.name));
    if (!md?.hasDisk) throw new KernelError(k.devfs.has(String(a.name)) ? 'ENXIO' : 'ENOENT');
    md.raPages = Math.floor(Number(a.kb) / (SECTORS_PER_PAGE / 2));
    return r(true);
  },
  /** Which block device a /dev path names: {major, minor, dmName?}. */
  statPath: (k, a) => {
    const bdev = k.lookupDevPath(String(a.path));
    if (!bdev) throw new KernelError('ENOENT');
    const md = k.dmIoctl.deviceByMinor(bdev.minor);
    return r({ major: bdev.major, minor: bdev.minor, dmName: bdev.major === md?.major && md.minor === bdev.minor ? md.name : undefined });
  },
  /** Kernel name of a device number (for deps -o devname, ls --tree). */
  devName: (k, a) => {
    // What /sys/dev/block/MAJ:MIN tells: nothing for a dm device without a gendisk.
    const major = Number(a.major), minor = Number(a.minor);
    if (major === DM_MAJOR) {
      const md = k.dmIoctl.deviceByMinor(minor);
      return r(md?.hasDisk ? { diskName: md.diskName, dmName: md.name } : null);
    }
    const loop = major === LOOP_MAJOR ? k.loop(minor) : undefined;
    return r(loop ? { diskName: loop.diskName } : null);
  },

  /**
   * open(PATH, O_RDONLY), then each ioctl in turn, as blockdev(8) does: the
   * results so far and, at the first failing one, its errno.
   */
  blkdevIoctls: async (k, a) => {
    const bdev = k.openDevPath(String(a.path));
    const file = new BlockDeviceFile(bdev);
    const results: (string | null)[] = [];
    for (const c of a.cmds as { cmd: BlkIoctl; arg?: number }[]) {
      try {
        const v = file.ioctl(c.cmd, c.arg ?? 0);
        // BLKFLSBUF: sync_blockdev and invalidate_bdev, waited for.
        if (c.cmd === 'BLKFLSBUF') await flushBuffers(bdev);
        results.push(v === undefined ? null : String(v));
      } catch (e) {
        if (e instanceof KernelError) return r({ results, errno: e.errno });
        throw e;
      }
    }
    return r({ results });
  },

  /** sync(2): every block device's dirty pages written back, waited for. */
  sync: async () => { await syncAll(); return r(null); },

  // ---- loop control ----
  loopAttach: (k, a) => {
    const l = k.loopAttach(a.number as number | undefined, path.resolve(String(a.file)), {
      readOnly: Boolean(a.readOnly), offset: Number(a.offset ?? 0), sizelimit: Number(a.sizelimit ?? 0),
      blockSize: Number(a.blockSize ?? 0), directIo: Boolean(a.directIo), partscan: Boolean(a.partscan),
      fileName: typeof a.fileName === 'string' ? a.fileName : undefined,
    });
    return r({ number: l.minor });
  },
  loopSetCapacity: (k, a) => { loopOf(k, a).setCapacity(); return r(null); },
  loopSetDirectIo: (k, a) => { loopOf(k, a).setDirectIo(Boolean(a.on)); return r(null); },
  loopSetBlockSize: (k, a) => { loopOf(k, a).setBlockSize(Number(a.blockSize)); return r(null); },
  // readdir of /sys/block (kernfs order), as losetup walks the loop devices.
  sysBlock: (k) => r(sysBlockReaddir(k)),
  loopDetach: (k, a) => {
    const l = k.loop(Number(a.number));
    if (!l) throw new KernelError('ENXIO');
    l.clrFd();
    return r(null);
  },
  loopList: (k) => r(k.loopDevices().filter((l) => l.attached).map((l) => ({
    number: l.minor, file: l.file, fileName: l.fileName, sizeSectors: l.sizeSectors(), readOnly: l.readOnly, autoclear: l.autoclear,
    offset: l.offset, sizelimit: l.sizelimit, partscan: l.partscan, directIo: l.directIo, logicalBlockSize: l.logicalBlockSize,
  }))),
  loopExists: (k, a) => r(k.loop(Number(a.number)) !== undefined),

  // ---- block I/O ----
  // buffered: through the page cache, as the oracle's busybox dd ends up doing
  // (see kernel/blkdev-pagecache.ts); otherwise one direct bio per bs bytes.
  ioWrite: async (k, a, payload) => {
    const write = a.buffered ? bufferedWrite.bind(null, k.klog) : blkdevWrite;
    const res = await write(ioDevice(k, String(a.dev), true), Number(a.sector), payload ?? Buffer.alloc(0), Number(a.bs ?? 1 << 20));
    return r(res);
  },
  diskStat: (k, a) => {
    const md = k.dmIoctl.deviceByName(String(a.name));
    if (!md) throw new KernelError('ENXIO');
    return r(md.diskStat);
  },
  ioRead: async (k, a) => {
    const read = a.buffered ? bufferedRead.bind(null, k.klog) : blkdevRead;
    const res = await read(ioDevice(k, String(a.dev), false), Number(a.sector), Number(a.count), Number(a.bs ?? 1 << 20));
    return { result: { bytes: res.bytes, error: res.error }, payload: res.data };
  },

  /** What is at a path of /dev, /sys or /proc that tells about block devices (kernel/vfs.ts); ENOENT: nothing. */
  vfsLookup: (k, a) => {
    const node = vfsLookup(k, String(a.path));
    if (!node) throw new KernelError('ENOENT');
    return r(node);
  },

  // ---- open files on block devices (kernel/blkdev-file.ts), as dd holds them ----
  /** open(PATH, O_RDONLY or O_WRONLY [| O_DIRECT]): {fd, size} (size in bytes). */
  bdevOpen: (k, a, _p, files) => {
    const file = openBlockDevice(k.openDevPath(String(a.path)), k.klog, Boolean(a.write), Boolean(a.direct));
    return r({ fd: files.install(file), size: file.size });
  },
  /** fcntl(F_SETFL) of O_DIRECT. */
  bdevSetDirect: (_k, a, _p, files) => { files.get(Number(a.fd)).direct = Boolean(a.direct); return r(null); },
  /** pread: {error?} and the bytes read (none at the end of the device). */
  bdevRead: async (_k, a, _p, files) => {
    const res = await files.get(Number(a.fd)).read(Number(a.pos), Number(a.len), Boolean(a.aligned));
    return typeof res === 'string' ? r({ error: res }) : { result: {}, payload: res };
  },
  /** pwrite of the payload: {bytes} or {error}. */
  bdevWrite: async (_k, a, payload, files) => {
    const res = await files.get(Number(a.fd)).write(Number(a.pos), payload ?? Buffer.alloc(0), Boolean(a.aligned));
    return r(typeof res === 'string' ? { error: res } : { bytes: res });
  },
  bdevFsync: async (_k, a, _p, files) => r({ error: await files.get(Number(a.fd)).fsync() }),
  bdevClose: async (_k, a, _p, files) => { await files.close(Number(a.fd)); return r(null); },

  // ---- the NBD export (kernel/nbd.ts) ----
  /** Where clients reach a device over NBD: {socket, port?, sizeBytes}; tcp: also listen on 127.0.0.1:tcp (0: any port). */
  nbdExport: async (k, a) => {
    const { nbdServer } = await import('./nbd.js');
    const srv = nbdServer(k);
    const bdev = srv.device(String(a.name));
    if (!bdev) throw new KernelError('ENOENT');
    if (bdev.sizeSectors() === 0) throw new KernelError('ENXIO');
    let port: number | undefined;
    if (a.tcp !== undefined) {
      try { port = await srv.listenTcp(Number(a.tcp)); } catch (e) { throw new KernelError('EBUSY', (e as Error).message); }
    }
    return r({ socket: srv.socketPath, port, sizeBytes: bdev.sizeSectors() * 512 });
  },

  // ---- the kernel itself ----
  dmesg: (k, a) => r(k.klog.read(Boolean(a.clear)).map(formatLogLine)),
  ping: (k) => r({ pid: process.pid, virtualClock: k.clock.virtual, uptimeMs: k.clock.nowMs() }),
  patches: (k) => r(Object.fromEntries(k.patches)),
};

/** The operations by name (a Map: no name such as __proto__ or toString reaches anything but these). */
export const OPS: ReadonlyMap<string, Op> = new Map(Object.entries(OP_TABLE));

/** Run one operation; args as kernel/rpc-args.ts checked them. */
/** One request of the process whose open files are `files`. */
export async function dispatch(k: Kernel, op: string, args: Args, payload: Buffer | null, files: FileTable): Promise<RpcReply> {
  const fn = OPS.get(op);
  if (!fn) throw new KernelError('ENOSYS', `unknown operation ${op}`);
  return fn(k, args, payload, files);
}

export function errnoOf(e: unknown): string {
  if (e instanceof KernelError) return e.errno;
  const code = (e as NodeJS.ErrnoException)?.code;
  return isErrno(code) ? code : 'EIO';
}
