// struct mapped_device (dm.c): a device-mapper block device with its live and
// inactive tables, suspension, events, and the bio path that splits a bio at
// target boundaries and hands the pieces to each target's map function.

import { blkdevLastClose, syncBlockdev } from './blkdev-pagecache.js';
import { Bio, ReqOp, REQ_PREFLUSH, REQ_SYNC, bioEndio, bioInside, submitBio, type BlkStatus } from './bio.js';
import { DM_MAJOR, readaheadPages, stackingLimits, type BlockDevice, type QueueLimits } from './block.js';
import { DmEndio, DmMapio } from './dm-target.js';
import type { Errno } from './errno.js';
import type { DmTable, TableTarget } from './dm-table.js';
import type { Kernel } from './kernel.js';
import type { KernelLog } from './klog.js';
import type { Clock } from './clock.js';
import { DmStats } from './dm-stats.js';
import { WorkStruct, Workqueue } from './workqueue.js';

/** One bio from above, tracked until every piece sent to the targets completes (struct dm_io). */
interface DmIo { orig: Bio; pending: number; status: BlkStatus; flushAcct?: IoAcct }

/**
 * One io's accounting (dm_start_io_acct / dm_end_io_acct). It starts once a
 * target took a clone (DM_MAPIO_SUBMITTED or REMAPPED), at most once per io
 * (DM_IO_ACCOUNTED); a clone the target killed or requeued is never counted.
 * It ends when the io ends, if it started; a clone a target completed inside
 * its map function ends the io only after the map returned.
 */
class IoAcct {
  private started = false;
  private mapping = 0;
  private endPending = false;
  constructor(private readonly onStart: () => void, private readonly onEnd: () => void) {}
  /** Around a target's map call: an end seen inside it waits for the start. */
  beginMap(): void { this.mapping++; }
  endMap(taken: boolean): void {
    this.mapping--;
    if (taken && !this.started) { this.started = true; this.onStart(); }
    if (this.endPending && !this.mapping) { this.endPending = false; this.end(); }
  }
  end(): void {
    if (this.mapping) { this.endPending = true; return; }
    if (!this.started) return;
    this.started = false;
    this.onEnd();
  }
}

/**
 * The gendisk's part_stat as /sys/block/dm-N/stat shows it: ios and sectors
 * counted when an io starts (bdev_start_io_acct), in flight until it ends; a
 * read at index 0, a write at 1.
 */
export interface DiskStat { ios: [number, number]; sectors: [number, number]; inFlight: [number, number] }

/**
 * Mapped devices a bio may pass through. A table may name its own device, or a
 * device above it (6.1 checks neither); Linux then loops on the bio forever.
 * Here a bio that has gone this deep fails with EIO, so a cyclic table costs
 * an I/O error, not the kernel process (a stack overflow, or work without end).
 */
export const MAX_DM_DEPTH = 8;

/** bio_is_flush_with_data: REQ_PREFLUSH and a payload (the flush goes first, the data after it). */
function bioIsFlushWithData(bio: Bio): boolean {
  return (bio.flags & REQ_PREFLUSH) !== 0 && bio.size > 0;
}

export class MappedDevice implements BlockDevice {
  readonly major = DM_MAJOR;
  readonly diskName: string;
  /** dm_device_name() in kernel messages. */
  readonly kernelName: string;
  uuid = '';
  live: DmTable | null = null;
  /** The hash cell's new_map: loaded, not yet resumed. */
  inactive: DmTable | null = null;
  suspended = false;
  readOnly = false;
  bdReadOnly = false;
  deferredRemove = false;
  /** The gendisk exists once the first table was loaded (dm_setup_md_queue). */
  hasDisk = false;
  /** Set once the first table load fixed the device type (even if that load then failed). */
  hasDiskType = false;
  eventNr = 0;
  openCount = 0;
  /** The queue limits of the live table (dm_table_set_restrictions). */
  limits: QueueLimits = stackingLimits();
  /** md->geometry (DM_DEV_SET_GEOMETRY; HDIO_GETGEO), none until set. */
  geometry?: { cylinders: number; heads: number; sectors: number; start: bigint };
  /** bdi->ra_pages, what BLKRAGET reports (in pages). */
  raPages = readaheadPages(this.limits);
  /** md->stats: the @stats_* regions and their counters. */
  readonly stats: DmStats;
  /** The disk's own counters (/sys/block/dm-N/stat). */
  readonly diskStat: DiskStat = { ios: [0, 0], sectors: [0, 0], inFlight: [0, 0] };

  private blockIo = false;
  private noflushSuspending = false;
  private deferred: Bio[] = [];
  private inflight = 0;
  private drainWaiters: Array<() => void> = [];
  private eventWaiters: Array<() => void> = [];
  private tableDevices = new Map<BlockDevice, number>();
  /** Serialises suspend/resume/swap, as md->suspend_lock does. */
  private suspendLock: Promise<void> = Promise.resolve();
  /** md->wq and md->work (dm_wq_work): submits the deferred bios unless I/O is blocked for a suspend. */
  private readonly wq: Workqueue;
  private readonly work = new WorkStruct(() => this.wqWork());
  /** Destroyed: a bio reaching it now (a caller that kept it, a flush's payload) fails. */
  private freed = false;

  constructor(readonly kernel: Kernel, public name: string, readonly minor: number) {
    this.diskName = `dm-${minor}`;
    this.kernelName = `${DM_MAJOR}:${minor}`;
    this.stats = new DmStats(kernel.clock, (prefix) => kernel.klog.prefixed(prefix));
    this.wq = new Workqueue(kernel.clock, `kdmflush/${this.kernelName}`);
  }

  sizeSectors(): number { return this.live?.sizeSectors() ?? 0; }
  sizeSectorsExact(): bigint { return this.live?.size() ?? 0n; }

  get klog(): KernelLog { return this.kernel.klog; }
  get clock(): Clock { return this.kernel.clock; }

  open(): void { this.openCount++; }
  close(): void {
    this.openCount--;
    if (this.openCount === 0 && this.deferredRemove) this.kernel.dmIoctl.deferredRemove(this);
  }

  /** dm_get_table_device: a device opened once per mapped device, shared by its tables. */
  getTableDevice(bdev: BlockDevice): void {
    const n = this.tableDevices.get(bdev) ?? 0;
    if (n === 0) {
      bdev.open(); // FMODE_EXCL: dm claims the device
      bdev.bdHolders = (bdev.bdHolders ?? 0) + 1;
    }
    this.tableDevices.set(bdev, n + 1);
  }

  putTableDevice(bdev: BlockDevice): void {
    const n = this.tableDevices.get(bdev) ?? 0;
    if (n <= 1) {
      this.tableDevices.delete(bdev);
      if (n === 1) {
        bdev.bdHolders = (bdev.bdHolders ?? 1) - 1;
        bdev.close();
        // blkdev_put: the device's last close writes its page cache back.
        if (bdev.openCount === 0) void blkdevLastClose(bdev);
      }
    } else this.tableDevices.set(bdev, n - 1);
  }

  // ---- events ----------------------------------------------------------

  /** event_callback: a table event (target-raised, rename) bumps the counter and wakes waiters. */
  raiseEvent(): void {
    this.eventNr = (this.eventNr + 1) >>> 0;
    const w = this.eventWaiters;
    this.eventWaiters = [];
    for (const fn of w) fn();
  }

  /** Resolves when the event counter differs from eventNr (dm_wait_event). */
  waitEvent(eventNr: number): Promise<void> {
    if (this.eventNr !== eventNr) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => { if (this.eventNr !== eventNr) resolve(); else this.eventWaiters.push(check); };
      this.eventWaiters.push(check);
    });
  }

  // ---- the bio path ------------------------------------------------------

  submitBio(bio: Bio): void {
    // Freed (DMF_FREEING): no table will ever map it.
    if (this.freed || bio.depth >= MAX_DM_DEPTH) { bioEndio(bio, 'EIO'); return; }
    if (this.blockIo) { this.deferred.push(bio); return; }
    const map = this.live;
    if (!map) { bioEndio(bio, 'EIO'); return; }
    const io: DmIo = { orig: bio, pending: 1, status: 0 };
    this.inflight++;
    if (bio.op === ReqOp.FLUSH || bio.flags & REQ_PREFLUSH) {
      // dm_io_acct: the flush is a write io of no sectors (its payload is accounted when reissued).
      io.flushAcct = new IoAcct(() => this.acctStart(1, 0), () => { this.diskStat.inFlight[1]--; });
      // __send_empty_flush: every target gets its num_flush_bios empty flushes
      // (REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC); a payload is submitted once they
      // are done, without REQ_PREFLUSH (decPending), so no target sees a flush with data.
      for (const t of map.targets) {
        const n = t.ti.numFlushBios;
        for (let i = 0; i < n; i++) {
          const clone = new Bio(ReqOp.FLUSH, this, t.beginSector, Buffer.alloc(0), null, bio.flags | REQ_PREFLUSH | REQ_SYNC);
          clone.comm = bio.comm;
          this.mapClone(io, t, clone, i, io.flushAcct);
        }
      }
    } else {
      this.splitAndProcess(io, map);
    }
    this.decPending(io);
  }

  /** __split_and_process_bio: one clone per target and max_io_len piece. */
  private splitAndProcess(io: DmIo, map: DmTable): void {
    const bio = io.orig;
    let sector = bio.sector;
    let remaining = bio.sectors;
    let offset = 0;
    if (remaining === 0 || !bioInside(sector, remaining, map.sizeSectors(), map.size())) { io.status = 'EIO'; return; }
    while (remaining > 0) {
      const t = map.findTarget(sector);
      // Past 2^53 the bio path's numbers cannot tell every sector apart: one that falls between targets is EIO, never a throw.
      if (!t) { io.status = 'EIO'; break; }
      let len = Math.min(remaining, t.endSector - sector);
      const maxIo = t.ti.maxIoLen;
      if (maxIo) len = Math.min(len, maxIo - ((sector - t.beginSector) % maxIo));
      if (!(len > 0)) { io.status = 'EIO'; break; }
      const clone = new Bio(bio.op, this, sector, bio.data.subarray(offset, offset + len * 512), null, bio.flags);
      clone.comm = bio.comm; // submitted in the caller's context (current->bio_list)
      // Each piece is an io of its own, accounted from its start to its end (dm_io_acct):
      // the disk's counters, and the @stats regions if there are any.
      const rw = bio.isWrite() ? 1 : 0;
      const s0 = sector, n = len;
      let aux: ReturnType<DmStats['newAux']> | null = null;
      const acct = new IoAcct(() => {
        this.acctStart(rw, n);
        if (this.stats.used()) { aux = this.stats.newAux(); this.stats.accountIo(rw, s0, n, false, aux); }
      }, () => {
        this.diskStat.inFlight[rw]--;
        if (aux) this.stats.accountIo(rw, s0, n, true, aux);
      });
      this.mapClone(io, t, clone, 0, acct);
      sector += len;
      offset += len * 512;
      remaining -= len;
    }
  }

  /** bdev_start_io_acct: one more io of these sectors, in flight. */
  private acctStart(rw: 0 | 1, sectors: number): void {
    this.diskStat.ios[rw]++;
    this.diskStat.sectors[rw] += sectors;
    this.diskStat.inFlight[rw]++;
  }

  private mapClone(io: DmIo, t: TableTarget, clone: Bio, flushIndex: number, acct?: IoAcct): void {
    io.pending++;
    clone.depth = io.orig.depth + 1;
    clone.targetBioNr = flushIndex;
    // A split piece's accounting ends with its clone; a flush's with the whole io (decPending).
    const acctDone = acct && acct !== io.flushAcct ? () => acct.end() : undefined;
    clone.endIo = (c) => this.cloneEndio(io, t, c, acctDone);
    acct?.beginMap();
    const r = t.target.map(clone);
    acct?.endMap(r === DmMapio.REMAPPED || r === DmMapio.SUBMITTED);
    switch (r) {
      case DmMapio.REMAPPED: submitBio(clone); break;
      case DmMapio.SUBMITTED: break;
      // __map_bio: a killed or requeued clone is freed and the dm_io completed
      // with the error; the target's end_io never sees it, and the io is not accounted.
      case DmMapio.KILL: this.ioDone(io, 'EIO'); break;
      case DmMapio.REQUEUE: this.ioDone(io, 'DM_REQUEUE'); break;
    }
  }

  private cloneEndio(io: DmIo, t: TableTarget, clone: Bio, acctDone?: () => void): void {
    let status = clone.status;
    if (t.target.endIo) {
      const r = t.target.endIo(clone, status);
      if (r === DmEndio.INCOMPLETE) return; // the target will complete it again
      if (r === DmEndio.REQUEUE) status = 'DM_REQUEUE';
      else status = clone.status;
    }
    acctDone?.();
    this.ioDone(io, status);
  }

  /** dm_io_dec_pending: one clone of io is done with this status. */
  private ioDone(io: DmIo, status: BlkStatus): void {
    if (status && (!io.status || status === 'DM_REQUEUE')) io.status = status;
    this.decPending(io);
  }

  private decPending(io: DmIo): void {
    if (--io.pending > 0) return;
    let status = io.status;
    this.inflight--;
    io.flushAcct?.end();
    if (status === 'DM_REQUEUE') {
      if ((this.noflushSuspending || this.blockIo) && !this.freed) {
        // Pushed back to the core: reissued after resume, usually to a new table.
        io.orig.status = 0;
        this.deferred.push(io.orig);
        this.wakeDrain();
        return;
      }
      status = 'EIO';
    }
    this.wakeDrain();
    if (bioIsFlushWithData(io.orig)) {
      // __dm_io_complete: the preflush is done; reissue the payload without
      // REQ_PREFLUSH (6.1 does so whatever the flush's status).
      io.orig.flags &= ~REQ_PREFLUSH;
      this.queueIo(io.orig);
      return;
    }
    bioEndio(io.orig, status);
  }

  /** queue_io: add the bio to the deferred list and kick md->work. */
  private queueIo(bio: Bio): void {
    if (this.freed) { bioEndio(bio, 'EIO'); return; }
    this.deferred.push(bio);
    this.wq.queueWork(this.work);
  }

  /** dm_wq_work: submit the deferred bios while I/O is not blocked for a suspend. */
  private wqWork(): void {
    while (!this.blockIo && this.deferred.length) this.submitBio(this.deferred.shift()!);
  }

  private wakeDrain(): void {
    if (this.inflight !== 0) return;
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const fn of w) fn();
  }

  private waitForCompletion(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Whether a target's noflush suspend is under way (dm_noflush_suspending). */
  isNoflushSuspending(): boolean { return this.noflushSuspending; }

  // ---- suspend / resume / swap ------------------------------------------------

  /** Run fn under the suspend lock. */
  locked<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.suspendLock.then(fn);
    this.suspendLock = run.then(() => undefined, () => undefined);
    return run;
  }

  /** __dm_suspend: presuspend, block new I/O, wait for in-flight I/O, postsuspend. */
  async suspend(noflush: boolean, lockfs = true): Promise<void> {
    if (this.suspended) return;
    const map = this.live;
    this.noflushSuspending = noflush;
    try {
      await map?.presuspend();
      // lock_fs: freeze_bdev of a device with no file system on it syncs its page cache.
      if (!noflush && lockfs && this.hasDisk) await syncBlockdev(this);
      this.blockIo = true;
      await this.waitForCompletion();
      await map?.postsuspend();
      this.suspended = true;
    } finally {
      this.noflushSuspending = false;
    }
  }

  /** dm_swap_table: the inactive table becomes live (device must be suspended). */
  swapTable(table: DmTable): DmTable | null {
    if (this.hasDiskType) table.validateDeviceAreas();
    this.setRestrictions(table);
    const old = this.live;
    if (old) old.eventFn = null;
    this.live = table;
    table.eventFn = () => this.raiseEvent();
    return old;
  }


  /** dm_table_set_restrictions: the table's queue limits become the device's, and its read-ahead follows io_opt. */
  setRestrictions(table: DmTable): void {
    this.limits = table.calculateQueueLimits();
    this.raPages = readaheadPages(this.limits);
  }

  /** dm_resume: resume every target, then let the deferred I/O go. */
  async resume(): Promise<Errno | 0> {
    if (!this.suspended) return 0;
    const map = this.live;
    if (!map || !map.size()) return 'EINVAL';
    const r = await map.resume();
    if (r) return r;
    this.suspended = false;
    this.blockIo = false;
    for (const bio of this.deferred.splice(0)) this.submitBio(bio);
    return 0;
  }

  /** __dm_destroy: a live device is presuspended and postsuspended before its table goes. */
  async destroy(): Promise<void> {
    const map = this.live;
    if (map && !this.suspended) {
      await map.presuspend();
      this.blockIo = true;
      // Linux removes only a device nobody holds open, so no bio is in flight by
      // now; a library caller may have submitted some without opening: they end
      // before the table goes, as a suspend waits for them.
      await this.waitForCompletion();
      await map.postsuspend();
      this.suspended = true;
    }
    this.freed = true;
    for (const bio of this.deferred.splice(0)) bioEndio(bio, 'EIO');
    this.inactive?.destroy();
    this.inactive = null;
    map?.destroy();
    this.live = null;
  }
}

