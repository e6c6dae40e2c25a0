// dm-log's "core" type: clean, sync and recovering bitmaps in memory, a
// resync cursor that only moves forward until the next resume.

import type { DmTarget } from '../../kernel/dm-target.js';
import { clearBit, findNextZeroBit, memweight, setBit, testBit } from './bitset.js';
import { LogCtrError, type DirtyLog, type DirtyLogType, type FlushCallback } from './dirty-log.js';
import { sscanfU32 } from '../../tables/args.js';

export enum Sync { DEFAULTSYNC, NOSYNC, FORCESYNC }

/** Kernel warnings of dm-log.c. */
export function dmLogWarn(ti: DmTarget, msg: string): void { ti.kernel.klog.prefixed('dirty region log').warn(msg); }

/** The arguments both core and disk logs take: <region_size> [sync|nosync]. */
export interface LogArgs { regionSize: number; regionCount: number; sync: Sync }

/** The part of create_log_context that parses and checks; logs and throws on failure. */
export function parseLogArgs(ti: DmTarget, argv: string[]): LogArgs {
  if (argv.length < 1 || argv.length > 2) {
    dmLogWarn(ti, 'wrong number of arguments to dirty region log');
    throw new LogCtrError();
  }
  let sync = Sync.DEFAULTSYNC;
  if (argv.length > 1) {
    if (argv[1] === 'sync') sync = Sync.FORCESYNC;
    else if (argv[1] === 'nosync') sync = Sync.NOSYNC;
    else {
      dmLogWarn(ti, `unrecognised sync argument to dirty region log: ${argv[1]}`);
      throw new LogCtrError();
    }
  }
  const regionSize = sscanfU32(argv[0]);
  if (regionSize === undefined || !checkRegionSize(ti, regionSize)) {
    dmLogWarn(ti, `invalid region size ${argv[0]}`);
    throw new LogCtrError();
  }
  // dm_sector_div_up(ti->len, region_size)
  const regionCount = Number((ti.len + BigInt(regionSize) - 1n) / BigInt(regionSize));
  if (regionCount > 0xffffffff) {
    dmLogWarn(ti, `region count exceeds limit of ${0xffffffff}`);
    throw new LogCtrError();
  }
  return { regionSize, regionCount, sync };
}

/** _check_region_size: at least 2, a power of two, no larger than the target. */
function checkRegionSize(ti: DmTarget, rs: number): boolean {
  if (rs < 2 || BigInt(rs) > ti.len) return false;
  return (rs & (rs - 1)) === 0;
}

/** Bytes of one bitset: the region count rounded up to 64 bits. */
export function bitsetBytes(regionCount: number): number {
  return Math.ceil(regionCount / 64) * 8;
}

/** struct log_c and the core_* methods the disk log shares. */
export class CoreLog implements DirtyLog {
  touchedDirtied = false;
  touchedCleaned = false;
  flushFailed = false;
  readonly regionSize: number;
  readonly regionCount: number;
  readonly sync: Sync;
  cleanBits: Uint32Array;
  readonly syncBits: Uint32Array;
  readonly recoveringBits: Uint32Array;
  syncCount: number;
  syncSearch = 0;

  constructor(readonly type: DirtyLogType, readonly ti: DmTarget, args: LogArgs, cleanBits: Uint32Array | null,
    readonly flushCallback: FlushCallback | null = null) {
    this.regionSize = args.regionSize;
    this.regionCount = args.regionCount;
    this.sync = args.sync;
    const bytes = bitsetBytes(args.regionCount);
    const words = bytes / 4;
    // create_log_context: vmalloc the bitsets (a disk log's clean bits are in its buffer), each failure undone.
    const vm = ti.kernel.vmalloc;
    if (!cleanBits && !vm.alloc(bytes)) {
      dmLogWarn(ti, "couldn't allocate clean bitset");
      throw new LogCtrError(-12);
    }
    if (!vm.alloc(bytes)) {
      if (!cleanBits) vm.free(bytes);
      dmLogWarn(ti, "couldn't allocate sync bitset");
      throw new LogCtrError(-12);
    }
    if (!vm.alloc(bytes)) {
      vm.free(bytes);
      if (!cleanBits) vm.free(bytes);
      dmLogWarn(ti, "couldn't allocate sync bitset");
      throw new LogCtrError(-12);
    }
    this.vmallocBytes = (cleanBits ? 2 : 3) * bytes;
    this.cleanBits = cleanBits ?? new Uint32Array(words);
    this.cleanBits.fill(0xffffffff);
    this.syncBits = new Uint32Array(words);
    if (this.sync === Sync.NOSYNC) this.syncBits.fill(0xffffffff);
    this.syncCount = this.sync === Sync.NOSYNC ? this.regionCount : 0;
    this.recoveringBits = new Uint32Array(words);
  }

  /** The vmalloc'd bytes this log holds, given back once by dtr. */
  private vmallocBytes = 0;

  /** vfree of the bitsets (core_dtr, destroy_log_context). */
  protected freeBitsets(): void {
    this.ti.kernel.vmalloc.free(this.vmallocBytes);
    this.vmallocBytes = 0;
  }

  protected logSetBit(bs: Uint32Array, bit: number): void { setBit(bs, bit); this.touchedCleaned = true; }
  protected logClearBit(bs: Uint32Array, bit: number): void { clearBit(bs, bit); this.touchedDirtied = true; }

  dtr(): void { this.freeBitsets(); }
  getRegionSize(): number { return this.regionSize; }
  resume(): number | Promise<number> { this.syncSearch = 0; return 0; }
  isClean(region: number): number { return testBit(this.cleanBits, region); }
  inSync(region: number): number { return testBit(this.syncBits, region); }
  flush(): number | Promise<number> { return 0; }
  markRegion(region: number): void { this.logClearBit(this.cleanBits, region); }
  clearRegion(region: number): void { if (!this.flushFailed) this.logSetBit(this.cleanBits, region); }

  getResyncWork(): number {
    if (this.syncSearch >= this.regionCount) return -1;
    let region: number;
    do {
      region = findNextZeroBit(this.syncBits, this.regionCount, this.syncSearch);
      this.syncSearch = region + 1;
      if (region >= this.regionCount) return -1;
    } while (testBit(this.recoveringBits, region));
    this.logSetBit(this.recoveringBits, region);
    return region;
  }

  setRegionSync(region: number, inSync: 0 | 1): void {
    this.logClearBit(this.recoveringBits, region);
    if (inSync) {
      this.logSetBit(this.syncBits, region);
      this.syncCount++; // unconditionally, as the kernel does
    } else if (testBit(this.syncBits, region)) {
      this.syncCount--;
      this.logClearBit(this.syncBits, region);
    }
  }

  getSyncCount(): number { return this.syncCount; }

  protected syncWord(): string {
    return this.sync === Sync.DEFAULTSYNC ? '' : this.sync === Sync.NOSYNC ? 'nosync ' : 'sync ';
  }

  status(type: 'info' | 'table' | 'ima'): string {
    if (type === 'info') return `1 ${this.type.name}`;
    if (type === 'table') return `${this.type.name} ${this.sync === Sync.DEFAULTSYNC ? 1 : 2} ${this.regionSize} ${this.syncWord()}`;
    return '';
  }

  /** Recount the sync bits (disk resume). */
  protected recount(): void { this.syncCount = memweight(this.cleanBits); }
}

export const coreLogType: DirtyLogType = {
  name: 'core',
  ctr(ti, argv, flushCallback) {
    return new CoreLog(coreLogType, ti, parseLogArgs(ti, argv), null, flushCallback);
  },
};
