// dm-io (drivers/md/dm-io.c): one request to several device regions at once,
// completed with a bit set for every region that failed.

import { Bio, ReqOp, submitBio, REQ_PREFLUSH } from './bio.js';
import type { BlockDevice } from './block.js';

/** struct dm_io_region. count 0 with REQ_PREFLUSH is an empty flush. */
export interface DmIoRegion { bdev: BlockDevice; sector: number; count: number }

/**
 * dm_io: issue op to every region; data is the payload (shared by every
 * write, filled by a read; it must be count sectors long). notify gets the
 * error bits (bit i: region i failed); the promise resolves to them too.
 * parent: the bio this I/O is done for, if any.
 */
export function dmIo(op: ReqOp, flags: number, regions: readonly DmIoRegion[], data: Buffer | null,
  notify?: (errorBits: number) => void, parent?: Bio): Promise<number> {
  return new Promise((resolve) => {
    let pending = regions.length + 1;
    let errorBits = 0;
    const dec = () => {
      if (--pending > 0) return;
      notify?.(errorBits);
      resolve(errorBits);
    };
    regions.forEach((where, i) => {
      const empty = where.count === 0;
      const bioOp = empty && (flags & REQ_PREFLUSH) ? ReqOp.FLUSH : op;
      const payload = empty ? Buffer.alloc(0) : data!.subarray(0, where.count * 512);
      const bio = new Bio(bioOp, where.bdev, where.sector, payload, (b) => {
        if (b.status) errorBits |= 1 << i;
        dec();
      }, flags);
      // The bios done on behalf of a bio are as deep in the device stack as it is.
      if (parent) bio.depth = parent.depth;
      submitBio(bio);
    });
    dec();
  });
}
