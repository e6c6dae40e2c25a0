// dm-region-hash: the regions with writes in flight or under recovery, their
// states (clean, dirty, nosync, recovering), and the lists that move them on.
// Only "interesting" regions have an entry; everything else is the log's word.

import { ReqOp, REQ_PREFLUSH, type Bio } from '../../kernel/bio.js';
import type { DirtyLog } from './dirty-log.js';
import type { Kernel } from '../../kernel/kernel.js';

export const DM_RH_CLEAN = 0x01;
export const DM_RH_DIRTY = 0x02;
export const DM_RH_NOSYNC = 0x04;
export const DM_RH_RECOVERING = 0x08;

/** struct dm_region. */
export interface Region {
  key: number;
  state: number;
  pending: number;
  delayedBios: Bio[];
  /** Which list it is on (reg->list), if any. */
  list: Region[] | null;
}

export interface RegionHashOwner {
  /** dispatch_bios: delayed writes go back on the write queue. */
  dispatchBios(bios: Bio[]): void;
  wakeupWorkers(): void;
  wakeupAllRecoveryWaiters(): void;
}

/** bio->bi_opf & REQ_PREFLUSH: a flush (our FLUSH op, or any bio with the flag). */
export function isPreflush(bio: Bio): boolean {
  return bio.op === ReqOp.FLUSH || (bio.flags & REQ_PREFLUSH) !== 0;
}

/**
 * What dm_rh_inc_pending skips, and mirror_end_io does not dm_rh_dec: flushes
 * and discards. One predicate for both, so a write counted is a write dropped.
 */
export function isFlushOrDiscard(bio: Bio): boolean {
  return isPreflush(bio) || bio.op === ReqOp.DISCARD;
}

/** sizeof(struct list_head): one hash bucket. */
const LIST_HEAD_BYTES = 16;

/** dm_region_hash_create returned ERR_PTR(-ENOMEM). */
export class RegionHashNoMem extends Error {
  constructor() { super('region hash: -ENOMEM'); }
}

export class RegionHash {
  readonly regionShift: number;
  private readonly hash = new Map<number, Region>();
  readonly cleanRegions: Region[] = [];
  readonly quiescedRegions: Region[] = [];
  readonly recoveredRegions: Region[] = [];
  readonly failedRecoveredRegions: Region[] = [];
  /** Recovery slots (a semaphore starting at 0) and who waits for one. */
  private recoveryCount = 0;
  private recoveryWaiters: Array<() => void> = [];
  recoveryInFlight = 0;
  flushFailure = false;

  /** The bucket array's bytes (vmalloc'd in the kernel; the entries here live in a Map). */
  private bucketBytes: number;

  /**
   * dm_region_hash_create: sizes its hash from the region count (buckets of a
   * list_head each) and vmallocs them; throws RegionHashNoMem when it cannot.
   */
  constructor(private readonly owner: RegionHashOwner, readonly targetBegin: number, readonly maxRecovery: number,
    readonly log: DirtyLog, readonly regionSize: number, readonly nrRegions: number, private readonly kernel: Kernel) {
    // unsigned max_buckets = nr_regions >> 6; the first power of two from 128 not below it, halved.
    const maxBuckets = Math.floor(nrRegions / 64) >>> 0;
    let nrBuckets = 128;
    while (nrBuckets < maxBuckets) nrBuckets *= 2;
    nrBuckets /= 2;
    this.bucketBytes = nrBuckets * LIST_HEAD_BYTES;
    if (!kernel.vmalloc.alloc(this.bucketBytes)) {
      kernel.klog.prefixed('region hash').err('unable to allocate region hash bucket memory');
      throw new RegionHashNoMem();
    }
    // __ffs(region_size): the kernel shifts by the lowest set bit, so a region size
    // that is no power of two (a userspace log may answer one) maps sectors by that.
    this.regionShift = Math.log2(regionSize & -regionSize);
  }

  /** dm_region_hash_destroy: the buckets are freed (once). */
  destroy(): void {
    this.kernel.vmalloc.free(this.bucketBytes);
    this.bucketBytes = 0;
  }

  /** dm_rh_bio_to_region: (sector - target_begin) >> region_shift. */
  bioToRegion(bio: Bio): number {
    return Math.floor((bio.sector - this.targetBegin) / 2 ** this.regionShift);
  }

  /** dm_rh_region_to_sector: region << region_shift. */
  regionToSector(region: number): number { return region * 2 ** this.regionShift; }

  private listDel(reg: Region): void {
    const l = reg.list;
    if (!l) return;
    const i = l.indexOf(reg);
    if (i >= 0) l.splice(i, 1);
    reg.list = null;
  }

  private listAdd(reg: Region, list: Region[], head = false): void {
    this.listDel(reg);
    if (head) list.unshift(reg); else list.push(reg);
    reg.list = list;
  }

  /** __rh_alloc. */
  private async alloc(region: number): Promise<Region> {
    const inSync = await this.log.inSync(region, 1);
    let reg = this.hash.get(region);
    if (reg) return reg; // lost the race
    reg = { key: region, state: inSync === 1 ? DM_RH_CLEAN : DM_RH_NOSYNC, pending: 0, delayedBios: [], list: null };
    this.hash.set(region, reg);
    if (reg.state === DM_RH_CLEAN) this.listAdd(reg, this.cleanRegions, true);
    return reg;
  }

  /** __rh_find. */
  find(region: number): Region | Promise<Region> {
    return this.hash.get(region) ?? this.alloc(region);
  }

  lookup(region: number): Region | undefined { return this.hash.get(region); }

  /** dm_rh_get_state. */
  async getState(region: number, mayBlock: 0 | 1): Promise<number> {
    const reg = this.hash.get(region);
    if (reg) return reg.state;
    const r = await this.log.inSync(region, mayBlock);
    return r === 1 ? DM_RH_CLEAN : DM_RH_NOSYNC;
  }

  /** complete_resync_work. */
  private async completeResyncWork(reg: Region, success: 0 | 1): Promise<void> {
    await this.log.setRegionSync(reg.key, success);
    // Dispatch the bios before waking the recovery waiters.
    const bios = reg.delayedBios.splice(0);
    this.owner.dispatchBios(bios);
    if (--this.recoveryInFlight === 0) this.owner.wakeupAllRecoveryWaiters();
    this.up();
  }

  /** dm_rh_mark_nosync: a write failed on some leg. */
  async markNosync(bio: Bio): Promise<void> {
    if (isPreflush(bio)) { this.flushFailure = true; return; }
    if (bio.op === ReqOp.DISCARD) return;
    const region = this.bioToRegion(bio);
    await this.log.setRegionSync(region, 0);
    const reg = await this.find(region);
    const recovering = reg.state === DM_RH_RECOVERING;
    reg.state = DM_RH_NOSYNC;
    if (recovering) await this.completeResyncWork(reg, 0);
  }

  /** dm_rh_update_states. */
  async updateStates(errorsHandled: boolean): Promise<void> {
    const take = (list: Region[]) => {
      const regs = list.splice(0);
      for (const reg of regs) { reg.list = null; this.hash.delete(reg.key); }
      return regs;
    };
    const clean = take(this.cleanRegions);
    const recovered = take(this.recoveredRegions);
    const failedRecovered = take(this.failedRecoveredRegions);
    for (const reg of recovered) {
      this.log.clearRegion(reg.key);
      await this.completeResyncWork(reg, 1);
    }
    for (const reg of failedRecovered) await this.completeResyncWork(reg, errorsHandled ? 0 : 1);
    for (const reg of clean) this.log.clearRegion(reg.key);
    await this.log.flush();
  }

  /** rh_inc. */
  private async inc(region: number): Promise<void> {
    const reg = await this.find(region);
    reg.pending++;
    if (reg.state === DM_RH_CLEAN) {
      reg.state = DM_RH_DIRTY;
      this.listDel(reg); // take off the clean list
      this.log.markRegion(reg.key);
    }
  }

  /** dm_rh_inc_pending. */
  async incPending(bios: readonly Bio[]): Promise<void> {
    for (const bio of bios) {
      if (isFlushOrDiscard(bio)) continue;
      await this.inc(this.bioToRegion(bio));
    }
  }

  /** dm_rh_dec: a write finished. */
  dec(region: number): void {
    const reg = this.hash.get(region);
    if (!reg) return;
    if (--reg.pending > 0) return;
    if (this.flushFailure) {
      // A flush failed some time ago: this write may not have reached the disk.
      reg.state = DM_RH_NOSYNC;
    } else if (reg.state === DM_RH_RECOVERING) {
      this.listAdd(reg, this.quiescedRegions);
    } else if (reg.state === DM_RH_DIRTY) {
      reg.state = DM_RH_CLEAN;
      this.listAdd(reg, this.cleanRegions, true);
    }
    this.owner.wakeupWorkers();
  }

  /** __rh_recovery_prepare: quiesce the next region the log wants recovered. */
  private async recoveryPrepareOne(): Promise<number> {
    const region = await this.log.getResyncWork();
    if (region < 0) return region === -1 ? 0 : region;
    const reg = await this.find(region);
    reg.state = DM_RH_RECOVERING;
    if (reg.pending) this.listDel(reg); // quiesced when the writes finish
    else this.listAdd(reg, this.quiescedRegions, true);
    return 1;
  }

  /** dm_rh_recovery_prepare. */
  async recoveryPrepare(): Promise<void> {
    this.recoveryInFlight++;
    while (this.downTrylock()) {
      this.recoveryInFlight++;
      if (await this.recoveryPrepareOne() <= 0) {
        this.recoveryInFlight--;
        this.up();
        break;
      }
    }
    if (--this.recoveryInFlight === 0) this.owner.wakeupAllRecoveryWaiters();
  }

  /** dm_rh_recovery_start: a quiesced region, if any. */
  recoveryStart(): Region | undefined {
    const reg = this.quiescedRegions[0];
    if (reg) this.listDel(reg);
    return reg;
  }

  /** dm_rh_recovery_end. */
  recoveryEnd(reg: Region, success: boolean): void {
    if (success) this.listAdd(reg, this.recoveredRegions, true);
    else {
      reg.state = DM_RH_NOSYNC;
      this.listAdd(reg, this.failedRecoveredRegions, true);
    }
    this.owner.wakeupWorkers();
  }

  flush(): Promise<number> | number { return this.log.flush(); }

  /** dm_rh_delay: a write to a recovering region waits for the recovery. */
  async delay(bio: Bio): Promise<void> {
    const reg = await this.find(this.bioToRegion(bio));
    reg.delayedBios.push(bio);
  }

  /** dm_rh_stop_recovery: take every recovery slot (waits for the one in use). */
  async stopRecovery(): Promise<void> {
    for (let i = 0; i < this.maxRecovery; i++) await this.down();
  }

  /** dm_rh_start_recovery. */
  startRecovery(): void {
    for (let i = 0; i < this.maxRecovery; i++) this.up();
    this.owner.wakeupWorkers();
  }

  // ---- the recovery_count semaphore ----
  private downTrylock(): boolean {
    if (this.recoveryCount > 0) { this.recoveryCount--; return true; }
    return false;
  }

  private down(): Promise<void> {
    if (this.recoveryCount > 0) { this.recoveryCount--; return Promise.resolve(); }
    return new Promise((resolve) => this.recoveryWaiters.push(resolve));
  }

  private up(): void {
    const w = this.recoveryWaiters.shift();
    if (w) w(); else this.recoveryCount++;
  }
}
