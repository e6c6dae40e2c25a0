// dm-kcopyd (drivers/md/dm-kcopyd.c): copy one region of a device to up to
// eight others, in sub-jobs of 512 KiB, reporting read and write failures.

import { ReqOp } from './bio.js';
import { dmIo, type DmIoRegion } from './dm-io.js';

export const DM_KCOPYD_MAX_REGIONS = 8;
/** Keep going after an error and report it at the end. */
export const DM_KCOPYD_IGNORE_ERROR = 1 << 0;
/** dm_kcopyd_subjob_size_kb default: 512 KiB, in sectors. */
export const SUB_JOB_SIZE = 1024;

export type KcopydNotify = (readErr: number, writeErr: number) => void;

/** struct dm_kcopyd_client: one copy buffer, reused by every job of its owner. */
export class KcopydClient {
  /** Grown on first use to the largest sub-job seen (a small region never needs 512 KiB). */
  private buf = Buffer.alloc(0);

  /** dm_kcopyd_copy: runs in the background; fn is called once when the job ends. */
  copy(from: DmIoRegion, dests: readonly DmIoRegion[], flags: number, fn: KcopydNotify): void {
    void this.run(from, dests, flags).then(([r, w]) => fn(r, w));
  }

  private async run(from: DmIoRegion, dests: readonly DmIoRegion[], flags: number): Promise<[number, number]> {
    const ignore = (flags & DM_KCOPYD_IGNORE_ERROR) !== 0;
    let readErr = 0, writeErr = 0;
    for (let done = 0; done < from.count; done += SUB_JOB_SIZE) {
      const count = Math.min(SUB_JOB_SIZE, from.count - done);
      if (this.buf.length < count * 512) this.buf = Buffer.alloc(count * 512);
      const data = this.buf.subarray(0, count * 512);
      const r = await dmIo(ReqOp.READ, 0, [{ bdev: from.bdev, sector: from.sector + done, count }], data);
      if (r) {
        readErr = 1;
        if (!ignore) break;
      }
      const w = await dmIo(ReqOp.WRITE, 0, dests.map((d) => ({ bdev: d.bdev, sector: d.sector + done, count })), data);
      if (w) {
        writeErr |= w;
        if (!ignore) break;
      }
    }
    return [readErr, writeErr];
  }
}
