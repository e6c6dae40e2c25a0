// dm-flakey (v1.5.0): a device that works for <up interval> seconds, then
// misbehaves for <down interval> seconds, over and over, from table load.
//
// What "misbehaves" means is set by the feature arguments:
//   none              every read and write fails
//   drop_writes       writes complete without reaching the device; reads work
//   error_writes      writes fail; reads work
//   corrupt_bio_byte <Nth byte> <r|w> <value> <flags>
//                     byte N (from 1) of matching writes is overwritten before
//                     they go down; reads and other writes work. With `r`,
//                     6.1 tries to corrupt reads in end_io, but by then the
//                     bio's iterator is used up (bio_has_data() is false), so
//                     reads come back intact; the oracle confirms it. (Fixed
//                     upstream in 2025 by "dm-flakey: make corrupting read bios
//                     work"; not in this kernel.)
//
// Why the oracle's scenario 020 sees a write to "up 0, down 5, error_writes"
// succeed: the target is not at fault. The oracle's dm-flakey.ko (6.1.0-56,
// disassembled: flakey_map is the 6.1 logic ported below, HZ=250; of the
// 2023-2025 stable changes it has the zero-page check, but none of the
// strings or symbols of error_reads, random_*_corrupt, clone-before-corrupt
// or "error all IOs when num_features is absent") fails that write with EIO
// whenever it reaches flakey_map. But the write never reaches it from dd:
// busybox dd's 512-byte buffer comes from malloc, which is not 512-aligned,
// so the O_DIRECT write is refused with EINVAL (bdev dma_alignment 511);
// busybox then clears O_DIRECT and writes again, into the page cache, and dd
// exits 0. The dirty 4 KiB page is written back when dd closes the device
// (blkdev_put -> sync_blockdev), flakey fails that bio, and the error is
// lost: the kernel logs only "Buffer I/O error on dev dm-1, logical block 0,
// lost async page write" (not a device-mapper: line, so dm_klog hides it).
// Probed on the oracle: the same write with bs=4096 (page-aligned buffer, a
// real O_DIRECT bio) fails with EIO and leaves the disk untouched, and a
// 512-byte "write" to a flakey device that is down with no features fails,
// because the page cache must first read the 4 KiB block, and that read fails.
// So the emulation's dm_write/dm_read must go through a page cache
// (kernel/blkdev-pagecache.ts); this target stays exactly the kernel's.

import { DmMapio, DmEndio, CtrError, targetOffset, type DmDev, type DmTarget, type IterateDevicesFn, type StatusType, type Target, type TargetType } from '../kernel/dm-target.js';
import { ReqOp, REQ_FUA, REQ_PREFLUSH, REQ_RAHEAD, REQ_SYNC, bioEndio, type Bio, type BlkStatus } from '../kernel/bio.js';
import { KernelError } from '../kernel/errno.js';
import { ArgCursor, dmReadArg, dmReadArgGroup, sscanfU64, UINT_MAX, type DmArg } from '../tables/args.js';

/** The oracle's kernel (Debian amd64) ticks at HZ=250: jiffies are 4 ms. */
const HZ = 250;
const jiffies = (ms: number) => Math.floor((ms * HZ) / 1000);

const READ = 0;
const WRITE = 1;

/** Bits of bi_opf in 6.1 (blk_types.h), which <bio_flags> is a mask over. */
const OPF = { WRITE: 1, SYNC: 1 << 11, FUA: 1 << 17, PREFLUSH: 1 << 18, RAHEAD: 1 << 19 } as const;

/** bio->bi_opf as the kernel would have it for one of our bios. */
function biOpf(bio: Bio): number {
  // An empty flush is REQ_OP_WRITE | REQ_PREFLUSH; a discard is REQ_OP_DISCARD (3).
  let opf = bio.op === ReqOp.READ ? 0 : bio.op === ReqOp.DISCARD ? 3 : OPF.WRITE;
  if (bio.op === ReqOp.FLUSH || bio.flags & REQ_PREFLUSH) opf |= OPF.PREFLUSH;
  if (bio.flags & REQ_SYNC) opf |= OPF.SYNC;
  if (bio.flags & REQ_FUA) opf |= OPF.FUA;
  if (bio.flags & REQ_RAHEAD) opf |= OPF.RAHEAD;
  return opf >>> 0;
}

/** strcasecmp's folding: ASCII letters only. */
const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

/** bio_data_dir(): flushes and discards are WRITEs. */
const dataDir = (bio: Bio) => (bio.op === ReqOp.READ ? READ : WRITE);

interface FlakeyC {
  dev: DmDev;
  /** jiffies at construction. */
  startTime: number;
  /** sector_t, exact; startSector is the same as a number, for the bio path. */
  start: bigint;
  startSector: number;
  upInterval: number;
  downInterval: number;
  dropWrites: boolean;
  errorWrites: boolean;
  /** 0: no corruption; else the byte (from 1) to overwrite. */
  corruptBioByte: number;
  corruptBioRw: typeof READ | typeof WRITE;
  corruptBioValue: number;
  corruptBioFlags: number;
}

// ---- the constructor's argument grammar --------------------------------------

// 6.1 reads both intervals with _args[0], so a bad down interval is also
// reported as "Invalid up interval" (the oracle agrees); _args[1] is unused.
const CTR_ARGS = {
  up: { min: 0, max: UINT_MAX, error: 'Invalid up interval' },
  down: { min: 0, max: UINT_MAX, error: 'Invalid down interval' },
} satisfies Record<string, DmArg>;

const FEATURE_ARGS = {
  count: { min: 0, max: 6, error: 'Invalid number of feature args' },
  corruptByte: { min: 1, max: UINT_MAX, error: 'Invalid corrupt bio byte' },
  corruptValue: { min: 0, max: 255, error: 'Invalid corrupt value to write into bio byte (0-255)' },
  corruptFlags: { min: 0, max: UINT_MAX, error: 'Invalid corrupt bio flags mask' },
} satisfies Record<string, DmArg>;

function readArg(arg: DmArg, as: ArgCursor): number {
  const v = dmReadArg(arg, as);
  if (v === undefined) throw new CtrError(arg.error);
  return v;
}

/**
 * One feature: parse its parameters from as. `argc` is what is left of the
 * feature group; it is unsigned in the kernel and wraps when corrupt_bio_byte
 * reads past the group (dm_read_arg takes from the whole argument list).
 */
type Feature = (fc: FlakeyC, as: ArgCursor, argc: { n: number }) => void;

const FEATURES: Record<string, Feature> = {
  drop_writes(fc) {
    if (fc.dropWrites) throw new CtrError('Feature drop_writes duplicated');
    fc.dropWrites = true;
    if (fc.errorWrites) throw new CtrError('Feature drop_writes conflicts with feature error_writes');
  },
  error_writes(fc) {
    if (fc.errorWrites) throw new CtrError('Feature error_writes duplicated');
    fc.errorWrites = true;
    if (fc.dropWrites) throw new CtrError('Feature error_writes conflicts with feature drop_writes');
  },
  // corrupt_bio_byte <Nth_byte> <direction> <value> <bio_flags>
  corrupt_bio_byte(fc, as, argc) {
    if (!argc.n) throw new CtrError('Feature corrupt_bio_byte requires parameters');
    fc.corruptBioByte = readArg(FEATURE_ARGS.corruptByte, as);
    argc.n = (argc.n - 1) >>> 0;
    const dir = as.shift();
    const d = dir === undefined ? undefined : asciiLower(dir);
    if (d === 'w') fc.corruptBioRw = WRITE;
    else if (d === 'r') fc.corruptBioRw = READ;
    else throw new CtrError('Invalid corrupt bio direction (r or w)');
    argc.n = (argc.n - 1) >>> 0;
    fc.corruptBioValue = readArg(FEATURE_ARGS.corruptValue, as);
    argc.n = (argc.n - 1) >>> 0;
    fc.corruptBioFlags = readArg(FEATURE_ARGS.corruptFlags, as);
    argc.n = (argc.n - 1) >>> 0;
  },
};

/** parse_features: [<#feature args> [<arg>]*]; leftover words are ignored, as in 6.1. */
function parseFeatures(as: ArgCursor, fc: FlakeyC): void {
  if (!as.remaining) return; // No feature arguments supplied.
  const n = dmReadArgGroup(FEATURE_ARGS.count, as);
  if (n === undefined) throw new CtrError(FEATURE_ARGS.count.error);
  const argc = { n };
  while (argc.n) {
    const name = as.shift();
    argc.n = (argc.n - 1) >>> 0;
    if (name === undefined) throw new CtrError('Insufficient feature arguments');
    const key = asciiLower(name);
    const feature = Object.hasOwn(FEATURES, key) ? FEATURES[key] : undefined;
    if (!feature) throw new CtrError('Unrecognised flakey feature requested');
    feature(fc, as, argc);
  }
  if (fc.dropWrites && fc.corruptBioRw === WRITE) {
    throw new CtrError('drop_writes is incompatible with corrupt_bio_byte with the WRITE flag set');
  }
  if (fc.errorWrites && fc.corruptBioRw === WRITE) {
    throw new CtrError('error_writes is incompatible with corrupt_bio_byte with the WRITE flag set');
  }
}

// ---- the target ---------------------------------------------------------------

class Flakey implements Target {
  /** per_bio_data.bio_submitted: bios mapped while the device was down. */
  private readonly submittedWhileDown = new WeakSet<Bio>();

  constructor(private readonly ti: DmTarget, private readonly fc: FlakeyC) {}

  /** Are we alive? Whole seconds since construction, modulo (up + down), against up. */
  private isDown(): boolean {
    const fc = this.fc;
    const elapsed = Math.floor((jiffies(this.ti.kernel.clock.nowMs()) - fc.startTime) / HZ) >>> 0;
    return elapsed % ((fc.upInterval + fc.downInterval) >>> 0) >= fc.upInterval;
  }

  private mapBio(bio: Bio): DmMapio {
    bio.bdev = this.fc.dev.bdev;
    bio.sector = this.fc.startSector + targetOffset(this.ti, bio.sector);
    return DmMapio.REMAPPED;
  }

  private flagsMatch(bio: Bio): boolean {
    const want = this.fc.corruptBioFlags;
    return ((biOpf(bio) & want) >>> 0) === want;
  }

  /**
   * corrupt_bio_data: overwrite the Nth byte of what the bio has left to
   * transfer (its bi_iter), if that is long enough. `left` is bi_size: the
   * whole payload before submission, 0 once the bio has completed.
   */
  private corruptBioData(bio: Bio, left: number): void {
    const hasData = left > 0 && (bio.op === ReqOp.READ || bio.op === ReqOp.WRITE); // bio_has_data()
    const i = this.fc.corruptBioByte - 1;
    if (hasData && i < left) bio.data[bio.size - left + i] = this.fc.corruptBioValue;
  }

  map(bio: Bio): DmMapio {
    const fc = this.fc;
    this.submittedWhileDown.delete(bio);
    if (!this.isDown()) return this.mapBio(bio);

    // Flag this bio as submitted while down.
    this.submittedWhileDown.add(bio);

    // Error reads if neither corrupt_bio_byte nor drop_writes nor error_writes
    // is set; otherwise end_io decides whether a read is modified.
    if (dataDir(bio) === READ) {
      if (!fc.corruptBioByte && !fc.dropWrites && !fc.errorWrites) return DmMapio.KILL;
      return this.mapBio(bio);
    }

    // Drop or error writes?
    if (fc.dropWrites) {
      bioEndio(bio);
      return DmMapio.SUBMITTED;
    }
    if (fc.errorWrites) {
      bioEndio(bio, 'EIO');
      return DmMapio.SUBMITTED;
    }

    // Corrupt matching writes.
    if (fc.corruptBioByte) {
      if (fc.corruptBioRw === WRITE && this.flagsMatch(bio)) this.corruptBioData(bio, bio.size);
      return this.mapBio(bio);
    }

    // By default, error all I/O.
    return DmMapio.KILL;
  }

  endIo(bio: Bio, status: BlkStatus): DmEndio {
    const fc = this.fc;
    const submitted = this.submittedWhileDown.has(bio);
    this.submittedWhileDown.delete(bio);
    if (!status && submitted && dataDir(bio) === READ) {
      if (fc.corruptBioByte) {
        // Corrupt successful matching reads while in down state: a no-op in
        // 6.1, the completed bio has no data left (see the top of this file).
        if (fc.corruptBioRw === READ && this.flagsMatch(bio)) this.corruptBioData(bio, 0);
      } else if (!fc.dropWrites && !fc.errorWrites) {
        // Error reads during the down interval if drop_writes and error_writes were not configured.
        bio.status = 'EIO';
      }
    }
    return DmEndio.DONE;
  }

  status(type: StatusType): string {
    if (type !== 'table') return '';
    const fc = this.fc;
    let s = `${fc.dev.name} ${fc.start} ${fc.upInterval} ${fc.downInterval} `;
    s += `${Number(fc.dropWrites) + Number(fc.errorWrites) + (fc.corruptBioByte > 0 ? 5 : 0)} `;
    if (fc.dropWrites) s += 'drop_writes ';
    else if (fc.errorWrites) s += 'error_writes ';
    if (fc.corruptBioByte) {
      s += `corrupt_bio_byte ${fc.corruptBioByte} ${fc.corruptBioRw === WRITE ? 'w' : 'r'} ${fc.corruptBioValue} ${fc.corruptBioFlags} `;
    }
    return s;
  }

  iterateDevices(fn: IterateDevicesFn): void {
    fn(this.fc.dev, this.fc.start, this.ti.len);
  }
}

/**
 * Construct a flakey mapping:
 * <dev_path> <offset> <up interval> <down interval> [<#feature args> [<arg>]*]
 */
export const flakeyTarget: TargetType = {
  name: 'flakey',
  version: [1, 5, 0],
  ctr(ti, argv) {
    if (argv.length < 4) throw new CtrError('Invalid argument count');
    const as = new ArgCursor(argv);
    const startTime = jiffies(ti.kernel.clock.nowMs());
    const devname = as.shift()!;
    const start = sscanfU64(as.shift());
    if (start === undefined) throw new CtrError('Invalid device sector');
    const upInterval = readArg(CTR_ARGS.up, as);
    const downInterval = readArg(CTR_ARGS.up, as);
    // unsigned int sums: 4294967295 + 1 wraps to 0 and is "zero", not "overflow".
    const total = (upInterval + downInterval) >>> 0;
    if (!total) throw new CtrError('Total (up + down) interval is zero');
    if (total < upInterval) throw new CtrError('Interval overflow');

    const fc: Omit<FlakeyC, 'dev'> & { dev?: DmDev } = {
      startTime, start, startSector: Number(start), upInterval, downInterval,
      dropWrites: false, errorWrites: false,
      corruptBioByte: 0, corruptBioRw: READ, corruptBioValue: 0, corruptBioFlags: 0,
    };
    parseFeatures(as, fc as FlakeyC);

    try {
      fc.dev = ti.getDevice(devname);
    } catch (e) {
      throw new CtrError('Device lookup failed', e instanceof KernelError ? e.errno : 'EINVAL');
    }
    ti.numFlushBios = 1;
    return new Flakey(ti, fc as FlakeyC);
  },
};
