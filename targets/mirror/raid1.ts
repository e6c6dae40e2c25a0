// dm-raid1 (mirror target v1.14.0): a mirror set of 2 to 9 legs over a dirty
// region log. Writes go to every leg of an in-sync region and to the default
// leg only otherwise; kmirrord recovers out-of-sync regions one at a time by
// copying them from the default leg to the others; failures are tracked per leg.

import { Bio, ReqOp, REQ_FUA, REQ_PREFLUSH, REQ_RAHEAD, REQ_SYNC, bioEndio, submitBio, type BlkStatus } from '../../kernel/bio.js';
import { dmIo, type DmIoRegion } from '../../kernel/dm-io.js';
import { DM_KCOPYD_IGNORE_ERROR, DM_KCOPYD_MAX_REGIONS, KcopydClient } from '../../kernel/dm-kcopyd.js';
import { CtrError, DmEndio, DmMapio, targetOffset, type DmDev, type DmTarget, type IterateDevicesFn, type StatusType, type Target, type TargetType } from '../../kernel/dm-target.js';
import { sscanfU32, sscanfU64 } from '../../tables/args.js';
import { KernelError } from '../../kernel/errno.js';
import type { Timer } from '../../kernel/clock.js';
import { RatelimitSite, type DmLogger } from '../../kernel/klog.js';
import { scheduleWork, flushWork, WorkStruct, Workqueue } from '../../kernel/workqueue.js';
import { dmDirtyLogCreate, EWOULDBLOCK, type DirtyLog } from './dirty-log.js';
import { mirrorHooks, type MirrorHooks } from './patches.js';
import { DM_RH_CLEAN, DM_RH_DIRTY, DM_RH_NOSYNC, DM_RH_RECOVERING, RegionHash, RegionHashNoMem, isFlushOrDiscard, type Region } from './region-hash.js';

/** Maximum number of regions recovered in parallel. */
const MAX_RECOVERY = 1;
const MAX_NR_MIRRORS = DM_KCOPYD_MAX_REGIONS + 1;

const DM_RAID1_HANDLE_ERRORS = 0x01;
const DM_RAID1_KEEP_LOG = 0x02;

export enum DmRaid1Error { WRITE_ERROR = 0, FLUSH_ERROR = 1, SYNC_ERROR = 2, READ_ERROR = 3 }

// The DMERR_LIMIT/DMWARN_LIMIT call sites of dm-raid1.c, each with its own rate limit.
const RL_RECOVERY_READ = new RatelimitSite('recovery_complete');
const RL_RECOVERY_WRITE = new RatelimitSite('recovery_complete');
const RL_READ_RETRY = new RatelimitSite('read_callback');
const RL_READ_FAIL = new RatelimitSite('read_callback');
const RL_END_IO = new RatelimitSite('mirror_end_io');

/** struct mirror: one leg. */
interface Mirror {
  errorCount: number;
  errorType: number;
  dev: DmDev;
  /** sector_t, exact; offsetSector is the same as a number, for the bio path. */
  offset: bigint;
  offsetSector: number;
}

/** struct dm_raid1_bio_record: per-bio data. */
interface BioRecord {
  m: Mirror | null;
  /** dm_bio_details: where the read was first sent; null when not saved. */
  details: { bdev: Bio['bdev']; sector: number } | null;
  writeRegion: number;
}

/** Sleep until fn() is true, re-checking whenever poke() is called. */
class WaitQueue {
  private waiters: Array<() => void> = [];
  wait(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => { if (cond()) resolve(); else this.waiters.push(check); };
      this.waiters.push(check);
    });
  }
  wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

/** struct mirror_set. */
export class MirrorSet implements Target {
  features = 0;
  private reads: Bio[] = [];
  private writes: Bio[] = [];
  private failures: Bio[] = [];
  /** Bios waiting until suspend. */
  private holds: Bio[] = [];
  readonly rh: RegionHash;
  private readonly kcopyd = new KcopydClient();
  readonly nrRegions: number;
  inSync = 0;
  logFailure = 0;
  legFailure = 0;
  private suspend = 0;
  defaultMirror = 0;
  readonly mirror: Mirror[] = [];
  private readonly records = new WeakMap<Bio, BioRecord>();
  private readonly log: DmLogger;
  /** kmirrord_wq and kmirrord_work (do_mirror). */
  private readonly kmirrordWq: Workqueue;
  private readonly kmirrordWork = new WorkStruct(() => this.doMirror());
  /** trigger_event: dm_table_event from the system workqueue. */
  private readonly triggerEventWork = new WorkStruct(() => this.ti.event());
  private timer: Timer | null = null;
  private timerPending = false;
  private readonly recoveryStopped = new WaitQueue();
  private dead = false;
  /** The sites the kernel's patches under test change (patches.ts). */
  private readonly hooks: MirrorHooks;

  constructor(readonly ti: DmTarget, readonly nrMirrors: number, regionSize: number, dl: DirtyLog) {
    // dm_sector_div_up(ti->len, region_size)
    this.nrRegions = Number((ti.len + BigInt(regionSize) - 1n) / BigInt(regionSize));
    this.log = ti.logger('raid1');
    this.hooks = mirrorHooks(ti.kernel);
    this.kmirrordWq = new Workqueue(ti.kernel.clock, 'kmirrord');
    try {
      this.rh = new RegionHash({
        dispatchBios: (bios) => { for (const b of bios) this.queueBio(b, ReqOp.WRITE); },
        wakeupWorkers: () => this.wakeupMirrord(),
        wakeupAllRecoveryWaiters: () => this.recoveryStopped.wakeAll(),
      }, ti.beginSector, MAX_RECOVERY, dl, regionSize, this.nrRegions, ti.kernel);
    } catch (e) {
      // alloc_context: the mirror ctr then fails with -ENOMEM.
      if (e instanceof RegionHashNoMem) throw new CtrError('Error creating dirty region hash', 'ENOMEM');
      throw e;
    }
  }

  get dirtyLog(): DirtyLog { return this.rh.log; }
  private errorsHandled(): boolean { return (this.features & DM_RAID1_HANDLE_ERRORS) !== 0; }
  private keepLog(): boolean { return (this.features & DM_RAID1_KEEP_LOG) !== 0; }

  // ---- kmirrord ---------------------------------------------------------------

  /** wakeup_mirrord: queue_work(kmirrord_wq, &kmirrord_work); a no-op while it is pending. */
  wakeupMirrord(): void {
    if (this.dead) return;
    this.kmirrordWq.queueWork(this.kmirrordWork);
  }

  /** delayed_wake: wake kmirrord in 200 ms (HZ/5). */
  private delayedWake(): void {
    if (this.timerPending) return;
    this.timerPending = true;
    this.timer = this.ti.kernel.clock.setTimer(200, () => {
      this.timerPending = false;
      this.wakeupMirrord();
    });
  }

  private queueBio(bio: Bio, rw: ReqOp.READ | ReqOp.WRITE): void {
    const bl = rw === ReqOp.WRITE ? this.writes : this.reads;
    const shouldWake = bl.length === 0;
    bl.push(bio);
    if (shouldWake) this.wakeupMirrord();
  }

  /** do_mirror: one pass of the worker. */
  private async doMirror(): Promise<void> {
    if (this.dead) return;
    const reads = this.reads.splice(0);
    const writes = this.writes.splice(0);
    const failures = this.failures.splice(0);
    await this.rh.updateStates(this.errorsHandled());
    await this.doRecovery();
    await this.doReads(reads);
    await this.doWrites(writes);
    await this.doFailures(failures);
  }

  // ---- failures ---------------------------------------------------------------

  private getDefaultMirror(): Mirror { return this.mirror[this.defaultMirror]!; }

  private getValidMirror(): Mirror | null {
    for (const m of this.mirror) if (!m.errorCount) return m;
    return null;
  }


  /** fail_mirror: record an error of this type on a leg; with handle_errors, signal and maybe switch the default. */
  failMirror(m: Mirror, errorType: DmRaid1Error): void {
    this.legFailure = 1;
    m.errorCount++;
    const bit = 1 << errorType;
    if (m.errorType & bit) return;
    m.errorType |= bit;
    if (!this.errorsHandled()) return;
    if (m === this.getDefaultMirror()) {
      if (!this.hooks.failMirrorInSync(this) && !this.keepLog()) {
        // Better to issue requests to the same failing device than to risk returning corrupt data.
        this.log.err(`Primary mirror (${m.dev.name}) failed while out-of-sync: Reads may fail.`);
      } else {
        const n = this.getValidMirror();
        if (n) this.defaultMirror = this.mirror.indexOf(n);
        else this.log.warn('All sides of mirror have failed.');
      }
    }
    // schedule_work: once pending, failing more legs adds no event.
    scheduleWork(this.ti.kernel.clock, this.triggerEventWork);
  }

  /** mirror_flush: an empty flush to every leg; the disk log's flush callback. */
  private async mirrorFlush(): Promise<number> {
    const io = this.mirror.map((m): DmIoRegion => ({ bdev: m.dev.bdev, sector: 0, count: 0 }));
    const errorBits = await dmIo(ReqOp.WRITE, REQ_PREFLUSH | REQ_SYNC, io, null);
    if (errorBits) {
      this.mirror.forEach((m, i) => { if (errorBits & (1 << i)) this.failMirror(m, DmRaid1Error.FLUSH_ERROR); });
      return -5;
    }
    return 0;
  }

  readonly flushCallback = (): Promise<number> => this.mirrorFlush();

  // ---- recovery ---------------------------------------------------------------

  private recoveryComplete(reg: Region, readErr: number, writeErr: number): void {
    if (readErr) {
      // A read error means the default mirror failed.
      this.log.errLimit(RL_RECOVERY_READ, 'Unable to read primary mirror during recovery');
      this.failMirror(this.getDefaultMirror(), DmRaid1Error.SYNC_ERROR);
    }
    if (writeErr) {
      this.log.errLimit(RL_RECOVERY_WRITE, `Write error during recovery (error = 0x${writeErr.toString(16)})`);
      // Bits correspond to the legs other than the default, which cannot change during recovery.
      let bit = 0;
      for (const m of this.mirror) {
        if (m === this.getDefaultMirror()) continue;
        if (writeErr & (1 << bit)) this.failMirror(m, DmRaid1Error.SYNC_ERROR);
        bit++;
      }
    }
    this.rh.recoveryEnd(reg, !(readErr || writeErr));
  }

  /** recover: copy a region from the default leg to every other leg. */
  private recover(reg: Region): void {
    const key = reg.key;
    const regionSize = this.rh.regionSize;
    const def = this.getDefaultMirror();
    let count = regionSize;
    if (key === this.nrRegions - 1) {
      // The final region may be smaller than region_size.
      count = Number(this.ti.len & BigInt(regionSize - 1)) || regionSize;
    }
    const from: DmIoRegion = { bdev: def.dev.bdev, sector: def.offsetSector + this.rh.regionToSector(key), count };
    const to: DmIoRegion[] = [];
    for (const m of this.mirror) {
      if (m === def) continue;
      to.push({ bdev: m.dev.bdev, sector: m.offsetSector + this.rh.regionToSector(key), count });
    }
    const flags = this.errorsHandled() ? 0 : DM_KCOPYD_IGNORE_ERROR;
    this.kcopyd.copy(from, to, flags, (r, w) => this.recoveryComplete(reg, r, w));
  }

  private resetMsFlags(): void {
    this.legFailure = 0;
    for (const m of this.mirror) { m.errorCount = 0; m.errorType = 0; }
  }

  private async doRecovery(): Promise<void> {
    // Start quiescing some regions.
    await this.rh.recoveryPrepare();
    // Copy any already quiesced regions.
    let reg: Region | undefined;
    while ((reg = this.rh.recoveryStart())) this.recover(reg);
    // Update the in sync flag.
    if (!this.inSync && this.dirtyLog.getSyncCount() === this.nrRegions) {
      this.ti.event();
      this.inSync = 1;
      this.resetMsFlags();
    }
    this.hooks.recoveryInSync(this);
  }

  // ---- reads ------------------------------------------------------------------

  private chooseMirror(): Mirror | null {
    const start = this.defaultMirror;
    let i = start;
    do {
      const m = this.mirror[i]!;
      if (!m.errorCount) return m;
      i = i === 0 ? this.nrMirrors - 1 : i - 1;
    } while (i !== start);
    return null;
  }

  private defaultOk(): boolean { return !this.getDefaultMirror().errorCount; }

  private mirrorAvailable(bio: Bio): boolean {
    const r = this.dirtyLog.inSync(this.rh.bioToRegion(bio), 0);
    if (typeof r === 'number' && r) return this.chooseMirror() !== null;
    return false;
  }

  private mapSector(m: Mirror, bio: Bio): number {
    if (!bio.size) return 0;
    return m.offsetSector + targetOffset(this.ti, bio.sector);
  }

  private mapBio(m: Mirror, bio: Bio): void {
    bio.sector = this.mapSector(m, bio);
    bio.bdev = m.dev.bdev;
  }

  private mapRegion(m: Mirror, bio: Bio): DmIoRegion {
    return { bdev: m.dev.bdev, sector: this.mapSector(m, bio), count: bio.sectors };
  }

  /** hold_bio: keep a failed write until suspend; during a suspend, end it now. */
  private holdBio(bio: Bio): void {
    if (this.suspend) {
      bioEndio(bio, this.ti.table.md.isNoflushSuspending() ? 'DM_REQUEUE' : 'EIO');
      return;
    }
    this.holds.push(bio);
  }

  private readCallback(m: Mirror, bio: Bio, error: number): void {
    if (!error) { bioEndio(bio); return; }
    this.failMirror(m, DmRaid1Error.READ_ERROR);
    if (this.defaultOk() || this.mirrorAvailable(bio)) {
      this.log.warnLimit(RL_READ_RETRY, `Read failure on mirror device ${m.dev.name}. Trying alternative device.`);
      this.queueBio(bio, ReqOp.READ);
      return;
    }
    this.log.errLimit(RL_READ_FAIL, `Read failure on mirror device ${m.dev.name}.  Failing I/O.`);
    bioEndio(bio, 'EIO');
  }

  /** read_async_bio. */
  private readAsyncBio(m: Mirror, bio: Bio): void {
    const io = this.mapRegion(m, bio);
    void dmIo(ReqOp.READ, 0, [io], bio.data, (err) => this.readCallback(m, bio, err), bio);
  }

  private async regionInSync(region: number, mayBlock: 0 | 1): Promise<boolean> {
    const state = await this.rh.getState(region, mayBlock);
    return state === DM_RH_CLEAN || state === DM_RH_DIRTY;
  }

  private async doReads(reads: Bio[]): Promise<void> {
    for (const bio of reads) {
      const region = this.rh.bioToRegion(bio);
      let m: Mirror | null = this.getDefaultMirror();
      // We can only read balance if the region is in sync.
      if (await this.regionInSync(region, 1)) m = this.chooseMirror();
      else if (m && m.errorCount) m = null;
      if (m) this.readAsyncBio(m, bio);
      else bioEndio(bio, 'EIO');
    }
  }

  // ---- writes -----------------------------------------------------------------

  private writeCallback(bio: Bio, error: number): void {
    // The pending count is dropped by end_io, for sync and nosync writes alike.
    if (!error) { bioEndio(bio); return; }
    if (bio.op === ReqOp.DISCARD) { bioEndio(bio, 'EOPNOTSUPP'); return; }
    this.mirror.forEach((m, i) => { if (error & (1 << i)) this.failMirror(m, DmRaid1Error.WRITE_ERROR); });
    const shouldWake = this.failures.length === 0;
    this.failures.push(bio);
    if (shouldWake) this.wakeupMirrord();
  }

  /** do_write: the bio to every leg at once. */
  private doWrite(bio: Bio): void {
    let op = ReqOp.WRITE;
    let flags = bio.flags & (REQ_FUA | REQ_PREFLUSH);
    if (bio.op === ReqOp.DISCARD) op = ReqOp.DISCARD;
    if (bio.op === ReqOp.FLUSH) flags |= REQ_PREFLUSH;
    const io = this.mirror.map((m) => this.mapRegion(m, bio));
    void dmIo(op, flags, io, bio.data, (err) => this.writeCallback(bio, err), bio);
  }

  private async doWrites(writes: Bio[]): Promise<void> {
    if (!writes.length) return;
    const sync: Bio[] = [], nosync: Bio[] = [], recover: Bio[] = [], requeue: Bio[] = [];
    const log = this.dirtyLog;
    const isRemoteRecovering = this.hooks.isRemoteRecovering(log);
    for (const bio of writes) {
      if (isFlushOrDiscard(bio)) { sync.push(bio); continue; }
      const region = this.rh.bioToRegion(bio);
      if (isRemoteRecovering && await isRemoteRecovering(region)) {
        requeue.push(bio);
        continue;
      }
      const state = await this.rh.getState(region, 1);
      switch (state) {
        case DM_RH_CLEAN: case DM_RH_DIRTY: sync.push(bio); break;
        case DM_RH_NOSYNC: nosync.push(bio); break;
        case DM_RH_RECOVERING: recover.push(bio); break;
      }
    }
    // Bios delayed by a remote recovery go back on the write queue.
    if (requeue.length) {
      this.writes.push(...requeue);
      this.delayedWake();
    }
    // Count the writes into their regions (writes to recovering regions wait).
    await this.rh.incPending(sync);
    await this.rh.incPending(nosync);
    // A failed log flush stays failed until userspace reconfigures the mirror.
    this.logFailure = (await this.rh.flush()) ? 1 : this.logFailure;
    if (this.logFailure && this.errorsHandled()) {
      this.failures.push(...sync);
      this.wakeupMirrord();
    } else {
      for (const bio of sync) this.doWrite(bio);
    }
    for (const bio of recover) await this.rh.delay(bio);
    for (const bio of nosync) {
      if (this.legFailure && this.errorsHandled() && !this.keepLog()) {
        this.failures.push(bio);
        this.wakeupMirrord();
      } else {
        this.mapBio(this.getDefaultMirror(), bio);
        submitBio(bio);
      }
    }
  }

  private async doFailures(failures: Bio[]): Promise<void> {
    for (const bio of failures) {
      if (!this.logFailure) {
        this.inSync = 0;
        await this.rh.markNosync(bio);
      }
      // All legs dead, or the log failed under keep_log: fail the I/O.
      // handle_errors without keep_log: hold it for userspace to deal with.
      // Otherwise pretend it succeeded: the data is on the surviving legs.
      if (!this.getValidMirror() || (this.keepLog() && this.logFailure)) bioEndio(bio, 'EIO');
      else if (this.errorsHandled() && !this.keepLog()) this.holdBio(bio);
      else bioEndio(bio);
    }
  }

  // ---- target functions -------------------------------------------------------

  private record(bio: Bio): BioRecord {
    let r = this.records.get(bio);
    if (!r) { r = { m: null, details: null, writeRegion: 0 }; this.records.set(bio, r); }
    return r;
  }

  map(bio: Bio): DmMapio {
    const rec = this.record(bio);
    rec.details = null;
    if (bio.isWrite()) {
      // Save the region for end_io.
      rec.writeRegion = this.rh.bioToRegion(bio);
      this.queueBio(bio, ReqOp.WRITE);
      return DmMapio.SUBMITTED;
    }
    let r = this.dirtyLog.inSync(this.rh.bioToRegion(bio), 0);
    if (typeof r !== 'number') { void r.catch(() => undefined); r = EWOULDBLOCK; }
    if (r < 0 && r !== EWOULDBLOCK) return DmMapio.KILL;
    // If the region is not in sync, queue the bio.
    if (!r || r === EWOULDBLOCK) {
      if (bio.flags & REQ_RAHEAD) return DmMapio.KILL;
      this.queueBio(bio, ReqOp.READ);
      return DmMapio.SUBMITTED;
    }
    // In sync: read directly, remembering enough to retry elsewhere.
    const m = this.chooseMirror();
    if (!m) return DmMapio.KILL;
    rec.details = { bdev: bio.bdev, sector: bio.sector };
    rec.m = m;
    this.mapBio(m, bio);
    return DmMapio.REMAPPED;
  }

  endIo(bio: Bio, error: BlkStatus): DmEndio {
    const rec = this.record(bio);
    if (bio.isWrite()) {
      if (!isFlushOrDiscard(bio)) this.rh.dec(rec.writeRegion);
      return DmEndio.DONE;
    }
    if (error === 'EOPNOTSUPP' || bio.flags & REQ_RAHEAD) { rec.details = null; return DmEndio.DONE; }
    if (error) {
      if (!rec.details) {
        // Nothing recorded for a retry.
        this.log.errLimit(RL_END_IO, 'Mirror read failed.');
        return DmEndio.DONE;
      }
      const m = rec.m!;
      this.log.err(`Mirror read failed from ${m.dev.name}. Trying alternative device.`);
      this.failMirror(m, DmRaid1Error.READ_ERROR);
      // A failed read is requeued for another attempt using an intact mirror.
      if (this.defaultOk() || this.mirrorAvailable(bio)) {
        bio.bdev = rec.details.bdev;
        bio.sector = rec.details.sector;
        rec.details = null;
        bio.status = 0;
        this.queueBio(bio, ReqOp.READ);
        return DmEndio.INCOMPLETE;
      }
      this.log.err('All replicated volumes dead, failing I/O');
    }
    rec.details = null;
    return DmEndio.DONE;
  }

  async presuspend(): Promise<void> {
    this.suspend = 1;
    // Release the held bios; none can be added from now on.
    for (const bio of this.holds.splice(0)) this.holdBio(bio);
    // Finish the recovery work we generated.
    await this.rh.stopRecovery();
    await this.recoveryStopped.wait(() => this.rh.recoveryInFlight === 0);
    if (this.dirtyLog.presuspend && await this.dirtyLog.presuspend()) this.log.warn('log presuspend failed');
    // Recovery is stopped and the delayed bios queued: let the worker push all our I/O.
    await this.kmirrordWq.flush();
  }

  async postsuspend(): Promise<void> {
    if (this.dirtyLog.postsuspend && await this.dirtyLog.postsuspend()) this.log.warn('log postsuspend failed');
  }

  async resume(): Promise<void> {
    this.suspend = 0;
    if (this.dirtyLog.resume && await this.dirtyLog.resume()) this.log.warn('log resume failed');
    this.rh.startRecovery();
  }

  /**
   * mirror_dtr: del_timer_sync, flush kmirrord (queued work still runs: a bio
   * that failed on a leg during presuspend is ended by do_failures), then
   * trigger_event, then the log goes.
   */
  dtr(): void {
    this.timer?.cancel();
    void this.kmirrordWq.destroy().then(async () => {
      this.dead = true;
      await flushWork(this.triggerEventWork);
      this.rh.destroy();
      this.dirtyLog.dtr();
    });
  }

  private deviceStatusChar(m: Mirror): string {
    if (!m.errorCount) return 'A';
    const t = m.errorType;
    return t & (1 << DmRaid1Error.FLUSH_ERROR) ? 'F'
      : t & (1 << DmRaid1Error.WRITE_ERROR) ? 'D'
      : t & (1 << DmRaid1Error.SYNC_ERROR) ? 'S'
      : t & (1 << DmRaid1Error.READ_ERROR) ? 'R' : 'U';
  }

  status(type: StatusType): string | Promise<string> {
    const log = this.dirtyLog;
    const emit = (s: string, logStatus: string | Promise<string>) => (typeof logStatus === 'string' ? s + logStatus : logStatus.then((l) => s + l));
    switch (type) {
      case 'info': {
        let s = `${this.nrMirrors} `;
        for (const m of this.mirror) s += `${m.dev.name} `;
        s += `${log.getSyncCount()}/${this.nrRegions} 1 ${this.mirror.map((m) => this.deviceStatusChar(m)).join('')} `;
        return emit(s, log.status('info'));
      }
      case 'table': {
        const lt = log.status('table');
        if (typeof lt !== 'string') throw new Error('a dirty log answers TABLE status at once');
        let s = lt + `${this.nrMirrors}`;
        for (const m of this.mirror) s += ` ${m.dev.name} ${m.offset}`;
        const n = (this.errorsHandled() ? 1 : 0) + (this.keepLog() ? 1 : 0);
        if (n) {
          s += ` ${n}`;
          if (this.errorsHandled()) s += ' handle_errors';
          if (this.keepLog()) s += ' keep_log';
        }
        return s;
      }
      case 'ima': {
        let s = `target_name=mirror,target_version=1.14.0,nr_mirrors=${this.nrMirrors}`;
        this.mirror.forEach((m, i) => {
          s += `,mirror_device_${i}=${m.dev.name},mirror_device_${i}_status=${this.deviceStatusChar(m)}`;
        });
        s += `,handle_errors=${this.errorsHandled() ? 'y' : 'n'},keep_log=${this.keepLog() ? 'y' : 'n'}`;
        const li = log.status('ima');
        return typeof li === 'string' ? s + ',log_type_status=' + li + ';' : li.then((l) => s + ',log_type_status=' + l + ';');
      }
    }
  }

  iterateDevices(fn: IterateDevicesFn): void {
    for (const m of this.mirror) fn(m.dev, m.offset, this.ti.len);
  }

  // ---- constructor helpers --------------------------------------------------------

  /** get_mirror. */
  getMirror(argv: string[]): void {
    const offset = sscanfU64(argv[1]);
    if (offset === undefined) throw new CtrError('Invalid offset');
    let dev: DmDev;
    try {
      dev = this.ti.getDevice(argv[0]!);
    } catch (e) {
      throw new CtrError('Device lookup failure', e instanceof KernelError ? e.errno : 'EINVAL');
    }
    this.mirror.push({ errorCount: 0, errorType: 0, dev, offset, offsetSector: Number(offset) });
  }

  /** parse_features: returns how many arguments it used. */
  parseFeatures(argv: string[]): number {
    if (!argv.length) return 0;
    const n = sscanfU32(argv[0]);
    if (n === undefined) throw new CtrError('Invalid number of features');
    let used = 1;
    if (n > argv.length - 1) throw new CtrError('Not enough arguments to support feature count');
    for (let i = 0; i < n; i++) {
      const w = argv[used];
      if (w === 'handle_errors') this.features |= DM_RAID1_HANDLE_ERRORS;
      else if (w === 'keep_log') this.features |= DM_RAID1_KEEP_LOG;
      else throw new CtrError('Unrecognised feature requested');
      used++;
    }
    if (!this.errorsHandled() && this.keepLog()) throw new CtrError('keep_log feature requires the handle_errors feature');
    return used;
  }
}

/** create_dirty_log: log_type #log_params <log_params>. */
function createDirtyLog(ti: DmTarget, argv: string[], flush: () => Promise<number>): [DirtyLog, number] {
  if (argv.length < 2) throw new CtrError('Insufficient mirror log arguments');
  const paramCount = sscanfU32(argv[1]);
  if (paramCount === undefined) throw new CtrError('Invalid mirror log argument count');
  if (paramCount > argv.length - 2) throw new CtrError('Insufficient mirror log arguments');
  const dl = dmDirtyLogCreate(ti, argv[0]!, flush, argv.slice(2, 2 + paramCount));
  if (!dl) throw new CtrError('Error creating mirror dirty log');
  return [dl, 2 + paramCount];
}

export const mirrorTarget: TargetType = {
  name: 'mirror',
  version: [1, 14, 0],
  ctr(ti, argv) {
    // The log's flush callback needs the mirror set, which is built after the log.
    let ms: MirrorSet | null = null;
    const [dl, logArgs] = createDirtyLog(ti, argv, () => ms ? ms.flushCallback() : Promise.resolve(0));
    try {
      argv = argv.slice(logArgs);
      const nrMirrors = argv.length ? sscanfU32(argv[0]) : undefined;
      if (nrMirrors === undefined || nrMirrors < 2 || nrMirrors > MAX_NR_MIRRORS) throw new CtrError('Invalid number of mirrors');
      argv = argv.slice(1);
      if (argv.length < nrMirrors * 2) throw new CtrError('Too few mirror arguments');
      ms = new MirrorSet(ti, nrMirrors, dl.getRegionSize(), dl);
      for (let m = 0; m < nrMirrors; m++) {
        ms.getMirror(argv);
        argv = argv.slice(2);
      }
      ti.maxIoLen = dl.getRegionSize();
      ti.numFlushBios = 1;
      const used = ms.parseFeatures(argv);
      argv = argv.slice(used);
      if (argv.length) throw new CtrError('Too many mirror arguments');
    } catch (e) {
      // free_context (the region hash), then the log.
      (ms as MirrorSet | null)?.rh.destroy();
      dl.dtr();
      throw e;
    }
    ms.wakeupMirrord();
    return ms;
  },
};
