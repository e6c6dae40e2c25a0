// dm-kcopyd (drivers/md/dm-kcopyd.c, 6.1): copy one region of a device to up
// to eight others. A job no larger than the sub-job size is one read and one
// write; a larger one is split (split_job): SPLIT_COUNT sub-jobs start at
// once, each reads its chunk of the sub-job size and then writes it to every
// destination, and each one finishing takes the next chunk (segment_complete)
// until the job is done or, without DM_KCOPYD_IGNORE_ERROR, an error stops new
// chunks (the ones in flight still finish). Errors: read_err is 0/1, write_err
// has bit i for destination i; the caller's fn gets both once, at the end.
//
// Speed: a chunk is one bio per device (no per-page work), and the chunk
// buffers are allocated once per client at the largest size used and reused.

import { ReqOp } from './bio.js';
import { dmIo, type DmIoRegion } from './dm-io.js';

export const DM_KCOPYD_MAX_REGIONS = 8;
/** Keep going after an error and report it at the end. */
export const DM_KCOPYD_IGNORE_ERROR = 1 << 0;
/** DEFAULT_SUB_JOB_SIZE_KB (512 KiB; the dm_mod parameter kcopyd_subjob_size_kb), in sectors. */
export const SUB_JOB_SIZE = 1024;
/** How many sub-jobs a split job runs at once. */
export const SPLIT_COUNT = 8;

export type KcopydNotify = (readErr: number, writeErr: number) => void;

/** struct kcopyd_job: the master job's progress and errors. */
interface KcopydJob {
  from: DmIoRegion;
  dests: readonly DmIoRegion[];
  ignoreError: boolean;
  readErr: number;
  writeErr: number;
  /** Sectors handed out to sub-jobs so far. */
  progress: number;
  /** Split into sub-jobs (larger than the sub-job size), and how many of them still run. */
  split: boolean;
  subJobs: number;
  fn: KcopydNotify;
}

/** struct dm_kcopyd_client: the chunk buffers of one owner (a mirror set), reused by its jobs. */
export class KcopydClient {
  private free: Buffer[] = [];

  constructor(readonly subJobSize = SUB_JOB_SIZE) {}

  /** dm_kcopyd_copy: runs in the background; fn is called once when the job ends. */
  copy(from: DmIoRegion, dests: readonly DmIoRegion[], flags: number, fn: KcopydNotify): void {
    const job: KcopydJob = {
      from, dests, ignoreError: (flags & DM_KCOPYD_IGNORE_ERROR) !== 0,
      readErr: 0, writeErr: 0, progress: 0, split: false, subJobs: 0, fn,
    };
    if (from.count <= this.subJobSize) {
      // dispatch_job: one read, then one write.
      job.progress = from.count;
      void this.runChunk(job, 0, from.count);
      return;
    }
    // split_job: SPLIT_COUNT sub-jobs, each starting with segment_complete(0, 0).
    job.split = true;
    job.subJobs = SPLIT_COUNT;
    for (let i = 0; i < SPLIT_COUNT; i++) this.segmentComplete(job);
  }

  /** segment_complete: take the next chunk, or finish the sub-job (and the job with the last one). */
  private segmentComplete(job: KcopydJob): void {
    let count = 0;
    const progress = job.progress;
    if ((!job.readErr && !job.writeErr) || job.ignoreError) {
      count = Math.min(job.from.count - progress, this.subJobSize);
      job.progress += count;
    }
    if (count) {
      void this.runChunk(job, progress, count);
      return;
    }
    if (--job.subJobs === 0) job.fn(job.readErr, job.writeErr);
  }

  /** One sub-job: read the chunk, then write it to every destination (run_io_job, complete_io). */
  private async runChunk(job: KcopydJob, offset: number, count: number): Promise<void> {
    const buf = this.getBuffer(count);
    try {
      const data = buf.subarray(0, count * 512);
      // kcopyd_get_pages takes fresh pages (alloc_pl; the reserve only when that
      // fails), zeroed by Debian's init_on_alloc: where a read fails, what is
      // written under DM_KCOPYD_IGNORE_ERROR is zeros. Without the flag such a
      // chunk is never written, so the reused buffer needs no clearing.
      if (job.ignoreError) data.fill(0);
      const r = await dmIo(ReqOp.READ, 0, [{ bdev: job.from.bdev, sector: job.from.sector + offset, count }], data);
      let readErr = 0, writeErr = 0;
      if (r) readErr = 1;
      if (!r || job.ignoreError) {
        writeErr = await dmIo(ReqOp.WRITE, 0, job.dests.map((d) => ({ bdev: d.bdev, sector: d.sector + offset, count })), data);
      }
      if (readErr) job.readErr = 1;
      job.writeErr |= writeErr;
    } finally {
      this.free.push(buf);
    }
    if (job.split) this.segmentComplete(job);
    else job.fn(job.readErr, job.writeErr);
  }

  /** A chunk buffer of at least count sectors (kcopyd's page pool, without the pages). */
  private getBuffer(count: number): Buffer {
    const bytes = count * 512;
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i]!;
      if (b.length >= bytes) { this.free.splice(i, 1); return b; }
    }
    return Buffer.alloc(bytes);
  }
}
