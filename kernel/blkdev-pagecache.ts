// Buffered I/O on a block device through its page cache, as the oracle's
// busybox dd really does it: the conformance helpers ask for O_DIRECT
// (dm_write / dm_read: bs=512, oflag/iflag=direct), but busybox's 512-byte
// buffer comes from malloc and is not 512-aligned, the kernel refuses the
// O_DIRECT transfer with EINVAL (dma_alignment 511), and busybox clears
// O_DIRECT and does it again through the page cache. So on the oracle:
//
// write (fs/buffer.c, block_write_begin): each write(2) into a page not yet in
//   the cache first reads every block it only partly covers (one READ bio per
//   block, waited for); if that read fails, write(2) fails with EIO. Data is
//   copied into the cache; nothing is written yet. On the last close
//   (blkdev_put -> sync_blockdev) every dirty block goes down as one
//   WRITE|SYNC bio, all submitted, then waited for; a failure is only logged
//   ("Buffer I/O error on dev dm-0, logical block 0, lost async page write")
//   and dd has already exited 0. The cache is then dropped (kill_bdev).
// read (mm/filemap.c, mm/readahead.c): a miss triggers readahead: at page 0
//   (or right after the previous page) the initial window is 4 pages, one
//   READ|RAHEAD bio (mpage_readahead); a lone page elsewhere is read alone;
//   hitting the PG_readahead mark reads the next window (8, 16, then 32
//   pages). A page still not up to date is read block by block without
//   RAHEAD (block_read_full_folio); if that fails the kernel logs "Buffer I/O
//   error on dev dm-0, logical block N, async page read" and read(2) fails.
//
// The block size is set_init_blocksize's: the largest power of two up to the
// page size that divides the device size (4096 for the usual devices).
//
// The cache is the device's (bd_inode's mapping), shared by every open file
// on it, and lives until the device's last close (blkdev_put: sync_blockdev,
// then kill_bdev). A close that is not the last (another table holds the
// device, say) leaves the dirty pages in it: they reach the device when
// something writes them back (BLKFLSBUF, sync, a suspend's lock_fs, the
// holder's close) or when the flusher finds them older than
// dirty_expire_centisecs.

import { ReqOp, REQ_RAHEAD, REQ_SYNC, submitBioWait, type BlkStatus } from './bio.js';
import { bdevReadOnly, type BlockDevice } from './block.js';
import type { Errno } from './errno.js';
import type { KernelLog } from './klog.js';
import type { Timer } from './clock.js';
import { userBio, type IoResult } from './blkdev-io.js';

const PAGE_SIZE = 4096;
/** VM_READAHEAD_PAGES: 128 KiB. */
const RA_PAGES = 32;
/** dirty_expire_centisecs (30 s): dirty data older than this is the flusher's. */
const DIRTY_EXPIRE_MS = 30_000;
/** dirty_writeback_centisecs (5 s): how often the flusher looks. */
const DIRTY_WRITEBACK_MS = 5_000;
/** Pages a device held open by others keeps cached past a close (64 MiB) before its clean ones are dropped. */
const CACHE_PAGES_MAX = 16384;


interface Page {
  data: Buffer;
  /** Per block: holds the device's (or newer) data. */
  uptodate: boolean[];
  dirty: boolean[];
  /** PG_readahead: reading this page starts the next readahead window. */
  readahead: boolean;
}

/** set_init_blocksize. */
function blockSize(bytes: number): number {
  let bsize = 512;
  while (bsize < PAGE_SIZE) {
    if (Math.floor(bytes / bsize) % 2) break;
    bsize *= 2;
  }
  return bsize;
}

const toErrno = (s: BlkStatus): Errno => (s === 'DM_REQUEUE' || s === 0 ? 'EIO' : s);

/** bd_inode->i_mapping: a block device's cached pages, from its first open to its last close. */
interface Mapping {
  readonly pages: Map<number, Page>;
  readonly bsize: number;
  /** The flusher's next look at this device's dirty pages. */
  flusher?: Timer;
}

/** The page cache of every block device that has one. */
const mappings = new Map<BlockDevice, Mapping>();

/** One open file on a block device: the device's page cache and the file's readahead state. */
export class BdevFile {
  readonly size: number;
  readonly bsize: number;
  private readonly mapping: Mapping;
  /** file_ra_state. */
  private ra = { start: 0, size: 0, asyncSize: 0, prevPos: -1 };

  constructor(readonly bdev: BlockDevice, private readonly klog: KernelLog) {
    this.size = bdev.sizeSectors() * 512;
    let mapping = mappings.get(bdev);
    if (!mapping) {
      mapping = { pages: new Map(), bsize: blockSize(this.size) };
      mappings.set(bdev, mapping);
    }
    this.mapping = mapping;
    this.bsize = mapping.bsize;
  }

  private get pages(): Map<number, Page> { return this.mapping.pages; }

  private get blocksPerPage(): number { return PAGE_SIZE / this.bsize; }
  private get lastPage(): number { return Math.ceil(this.size / PAGE_SIZE) - 1; }

  private page(index: number): Page {
    let p = this.pages.get(index);
    if (!p) {
      const n = this.blocksPerPage;
      p = { data: Buffer.alloc(PAGE_SIZE), uptodate: new Array(n).fill(false), dirty: new Array(n).fill(false), readahead: false };
      this.pages.set(index, p);
    }
    return p;
  }

  private blockSector(index: number, b: number): number {
    return (index * PAGE_SIZE + b * this.bsize) / 512;
  }

  private bufferIoError(index: number, b: number, what: string): void {
    bufferIoError(this.klog, this.bdev, this.bsize, index, b, what);
  }

  // ---- write(2) ------------------------------------------------------------

  /** One write(2) of buf at pos: bytes copied, or an errno if none were. */
  async write(pos: number, buf: Buffer): Promise<number | Errno> {
    if (bdevReadOnly(this.bdev)) return 'EPERM';
    if (pos >= this.size) return 'ENOSPC';
    const len = Math.min(buf.length, this.size - pos);
    let done = 0;
    while (done < len) {
      const at = pos + done;
      const index = Math.floor(at / PAGE_SIZE);
      const from = at % PAGE_SIZE;
      const to = Math.min(PAGE_SIZE, from + (len - done));
      const err = await this.writeBegin(index, from, to);
      if (err) return done ? done : err;
      // copy, then block_write_end: the blocks written are up to date and dirty
      const p = this.page(index);
      buf.copy(p.data, from, done, done + (to - from));
      for (let b = 0; b < this.blocksPerPage; b++) {
        const bs = b * this.bsize, be = bs + this.bsize;
        if (be <= from || bs >= to) continue;
        p.uptodate[b] = true;
        p.dirty[b] = true;
      }
      done += to - from;
    }
    return done;
  }

  /** __block_write_begin_int: read the blocks [from, to) only partly covers. */
  private async writeBegin(index: number, from: number, to: number): Promise<Errno | undefined> {
    const p = this.page(index);
    const reads: Promise<[number, BlkStatus]>[] = [];
    for (let b = 0; b < this.blocksPerPage; b++) {
      const bs = b * this.bsize, be = bs + this.bsize;
      if (be <= from || bs >= to) continue;
      if (!p.uptodate[b] && (bs < from || be > to)) {
        const data = p.data.subarray(bs, be);
        reads.push(submitBioWait(userBio(ReqOp.READ, this.bdev, this.blockSector(index, b), data)).then((s) => [b, s]));
      }
    }
    let err: Errno | undefined;
    for (const [b, s] of await Promise.all(reads)) {
      if (s) err = toErrno(s);
      else p.uptodate[b] = true;
    }
    return err;
  }

  // ---- close ---------------------------------------------------------------

  /** Write back every dirty block of the device (see syncBlockdev); true if any failed. */
  writeback(): Promise<boolean> { return syncBlockdev(this.bdev); }

  /**
   * blkdev_close: the device's last close writes the cache back, waits, logs
   * failures and drops it; any other leaves it, dirty pages and all, to the
   * flusher (or whatever writes the device back first).
   */
  async close(): Promise<void> {
    if (this.bdev.openCount <= 1) {
      await blkdevLastClose(this.bdev);
      return;
    }
    const m = this.mapping;
    // Memory pressure, roughly: a cache past its bound gives up its clean pages (reclaim).
    if (m.pages.size > CACHE_PAGES_MAX) for (const [index, p] of m.pages) if (!p.dirty.includes(true)) m.pages.delete(index);
    const clock = this.bdev.clock;
    if (!clock || m.flusher || ![...m.pages.values()].some((p) => p.dirty.includes(true))) return;
    // wb_workfn every dirty_writeback_centisecs: the first look after the pages have expired.
    const due = Math.ceil((clock.nowMs() + DIRTY_EXPIRE_MS) / DIRTY_WRITEBACK_MS) * DIRTY_WRITEBACK_MS - clock.nowMs();
    m.flusher = clock.setTimer(due, () => {
      m.flusher = undefined;
      if (mappings.get(this.bdev) === m) void syncBlockdev(this.bdev);
    });
  }

  // ---- read(2) -------------------------------------------------------------

  /** One read(2) of len bytes at pos: the bytes (short at the end), or an errno. */
  async read(pos: number, len: number): Promise<Buffer | Errno> {
    if (pos >= this.size) return Buffer.alloc(0);
    len = Math.min(len, this.size - pos);
    const out = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const at = pos + done;
      const index = Math.floor(at / PAGE_SIZE);
      const lastIndex = Math.ceil((pos + len) / PAGE_SIZE);
      // filemap_get_pages
      if (!this.pages.has(index)) await this.syncReadahead(index, lastIndex - index);
      const p = this.page(index);
      if (p.readahead) await this.asyncReadahead(index, lastIndex - index);
      if (!p.uptodate.every(Boolean)) {
        const err = await this.readFolio(index);
        if (err) return done ? out.subarray(0, done) : err;
      }
      const off = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, len - done);
      p.data.copy(out, done, off, off + n);
      done += n;
      this.ra.prevPos = at + n - 1;
    }
    return out;
  }

  /** block_read_full_folio: each block not up to date, one bio each (no RAHEAD). */
  private async readFolio(index: number): Promise<Errno | undefined> {
    const p = this.page(index);
    const reads: Promise<[number, BlkStatus]>[] = [];
    for (let b = 0; b < this.blocksPerPage; b++) {
      if (p.uptodate[b]) continue;
      if (index * PAGE_SIZE + b * this.bsize >= this.size) { p.uptodate[b] = true; continue; } // past the end: zeroes
      const data = p.data.subarray(b * this.bsize, (b + 1) * this.bsize);
      reads.push(submitBioWait(userBio(ReqOp.READ, this.bdev, this.blockSector(index, b), data)).then((s) => [b, s]));
    }
    let err: Errno | undefined;
    for (const [b, s] of await Promise.all(reads)) {
      if (s) {
        err = toErrno(s);
        this.bufferIoError(index, b, 'async page read');
      } else p.uptodate[b] = true;
    }
    return err;
  }

  /** get_init_ra_size. */
  private static initRaSize(size: number, max: number): number {
    let n = 1;
    while (n < size) n *= 2; // roundup_pow_of_two
    if (n <= max / 32) n *= 4;
    else if (n <= max / 4) n *= 2;
    else n = max;
    return n;
  }

  /** get_next_ra_size. */
  private static nextRaSize(cur: number, max: number): number {
    if (cur < max / 16) return 4 * cur;
    if (cur <= max / 2) return 2 * cur;
    return max;
  }

  /** page_cache_sync_ra -> ondemand_readahead on a miss. */
  private async syncReadahead(index: number, reqSize: number): Promise<void> {
    const ra = this.ra;
    const max = Math.max(RA_PAGES, reqSize);
    const prevIndex = ra.prevPos < 0 ? -2 : Math.floor(ra.prevPos / PAGE_SIZE);
    if (index === 0 || index - prevIndex <= 1) {
      // initial_readahead
      ra.start = index;
      ra.size = BdevFile.initRaSize(reqSize, max);
      ra.asyncSize = ra.size > reqSize ? ra.size - reqSize : ra.size;
      await this.readWindow(ra.start, ra.size, ra.asyncSize);
      return;
    }
    // A standalone, small random read: read as is, leave the state alone.
    await this.readWindow(index, reqSize, 0);
  }

  /** page_cache_async_ra: the readahead mark was hit; read the next window. */
  private async asyncReadahead(index: number, _reqSize: number): Promise<void> {
    const p = this.page(index);
    p.readahead = false;
    const ra = this.ra;
    if (index !== ra.start + ra.size - ra.asyncSize) return;
    ra.start += ra.size;
    ra.size = BdevFile.nextRaSize(ra.size, RA_PAGES);
    ra.asyncSize = ra.size;
    await this.readWindow(ra.start, ra.size, ra.asyncSize);
  }

  /**
   * page_cache_ra_unbounded + mpage_readahead: the missing pages of the window
   * (up to the end of the device), each run of consecutive ones one RAHEAD bio;
   * the page `lookahead` before the end gets PG_readahead.
   */
  private async readWindow(start: number, nr: number, lookahead: number): Promise<void> {
    const end = Math.min(start + nr, this.lastPage + 1);
    const mark = start + nr - lookahead;
    const runs: Array<[number, number]> = [];
    for (let i = start; i < end; i++) {
      if (this.pages.has(i)) continue;
      const p = this.page(i);
      if (lookahead && i === mark) p.readahead = true;
      const last = runs[runs.length - 1];
      if (last && last[0] + last[1] === i) last[1]++;
      else runs.push([i, 1]);
    }
    await Promise.all(runs.map(async ([first, n]) => {
      // The device's last page may hold less than a page of blocks.
      const bytes = Math.min(n * PAGE_SIZE, this.size - first * PAGE_SIZE);
      const data = Buffer.alloc(bytes);
      const s = await submitBioWait(userBio(ReqOp.READ, this.bdev, (first * PAGE_SIZE) / 512, data, REQ_RAHEAD));
      if (s) return; // mpage_end_io: the pages stay not up to date
      for (let k = 0; k < n; k++) {
        const p = this.page(first + k);
        data.copy(p.data, 0, k * PAGE_SIZE, Math.min(bytes, (k + 1) * PAGE_SIZE));
        p.uptodate.fill(true);
      }
    }));
  }
}

function bufferIoError(klog: KernelLog | undefined, bdev: BlockDevice, bsize: number, index: number, b: number, what: string): void {
  const block = (index * PAGE_SIZE) / bsize + b;
  klog?.printk('err', `Buffer I/O error on dev ${bdev.diskName}, logical block ${block}, ${what}`);
}

/**
 * sync_blockdev: write back every dirty block of the device's cache (one
 * WRITE|SYNC bio each, all submitted, then waited for), logging each
 * failure; true if any failed. Nothing to do for a device with no cache.
 */
export async function syncBlockdev(bdev: BlockDevice): Promise<boolean> {
  const m = mappings.get(bdev);
  if (!m) return false;
  const writes: Promise<boolean>[] = [];
  for (const index of [...m.pages.keys()].sort((a, b) => a - b)) {
    const p = m.pages.get(index)!;
    for (let b = 0; b < p.dirty.length; b++) {
      if (!p.dirty[b]) continue;
      p.dirty[b] = false;
      const data = p.data.subarray(b * m.bsize, (b + 1) * m.bsize);
      const bio = userBio(ReqOp.WRITE, bdev, (index * PAGE_SIZE + b * m.bsize) / 512, data, REQ_SYNC);
      writes.push(submitBioWait(bio).then((s) => {
        if (s) bufferIoError(bdev.klog, bdev, m.bsize, index, b, 'lost async page write');
        return s !== 0;
      }));
    }
  }
  return (await Promise.all(writes)).some(Boolean);
}

/** The device's last close (blkdev_put): sync_blockdev, then kill_bdev drops the cache. */
export async function blkdevLastClose(bdev: BlockDevice): Promise<void> {
  const m = mappings.get(bdev);
  if (!m) return;
  try {
    await syncBlockdev(bdev);
  } finally {
    m.flusher?.cancel();
    if (mappings.get(bdev) === m) mappings.delete(bdev);
  }
}

/** invalidate_bdev after a sync (BLKFLSBUF): the clean pages go; the dirty ones were just written. */
export async function flushBuffers(bdev: BlockDevice): Promise<void> {
  await syncBlockdev(bdev);
  const m = mappings.get(bdev);
  if (!m) return;
  for (const [index, p] of m.pages) if (!p.dirty.includes(true)) m.pages.delete(index);
}

/** sync(2): every block device's dirty pages written back. */
export async function syncAll(): Promise<void> {
  await Promise.all([...mappings.keys()].map((bdev) => syncBlockdev(bdev)));
}

/**
 * `dd of=DEV bs=BS seek=SECTOR` of data as the oracle's busybox runs it:
 * write(2) calls of bs bytes through the page cache, stopping at the first
 * failure, then the last close writes back (failures there are only logged).
 */
export async function bufferedWrite(klog: KernelLog, bdev: BlockDevice, sector: number, data: Buffer, bs = 512): Promise<IoResult> {
  bdev.open();
  const f = new BdevFile(bdev, klog);
  let done = 0;
  try {
    while (done < data.length) {
      const n = Math.min(bs, data.length - done);
      const r = await f.write(sector * 512 + done, data.subarray(done, done + n));
      if (typeof r === 'string') return { bytes: done, error: r };
      done += r;
      if (r < n) return { bytes: done, error: 'ENOSPC' };
    }
    return { bytes: done };
  } finally {
    await f.close();
    bdev.close();
  }
}

/** `dd if=DEV bs=BS skip=SECTOR count=...` through the page cache: short at the end of the device. */
export async function bufferedRead(klog: KernelLog, bdev: BlockDevice, sector: number, count: number, bs = 512): Promise<IoResult & { data: Buffer }> {
  bdev.open();
  const f = new BdevFile(bdev, klog);
  const chunks: Buffer[] = [];
  let done = 0;
  try {
    while (done < count * 512) {
      const r = await f.read(sector * 512 + done, Math.min(bs, count * 512 - done));
      if (typeof r === 'string') return { bytes: done, data: Buffer.concat(chunks), error: r };
      if (r.length === 0) break;
      chunks.push(r);
      done += r.length;
    }
    return { bytes: done, data: Buffer.concat(chunks) };
  } finally {
    await f.close();
    bdev.close();
  }
}
