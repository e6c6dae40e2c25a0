// dm-log's "disk" type: the core log's bitmaps, with the clean bitmap kept on
// a log device in the kernel's format (header "MiRr", version 2, region count;
// bitmap at byte 1024, little-endian), read at every resume, written at flush.

import { ReqOp, REQ_PREFLUSH } from '../../kernel/bio.js';
import { dmIo } from '../../kernel/dm-io.js';
import type { DmDev } from '../../kernel/dm-target.js';
import { fillBits } from './bitset.js';
import { LogCtrError, type DirtyLogType } from './dirty-log.js';
import { bitsetBytes, CoreLog, dmLogWarn, parseLogArgs, Sync, type LogArgs } from './log-core.js';
import type { DmTarget } from '../../kernel/dm-target.js';
import type { FlushCallback } from './dirty-log.js';

export const MIRROR_MAGIC = 0x4d695272;
export const MIRROR_DISK_VERSION = 2;
/** The bitmap starts LOG_OFFSET sectors into the device. */
export const LOG_OFFSET = 2;
const LOGICAL_BLOCK_SIZE = 512;

class DiskLog extends CoreLog {
  logDevFailed = false;
  logDevFlushFailed = false;
  /** The in-memory header (struct log_header_core). */
  private header = { magic: 0, version: 0, nrRegions: 0 };

  constructor(type: DirtyLogType, ti: DmTarget, args: LogArgs, readonly logDev: DmDev,
    private readonly diskHeader: Buffer, flushCallback: FlushCallback | null) {
    super(type, ti, args, new Uint32Array(diskHeader.buffer, diskHeader.byteOffset + (LOG_OFFSET << 9), bitsetBytes(args.regionCount) / 4), flushCallback);
  }

  private get count(): number { return this.diskHeader.length >> 9; }

  private rwHeader(op: ReqOp): Promise<number> {
    return dmIo(op, 0, [{ bdev: this.logDev.bdev, sector: 0, count: this.count }], this.diskHeader);
  }

  private flushHeader(): Promise<number> {
    return dmIo(ReqOp.WRITE, REQ_PREFLUSH, [{ bdev: this.logDev.bdev, sector: 0, count: 0 }], null);
  }

  private async readHeader(): Promise<number> {
    if (await this.rwHeader(ReqOp.READ)) return -5;
    const h = this.header;
    h.magic = this.diskHeader.readUInt32LE(0);
    h.version = this.diskHeader.readUInt32LE(4);
    h.nrRegions = Number(this.diskHeader.readBigUInt64LE(8));
    if (this.sync !== Sync.DEFAULTSYNC || h.magic !== MIRROR_MAGIC) {
      h.magic = MIRROR_MAGIC;
      h.version = MIRROR_DISK_VERSION;
      h.nrRegions = 0;
    }
    if (h.version === 1) h.version = 2;
    if (h.version !== MIRROR_DISK_VERSION) {
      dmLogWarn(this.ti, 'incompatible disk log version');
      return -22;
    }
    return 0;
  }

  private headerToDisk(): void {
    this.diskHeader.writeUInt32LE(this.header.magic >>> 0, 0);
    this.diskHeader.writeUInt32LE(this.header.version >>> 0, 4);
    this.diskHeader.writeBigUInt64LE(BigInt(this.header.nrRegions), 8);
  }

  private failLogDevice(): void {
    if (this.logDevFailed) return;
    this.logDevFailed = true;
    this.ti.event();
  }

  /** disk_resume. */
  override async resume(): Promise<number> {
    let r = await this.readHeader();
    if (r) {
      dmLogWarn(this.ti, `${this.logDev.name}: Failed to read header on dirty region log device`);
      this.failLogDevice();
      // If the log device cannot be read, every region must be assumed out of sync.
      this.header.nrRegions = 0;
    }
    const from = Math.min(this.header.nrRegions, this.regionCount);
    if (from < this.regionCount) {
      // set or clear any new bits -- device has grown
      fillBits(this.cleanBits, from, this.regionCount, this.sync === Sync.NOSYNC);
      if (this.sync === Sync.NOSYNC) this.touchedCleaned = true; else this.touchedDirtied = true;
    }
    // clear any old bits -- device has shrunk
    const end = Math.ceil(this.regionCount / 64) * 64;
    if (end > this.regionCount) {
      fillBits(this.cleanBits, this.regionCount, end, false);
      this.touchedDirtied = true;
    }
    this.syncBits.set(this.cleanBits);
    this.recount();
    this.syncSearch = 0;
    this.header.nrRegions = this.regionCount;
    this.headerToDisk();
    r = await this.rwHeader(ReqOp.WRITE);
    if (!r) {
      r = await this.flushHeader();
      if (r) this.logDevFlushFailed = true;
    }
    if (r) {
      dmLogWarn(this.ti, `${this.logDev.name}: Failed to write header on dirty region log device`);
      this.failLogDevice();
      return -5;
    }
    return 0;
  }

  /** disk_flush (also the postsuspend hook). */
  override async flush(): Promise<number> {
    if (!this.touchedCleaned && !this.touchedDirtied) return 0;
    if (this.touchedCleaned && this.flushCallback && await this.flushCallback()) {
      // Which regions are clean can no longer be known: mark them all dirty.
      this.flushFailed = true;
      fillBits(this.cleanBits, 0, this.regionCount, false);
      this.touchedDirtied = true;
    }
    let r = await this.rwHeader(ReqOp.WRITE);
    if (r) {
      this.failLogDevice();
      return -5;
    }
    if (this.touchedDirtied) {
      r = await this.flushHeader();
      if (r) {
        this.logDevFlushFailed = true;
        this.failLogDevice();
        return -5;
      }
      this.touchedDirtied = false;
    }
    this.touchedCleaned = false;
    return 0;
  }

  postsuspend(): Promise<number> { return this.flush(); }

  /** disk_dtr: the buffer and the bitsets are freed (the device goes with the table). */
  override dtr(): void {
    if (this.headerFreed) return;
    this.headerFreed = true;
    this.ti.kernel.vmalloc.free(this.diskHeader.length);
    this.freeBitsets();
  }

  private headerFreed = false;

  override status(type: 'info' | 'table' | 'ima'): string {
    if (type === 'info') {
      return `3 ${this.type.name} ${this.logDev.name} ${this.logDevFlushFailed ? 'F' : this.logDevFailed ? 'D' : 'A'}`;
    }
    if (type === 'table') {
      return `${this.type.name} ${this.sync === Sync.DEFAULTSYNC ? 2 : 3} ${this.logDev.name} ${this.regionSize} ${this.syncWord()}`;
    }
    return '';
  }
}

export const diskLogType: DirtyLogType = {
  name: 'disk',
  ctr(ti, argv, flushCallback) {
    if (argv.length < 2 || argv.length > 3) {
      dmLogWarn(ti, 'wrong number of arguments to disk dirty region log');
      throw new LogCtrError();
    }
    let dev: DmDev;
    try {
      dev = ti.getDevice(argv[0]!);
    } catch {
      throw new LogCtrError();
    }
    const args = parseLogArgs(ti, argv.slice(1));
    const bufSize = Math.ceil(((LOG_OFFSET << 9) + bitsetBytes(args.regionCount)) / LOGICAL_BLOCK_SIZE) * LOGICAL_BLOCK_SIZE;
    if (bufSize > dev.bdev.sizeSectors() * 512) {
      dmLogWarn(ti, `log device ${dev.name} too small: need ${bufSize} bytes`);
      throw new LogCtrError();
    }
    const vm = ti.kernel.vmalloc;
    if (!vm.alloc(bufSize)) {
      dmLogWarn(ti, "couldn't allocate disk log buffer");
      throw new LogCtrError(-12);
    }
    try {
      return new DiskLog(diskLogType, ti, args, dev, Buffer.alloc(bufSize), flushCallback);
    } catch (e) {
      vm.free(bufSize);
      throw e;
    }
  },
};
