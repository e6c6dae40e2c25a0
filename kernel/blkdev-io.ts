// I/O from user space on a block device, as `dd iflag/oflag=direct bs=N` does
// it: the device is opened, each block is one bio, in order, stopping at the
// first error.

import { Bio, ReqOp, submitBioWait, type BlkStatus } from './bio.js';
import { bdevReadOnly, type BlockDevice } from './block.js';
import type { Errno } from './errno.js';
import { flushBuffers, syncBlockdev } from './blkdev-pagecache.js';

export interface IoResult { bytes: number; error?: Errno }

/** The user process doing the I/O (current->comm): the io command does what dd does in the oracle's helpers. */
export const USER_COMM = 'dd';

/** The errno a user read or write returns for a failed bio (a requeue that reaches user space is an I/O error). */
export function userErrno(status: Exclude<BlkStatus, 0>): Errno {
  return status === 'DM_REQUEUE' ? 'EIO' : status;
}

/** A bio submitted by the user process. */
export function userBio(op: ReqOp, bdev: BlockDevice, sector: number, data: Buffer, flags = 0): Bio {
  const bio = new Bio(op, bdev, sector, data, null, flags);
  bio.comm = USER_COMM;
  return bio;
}

/** Write data at sector in blocks of bs bytes (a multiple of 512). */
export async function blkdevWrite(bdev: BlockDevice, sector: number, data: Buffer, bs: number): Promise<IoResult> {
  bdev.open();
  try {
    if (bdevReadOnly(bdev)) return { bytes: 0, error: 'EPERM' };
    // A direct write: the cache written back and dropped first (another opener may have left it dirty).
    await flushBuffers(bdev);
    let done = 0;
    while (done < data.length) {
      const len = Math.min(bs, data.length - done);
      const s = sector + done / 512;
      if (s + len / 512 > bdev.sizeSectors()) return { bytes: done, error: 'ENOSPC' };
      const status = await submitBioWait(userBio(ReqOp.WRITE, bdev, s, data.subarray(done, done + len)));
      if (status) return { bytes: done, error: userErrno(status) };
      done += len;
    }
    return { bytes: done };
  } finally {
    bdev.close();
  }
}

/** Read count sectors at sector in blocks of bs bytes; short at the end of the device. */
export async function blkdevRead(bdev: BlockDevice, sector: number, count: number, bs: number): Promise<IoResult & { data: Buffer }> {
  bdev.open();
  try {
    await syncBlockdev(bdev); // filemap_write_and_wait_range before a direct read
    const end = Math.min(sector + count, bdev.sizeSectors());
    const data = Buffer.alloc(Math.max(0, end - sector) * 512);
    let done = 0;
    while (done < data.length) {
      const len = Math.min(bs, data.length - done);
      const status = await submitBioWait(userBio(ReqOp.READ, bdev, sector + done / 512, data.subarray(done, done + len)));
      if (status) return { bytes: done, data: data.subarray(0, done), error: userErrno(status) };
      done += len;
    }
    return { bytes: done, data };
  } finally {
    bdev.close();
  }
}
