// An open file on a block device, as user space holds one (block/fops.c in
// 6.1): reads and writes at a position, direct (O_DIRECT, one bio per call,
// checked for alignment first) or through the page cache, fsync, and the last
// close that writes the cache back. A process's open files live in its
// FileTable (one per connection to the kernel process) and are closed with it.

import { ReqOp, submitBioWait } from './bio.js';
import { bdevReadOnly, type BlockDevice } from './block.js';
import { BdevFile, flushBuffers, syncBlockdev } from './blkdev-pagecache.js';
import { userBio, userErrno } from './blkdev-io.js';
import { KernelError, type Errno } from './errno.js';
import type { KernelLog } from './klog.js';

const SECTOR_SIZE = 512;

export class BlockDeviceOpenFile {
  /** O_DIRECT, as fcntl(F_SETFL) may change it. */
  direct: boolean;
  private readonly cache: BdevFile;
  private closed = false;

  constructor(readonly bdev: BlockDevice, klog: KernelLog, readonly writable: boolean, direct: boolean) {
    this.direct = direct;
    bdev.open();
    this.cache = new BdevFile(bdev, klog);
  }

  /** i_size of the device at open, in bytes. */
  get size(): number { return this.cache.size; }

  private get logicalBlockSize(): number { return this.bdev.logicalBlockSize ?? SECTOR_SIZE; }

  /**
   * blkdev_dio_unaligned: the position and length must be multiples of the
   * logical block size, and the user buffer must meet the queue's DMA
   * alignment (511 by default: bufferAligned says its address is a multiple of 512).
   */
  private unaligned(pos: number, len: number, bufferAligned: boolean): boolean {
    const mask = this.logicalBlockSize - 1;
    return (pos & mask) !== 0 || (len & mask) !== 0 || !bufferAligned;
  }

  /** blkdev_read_iter: the bytes read (short or empty at the end of the device), or an errno. */
  async read(pos: number, len: number, bufferAligned: boolean): Promise<Buffer | Errno> {
    if (pos >= this.size || len === 0) return Buffer.alloc(0);
    len = Math.min(len, this.size - pos);
    if (!this.direct) return this.cache.read(pos, len);
    if (this.unaligned(pos, len, bufferAligned)) return 'EINVAL';
    await syncBlockdev(this.bdev); // filemap_write_and_wait_range
    const data = Buffer.alloc(len);
    const status = await submitBioWait(userBio(ReqOp.READ, this.bdev, pos / SECTOR_SIZE, data));
    return status ? userErrno(status) : data;
  }

  /** blkdev_write_iter: the bytes written (short at the end of the device), or an errno. */
  async write(pos: number, data: Buffer, bufferAligned: boolean): Promise<number | Errno> {
    if (bdevReadOnly(this.bdev)) return 'EPERM';
    if (data.length === 0) return 0;
    if (pos >= this.size) return 'ENOSPC';
    const len = Math.min(data.length, this.size - pos);
    if (!this.direct) return this.cache.write(pos, data.subarray(0, len));
    if (this.unaligned(pos, len, bufferAligned)) return 'EINVAL';
    await flushBuffers(this.bdev); // written back, then invalidated
    const status = await submitBioWait(userBio(ReqOp.WRITE, this.bdev, pos / SECTOR_SIZE, data.subarray(0, len)));
    return status ? userErrno(status) : len;
  }

  /** blkdev_fsync: write the cache back and wait; a failed write-back is the caller's EIO. */
  async fsync(): Promise<Errno | undefined> {
    return (await this.cache.writeback()) ? 'EIO' : undefined;
  }

  /** blkdev_close: the last close writes the cache back (failures only logged) and drops it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.cache.close();
    } finally {
      this.bdev.close();
    }
  }
}

/** blkdev_open (the path already resolved: Kernel.openDevPath). A read-only device opens for writing; its writes fail (EPERM). */
export function openBlockDevice(bdev: BlockDevice, klog: KernelLog, writable: boolean, direct: boolean): BlockDeviceOpenFile {
  return new BlockDeviceOpenFile(bdev, klog, writable, direct);
}

/** A process's open block device files, by descriptor; all closed when the process goes. */
export class FileTable {
  private readonly files = new Map<number, BlockDeviceOpenFile>();
  private next = 3;

  install(file: BlockDeviceOpenFile): number {
    const fd = this.next++;
    this.files.set(fd, file);
    return fd;
  }

  get(fd: number): BlockDeviceOpenFile {
    const f = this.files.get(fd);
    if (!f) throw new KernelError('EBADF');
    return f;
  }

  async close(fd: number): Promise<void> {
    const f = this.get(fd);
    this.files.delete(fd);
    await f.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.files.values()];
    this.files.clear();
    await Promise.all(all.map((f) => f.close()));
  }
}
