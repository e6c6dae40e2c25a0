// struct bio: one block I/O request travelling down the stack, completed by bio_endio.

import type { Errno } from './errno.js';
import type { BlockDevice } from './block.js';
import { RatelimitSite } from './klog.js';

export const SECTOR_SHIFT = 9;
export const SECTOR_SIZE = 512;

export enum ReqOp { READ = 0, WRITE = 1, FLUSH = 2, DISCARD = 3 }

/** Request flags (bi_opf above the op). */
export const REQ_FUA = 1 << 0;
export const REQ_PREFLUSH = 1 << 1;
export const REQ_RAHEAD = 1 << 2;
export const REQ_SYNC = 1 << 3;

/**
 * current->comm of a task submitting bios on its own: the kernel's work
 * items (kcopyd, kmirrord, kdelayd) run in a kworker of the one CPU's pool.
 * Which worker runs an item varies on a real machine; here it is always the first.
 */
export const KWORKER_COMM = 'kworker/0:1';

/** blk_status_t: 0 for success, else the errno the submitter sees; DM_REQUEUE is DM-internal. */
export type BlkStatus = 0 | Errno | 'DM_REQUEUE';

export class Bio {
  status: BlkStatus = 0;
  /** bi_private: the submitter's context. */
  private?: unknown;
  /** Which of a target's flush clones this is (dm_bio_get_target_bio_nr). */
  targetBioNr = 0;
  /** How many mapped devices this bio (or the one it was made for) has passed through (see MAX_DM_DEPTH). */
  depth = 0;
  /** The submitting task's name (current->comm at submit_bio), for the block layer's messages. */
  comm = KWORKER_COMM;

  constructor(
    public op: ReqOp,
    public bdev: BlockDevice,
    /** bi_sector: first sector on bdev. */
    public sector: number,
    /** Payload; its length is bi_size. Empty for flush. */
    public data: Buffer,
    public endIo: ((bio: Bio) => void) | null = null,
    public flags = 0,
  ) {}

  get size(): number { return this.data.length; }
  get sectors(): number { return this.data.length >>> SECTOR_SHIFT; }
  isWrite(): boolean { return this.op !== ReqOp.READ; }
  isEmptyFlush(): boolean { return this.op === ReqOp.FLUSH || ((this.flags & REQ_PREFLUSH) !== 0 && this.data.length === 0); }
}

/**
 * bio_check_eod's question: does [sector, sector + nr) lie inside a device of
 * size sectors (exact: the size as a bigint when it is past 2^53)? sector_t
 * is a u64, so a negative, fractional or NaN sector (the library API can pass
 * one) lies inside nothing; past 2^53, where a number no longer holds every
 * integer, the sum is taken exactly.
 */
export function bioInside(sector: number, nr: number, size: number, exactSize?: bigint): boolean {
  if (!Number.isInteger(sector) || sector < 0) return false;
  const end = sector + nr;
  if (Number.isSafeInteger(end)) return end <= size;
  return BigInt(sector) + BigInt(nr) <= (exactSize ?? BigInt(Math.trunc(size)));
}

/** Complete a bio: record status (first error wins if already set) and call bi_end_io. */
export function bioEndio(bio: Bio, status?: BlkStatus): void {
  if (status !== undefined && status !== 0) bio.status = status;
  const fn = bio.endIo;
  if (fn) fn(bio);
}

export function bioIoError(bio: Bio): void { bioEndio(bio, 'EIO'); }

/** bi_opf as Linux 6.1 lays it out: the op in the low 8 bits, then the request flag bits (__REQ_SYNC 11, __REQ_FUA 17, ...). */
export function biOpf(bio: Bio): number {
  let opf = bio.op;
  if (bio.flags & REQ_SYNC) opf |= 1 << 11;
  if (bio.flags & REQ_FUA) opf |= 1 << 17;
  if (bio.flags & REQ_PREFLUSH) opf |= 1 << 18;
  if (bio.flags & REQ_RAHEAD) opf |= 1 << 19;
  return opf;
}

/** The one printk ratelimit state of handle_bad_sector's pr_info_ratelimited (shown under bio_check_eod, where it is inlined). */
const RL_BAD_SECTOR = new RatelimitSite('bio_check_eod');

/**
 * bio_check_eod: a bio that does not fit in its device (a device of size 0
 * included) is not sent; handle_bad_sector says so, ratelimited.
 */
function bioCheckEod(bio: Bio): boolean {
  const maxsector = bio.bdev.sizeSectors();
  const nrSectors = bio.sectors;
  if (!nrSectors || bioInside(bio.sector, nrSectors, maxsector)) return true;
  const klog = bio.bdev.klog;
  if (klog?.ratelimit(RL_BAD_SECTOR)) {
    klog.printk('info', `${bio.comm}: attempt to access beyond end of device`);
    klog.printk('info', `${bio.bdev.diskName}: rw=${biOpf(bio)}, sector=${bio.sector}, nr_sectors = ${nrSectors} limit=${maxsector}`);
  }
  return false;
}

/** submit_bio_noacct: the block layer's checks, then the device's driver; a failed check ends the bio with EIO at once. */
export function submitBio(bio: Bio): void {
  if (!bioCheckEod(bio)) {
    bioEndio(bio, 'EIO');
    return;
  }
  bio.bdev.submitBio(bio);
}

/** Submit a bio and wait for it; resolves to its status. */
export function submitBioWait(bio: Bio): Promise<BlkStatus> {
  return new Promise((resolve) => {
    bio.endIo = (b) => resolve(b.status);
    submitBio(bio);
  });
}

/** A clone sharing the payload (bio_alloc_clone); data slices alias the parent's buffer. */
export function bioClone(bio: Bio, sector: number, offsetBytes: number, lengthBytes: number): Bio {
  const data = bio.data.length === 0 ? bio.data : bio.data.subarray(offsetBytes, offsetBytes + lengthBytes);
  const clone = new Bio(bio.op, bio.bdev, sector, data, null, bio.flags);
  clone.comm = bio.comm;
  return clone;
}
