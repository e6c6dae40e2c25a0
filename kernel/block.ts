// The block layer namespace: devices by dev_t, by /dev path, and their open counts.

import type { Bio } from './bio.js';
import type { KernelLog } from './klog.js';
import type { Clock } from './clock.js';

export const LOOP_MAJOR = 7;
export const DM_MAJOR = 254;

export interface BlockDevice {
  readonly major: number;
  readonly minor: number;
  /** The gendisk name: loop0, dm-3. */
  readonly diskName: string;
  /** Capacity in 512-byte sectors. */
  sizeSectors(): number;
  /** The same, exact past 2^53 (a dm device's table may be up to 2^54 - 1 sectors). */
  sizeSectorsExact?(): bigint;
  submitBio(bio: Bio): void;
  /** blkdev_get / blkdev_put: open count seen by `dmsetup info`. */
  open(): void;
  close(): void;
  readonly openCount: number;
  /** get_disk_ro: the disk's read-only flag (set_disk_ro by the driver). */
  readonly readOnly: boolean;
  /** bdev->bd_read_only, set by BLKROSET. A write from user space to a device with either flag is refused (see bdevReadOnly). */
  bdReadOnly: boolean;
  /** bdi->ra_pages: read-ahead in pages (BLKRAGET, BLKRASET). */
  raPages: number;
  /** queue_io_min / queue_io_opt in bytes, where the driver sets them (0 or absent: none). */
  readonly limits?: QueueLimits;
  /** queue_logical_block_size where the driver sets it (loop's block size; absent: 512). */
  readonly logicalBlockSize?: number;
  /** GENHD_FL_NO_PART cleared: the disk scans partitions (a loop device with LO_FLAGS_PARTSCAN). */
  readonly partscan?: boolean;
  /** bd_holders: exclusive openers (each device-mapper device whose tables use it, bd_prepare_to_claim's test). */
  bdHolders?: number;
  /** The log of the kernel the device belongs to (printk is global there; here each emulated kernel has its own). */
  readonly klog?: KernelLog;
  /** The clock of the kernel the device belongs to (the flusher's timers). */
  readonly clock?: Clock;
}

/** bdev_read_only: the block device's own flag (BLKROSET) or the disk's (set_disk_ro). */
export function bdevReadOnly(bdev: BlockDevice): boolean {
  return bdev.bdReadOnly || bdev.readOnly;
}

/** The part of struct queue_limits the emulation stacks: io_min and io_opt, in bytes. */
export interface QueueLimits { ioMin: number; ioOpt: number }

/** blk_set_stacking_limits, for the fields above. */
export function stackingLimits(): QueueLimits { return { ioMin: 0, ioOpt: 0 }; }

/** blk_stack_limits for io_min (the larger) and io_opt (lcm_not_zero), unsigned int as the kernel keeps them. */
export function stackLimits(t: QueueLimits, b: QueueLimits): void {
  t.ioMin = Math.max(t.ioMin, b.ioMin);
  t.ioOpt = lcmNotZero(t.ioOpt, b.ioOpt);
}

function lcmNotZero(a: number, b: number): number {
  if (!a || !b) return a || b;
  let x = a, y = b;
  while (y) [x, y] = [y, x % y];
  return Number((BigInt(a) / BigInt(x)) * BigInt(b) % 0x100000000n);
}

/** VM_READAHEAD_PAGES: 128 KiB of 4 KiB pages. */
const VM_READAHEAD_PAGES = 32;
const PAGE_SIZE = 4096;

/** disk_update_readahead: read ahead at least twice the optimal I/O size (bdi->ra_pages). */
export function readaheadPages(limits: QueueLimits): number {
  return Math.max(Math.floor((limits.ioOpt * 2) / PAGE_SIZE), VM_READAHEAD_PAGES);
}

export function formatDevT(bdev: { major: number; minor: number }): string {
  return `${bdev.major}:${bdev.minor}`;
}

export function devT(major: number, minor: number): number {
  return major * 0x100000 + minor;
}
