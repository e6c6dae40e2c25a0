// The target API (include/linux/device-mapper.h): what a target type provides
// and what the core gives it. Targets live in targets/; the core never knows one by name.

import type { Bio, BlkStatus } from './bio.js';
import type { BlockDevice, QueueLimits } from './block.js';
import type { Errno } from './errno.js';
import type { DmLogger } from './klog.js';
import type { DmTable } from './dm-table.js';
import type { Kernel } from './kernel.js';

export enum DmMapio { SUBMITTED = 0, REMAPPED = 1, REQUEUE = 2, KILL = 3 }
export enum DmEndio { DONE = 0, INCOMPLETE = 1, REQUEUE = 2 }

export type StatusType = 'info' | 'table' | 'ima';

/** A device a table holds open (struct dm_dev). */
export interface DmDev {
  readonly bdev: BlockDevice;
  /** major:minor, as targets print it. */
  readonly name: string;
}

/** One instance of a target in a table (ti->private plus the operations). */
export interface Target {
  map(bio: Bio): DmMapio;
  endIo?(bio: Bio, status: BlkStatus): DmEndio;
  /** The status text; a Promise where the target must ask someone first (a userspace log's STATUS_INFO). */
  status?(type: StatusType): string | Promise<string>;
  /** Throws KernelError (with a log line already written) when the message is refused. */
  message?(argv: string[]): string | void;
  presuspend?(): void | Promise<void>;
  postsuspend?(): void | Promise<void>;
  /** May refuse a resume with an errno. */
  preresume?(): Errno | 0;
  /** May return a promise (e.g. a dirty log reading its device); the resume ioctl waits for it. */
  resume?(): void | Promise<void>;
  dtr?(): void;
  /** Every device area the target maps (for the size check at table completion): sector_t start and length. */
  iterateDevices?(fn: IterateDevicesFn): void;
  /** io_hints: the target's own io_min/io_opt over what its devices stacked into limits. */
  ioHints?(limits: QueueLimits): void;
}

export interface TargetType {
  readonly name: string;
  readonly version: readonly [number, number, number];
  /** Build a target or throw CtrError with the one sentence the kernel would set in ti->error. */
  ctr(ti: DmTarget, argv: string[]): Target;
}

/** iterate_devices_callout_fn: a device and the area of it the target maps, in exact sectors. */
export type IterateDevicesFn = (dev: DmDev, start: bigint, len: bigint) => void;

/** A constructor failure: ti->error and the errno returned. */
export class CtrError extends Error {
  constructor(readonly tiError: string, readonly errno: Errno = 'EINVAL') { super(tiError); }
}

/** struct dm_target as the constructor sees it. */
export interface DmTarget {
  readonly table: DmTable;
  readonly kernel: Kernel;
  /** ti->begin and ti->len: sector_t, exact up to 2^64-1. */
  readonly begin: bigint;
  readonly len: bigint;
  /**
   * The same two as numbers, for the bio path: a bio addresses a real device,
   * so its sectors are far below 2^53 (targets map bios with these).
   */
  readonly beginSector: number;
  readonly lenSectors: number;
  /** Split bios so none crosses a multiple of this many sectors from begin (0: no limit). */
  maxIoLen: number;
  /** How many clones of an empty flush the target gets (ti->num_flush_bios). */
  numFlushBios: number;
  /** dm_get_device: open a device by path or major:minor for this table. */
  getDevice(path: string): DmDev;
  /** dm_table_event: raise an event on the device if this table is live. */
  event(): void;
  /** The device's name in kernel messages, e.g. "254:0". */
  readonly mdName: string;
  /** A kernel logger with the given DM_MSG_PREFIX. */
  logger(prefix: string): DmLogger;
}

/** Sector offset of a bio within its target (dm_target_offset). */
export function targetOffset(ti: { beginSector: number }, sector: number): number {
  return sector - ti.beginSector;
}
