// The block layer namespace: devices by dev_t, by /dev path, and their open counts.

import type { Bio } from './bio.js';

export const LOOP_MAJOR = 7;
export const DM_MAJOR = 254;

export interface BlockDevice {
  readonly major: number;
  readonly minor: number;
  /** The gendisk name: loop0, dm-3. */
  readonly diskName: string;
  /** Capacity in 512-byte sectors. */
  sizeSectors(): number;
  submitBio(bio: Bio): void;
  /** blkdev_get / blkdev_put: open count seen by `dmsetup info`. */
  open(): void;
  close(): void;
  readonly openCount: number;
}

export function formatDevT(bdev: { major: number; minor: number }): string {
  return `${bdev.major}:${bdev.minor}`;
}

export function devT(major: number, minor: number): number {
  return major * 0x100000 + minor;
}
