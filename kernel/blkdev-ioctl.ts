// The generic block device ioctls (block/ioctl.c, blkdev_common_ioctl and
// blkdev_ioctl in 6.1) that blockdev(8) issues, on one open of the device:
// sizes, sector sizes, read-only, read-ahead, block size, flush, re-read.

import { KernelError } from './errno.js';
import { bdevReadOnly, type BlockDevice } from './block.js';

const PAGE_SIZE = 4096;
const SECTOR_SIZE = 512;
/** BLK_DEF_MAX_SECTORS: what loop's queue allows, and so every dm device stacked on loops. */
const DEF_MAX_SECTORS = 2560;

export type BlkIoctl =
  | 'BLKROSET' | 'BLKROGET' | 'BLKDISCARDZEROES' | 'BLKSSZGET' | 'BLKPBSZGET' | 'BLKIOMIN' | 'BLKIOOPT'
  | 'BLKALIGNOFF' | 'BLKSECTGET' | 'BLKBSZGET' | 'BLKBSZSET' | 'BLKGETSIZE' | 'BLKGETSIZE64'
  | 'BLKRASET' | 'BLKRAGET' | 'BLKFRASET' | 'BLKFRAGET' | 'BLKFLSBUF' | 'BLKRRPART';

export const BLK_IOCTLS: readonly BlkIoctl[] = [
  'BLKROSET', 'BLKROGET', 'BLKDISCARDZEROES', 'BLKSSZGET', 'BLKPBSZGET', 'BLKIOMIN', 'BLKIOOPT',
  'BLKALIGNOFF', 'BLKSECTGET', 'BLKBSZGET', 'BLKBSZSET', 'BLKGETSIZE', 'BLKGETSIZE64',
  'BLKRASET', 'BLKRAGET', 'BLKFRASET', 'BLKFRAGET', 'BLKFLSBUF', 'BLKRRPART',
];

/** set_init_blocksize: at the first open, the largest power of two up to a page that divides the size. */
export function initBlockSize(bdev: BlockDevice): number {
  const size = (bdev.sizeSectorsExact?.() ?? BigInt(bdev.sizeSectors())) * BigInt(SECTOR_SIZE);
  let bsize = bdev.logicalBlockSize ?? SECTOR_SIZE;
  while (bsize < PAGE_SIZE && (size & BigInt(bsize)) === 0n) bsize <<= 1;
  return bsize;
}

/** One opener of a block device (a struct file): its block size lives as long as the open. */
export class BlockDeviceFile {
  private blockSize: number;

  constructor(readonly bdev: BlockDevice) {
    this.blockSize = initBlockSize(bdev);
  }

  /** The ioctl's result (a number), or undefined for one that returns none; throws KernelError. */
  ioctl(cmd: BlkIoctl, arg = 0): number | bigint | undefined {
    const bdev = this.bdev;
    const limits = bdev.limits;
    switch (cmd) {
      case 'BLKROSET':
        bdev.bdReadOnly = arg !== 0;
        return undefined;
      case 'BLKROGET': return bdevReadOnly(bdev) ? 1 : 0;
      case 'BLKDISCARDZEROES': return 0;
      // A loop device's logical, physical and minimum I/O sizes are its block size (loop_configure).
      case 'BLKSSZGET': case 'BLKPBSZGET': return bdev.logicalBlockSize ?? SECTOR_SIZE;
      case 'BLKIOMIN': return limits?.ioMin || (bdev.logicalBlockSize ?? SECTOR_SIZE);
      case 'BLKIOOPT': return limits?.ioOpt ?? 0;
      case 'BLKALIGNOFF': return 0;
      case 'BLKSECTGET': return DEF_MAX_SECTORS;
      case 'BLKBSZGET': return this.blockSize;
      case 'BLKBSZSET':
        // blkdev_bszset: without an exclusive open of its own, the caller must be able to claim the device.
        if (bdev.bdHolders) throw new KernelError('EBUSY');
        // set_blocksize: a power of two from the logical block size up to a page.
        if (arg < (bdev.logicalBlockSize ?? SECTOR_SIZE) || arg > PAGE_SIZE || (arg & (arg - 1)) !== 0) throw new KernelError('EINVAL');
        this.blockSize = arg;
        return undefined;
      case 'BLKGETSIZE': return bdev.sizeSectors();
      case 'BLKGETSIZE64': return (bdev.sizeSectorsExact?.() ?? BigInt(bdev.sizeSectors())) * BigInt(SECTOR_SIZE);
      case 'BLKRASET': case 'BLKFRASET':
        if (arg < 0) throw new KernelError('EINVAL');
        bdev.raPages = Math.floor((arg * SECTOR_SIZE) / PAGE_SIZE);
        return undefined;
      case 'BLKRAGET': case 'BLKFRAGET': return (bdev.raPages * PAGE_SIZE) / SECTOR_SIZE;
      case 'BLKFLSBUF': return undefined; // sync_blockdev + invalidate_bdev (the caller waits for them: flushBuffers)
      case 'BLKRRPART':
        if (bdev.partscan) return undefined; // a loop device set up with -P rescans (no partitions are emulated)
        throw new KernelError('EINVAL'); // neither loop without -P nor dm scans partitions
    }
  }
}
