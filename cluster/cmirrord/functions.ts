// cmirrord's log state machine (lvm2 daemons/cmirrord/functions.c): one
// struct log_c per log, the same on every node, changed only by requests
// applied in the CPG's total order. clustered-disk keeps the clean bits on the
// log device in the kernel's disk-log layout ("MiRr", version 2, bitmap at 1024).

import { blkdevRead, blkdevWrite } from '../../kernel/blkdev-io.js';
import type { BlockDevice } from '../../kernel/block.js';
import { DM_MAJOR } from '../../kernel/block.js';
import { strerror } from '../../kernel/errno.js';
import type { Kernel } from '../../kernel/kernel.js';
import { clearBit, findNextZeroBit, memweight, setBit, testBit } from '../../targets/mirror/bitset.js';
import type { NodeId } from '../cpg.js';
import { DmUlog, readU64s, u64s, type Checkpoint, type DmUlogRequest } from './request.js';

const EINVAL = -22;
const MIRROR_MAGIC = 0x4d695272;
const MIRROR_DISK_VERSION = 2;
const LOG_OFFSET = 1024;
const PAGE_SIZE = 4096;
const RESYNC_HISTORY = 50;
const EIO = -5;

/** SHORT_UUID: the last 8 characters. */
export function shortUuid(uuid: string): string { return uuid.length > 8 ? uuid.slice(-8) : uuid; }

/** A clustered-disk log's device: what find_disk_path found, opened O_RDWR|O_DIRECT. */
export interface LogDisk { bdev: BlockDevice }

export enum Sync { DEFAULTSYNC, NOSYNC, FORCESYNC }
export type LogState = 'LOG_PENDING' | 'LOG_RESUMED' | 'LOG_SUSPENDED';

interface MarkEntry { nodeid: NodeId; region: number }

/** struct log_c. */
/** LOG_SPRINT's ring of the last lines (resync_history, a group's debugging[]), indexed by idx. */
export class SprintRing {
  private readonly ring: string[];
  private idx = 0;

  constructor(size: number) { this.ring = new Array<string>(size).fill(''); }

  sprint(line: string): void {
    this.idx = (this.idx + 1) % this.ring.length;
    this.ring[this.idx] = line;
  }

  /** The lines as cmirrord's dumps print them, `i:idx) line` (the walk moves idx round once, as theirs does). */
  lines(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      this.idx = (this.idx + 1) % this.ring.length;
      if (this.ring[this.idx]) out.push(`${i}:${this.idx}) ${this.ring[this.idx]}`);
    }
    return out;
  }
}

export class LogC {
  cleanBits: Uint32Array;
  syncBits: Uint32Array;
  syncCount: number;
  syncSearch = 0;
  recoveringRegion = -1;
  /** zalloc: 0 until a node is handed work (clog_postsuspend sets -1). */
  recoverer = 0;
  /** recovery_request_list: regions someone waits on, LIFO. */
  recoveryRequests: number[] = [];
  markList: MarkEntry[] = [];
  recoveryHalted = false;
  inSync = false;
  touched = false;
  state: LogState = 'LOG_PENDING';
  resumeOverride = 0;
  /** time(NULL) of its last suspend, in whole seconds (zalloc: 0, long ago); a RESUME sleeps until 3 s after it. */
  delay = -Infinity;
  logDevFailed = false;
  diskNrRegions = 0;
  /** skip_bit_warning (debugging): a region that was skipped by the recovery, or region_count. */
  skipBitWarning: number;
  /** LOG_ERROR: a line of cmirrord's output. */
  print: (line: string) => void = () => undefined;
  /** resync_history: the last RESYNC_HISTORY lines. */
  private readonly resyncHistory = new SprintRing(RESYNC_HISTORY);

  /** LOG_SPRINT. */
  sprint(line: string): void { this.resyncHistory.sprint(line); }

  /** log_debug's "Resync request history:" lines. */
  historyLines(): string[] { return this.resyncHistory.lines(); }

  constructor(readonly uuid: string, readonly luid: number, readonly regionSize: number, readonly regionCount: number,
    readonly sync: Sync, readonly blockOnError: boolean, readonly ctrString: string,
    /** clustered-disk: the log device. */
    readonly disk: LogDisk | null) {
    // dm_bitset_create(NULL, region_count): region_count / 32 + 1 words of bits (after the count).
    const words = Math.floor(regionCount / 32) + 1;
    this.cleanBits = new Uint32Array(words);
    this.syncBits = new Uint32Array(words);
    // dm_bit_set_all: every word, the bits past region_count too (a resume clears or replaces them).
    if (sync === Sync.NOSYNC) this.syncBits.fill(0xffffffff);
    this.syncCount = sync === Sync.NOSYNC ? regionCount : 0;
    this.skipBitWarning = regionCount;
  }

  get typeName(): string { return this.disk ? 'clustered-disk' : 'clustered-core'; }

  private setBit(bs: Uint32Array, bit: number): void { setBit(bs, bit); this.touched = true; }
  private clearBit(bs: Uint32Array, bit: number): void { clearBit(bs, bit); this.touched = true; }

  // ---- the disk log --------------------------------------------------------------

  /** disk_size: a page for the header and pages for the bits (ceil(region_count / page size) of them). */
  private diskSize(): number { return (Math.ceil(this.regionCount / PAGE_SIZE) + 1) * PAGE_SIZE; }

  /**
   * disk_buffer: disk_size bytes, zeroed by the constructor, filled by each
   * read of the log and written whole; write_log changes only the header and
   * the bitset's bytes in it, so whatever a read left beyond them (the bits of
   * a bigger mirror that used the log before) goes back to the disk as it was.
   */
  private diskBuffer: Buffer | null = null;
  private get buffer(): Buffer { return (this.diskBuffer ??= Buffer.alloc(this.diskSize())); }

  /** rw_log: read(2) or write(2) of disk_buffer at 0 of the log device (O_DIRECT: one request). */
  private async rwLog(doWrite: boolean): Promise<number> {
    const size = this.diskSize();
    const bdev = this.disk!.bdev;
    if (doWrite) {
      const r = await blkdevWrite(bdev, 0, this.buffer, size);
      if (r.error) {
        this.print(`[${shortUuid(this.uuid)}] rw_log:  write failure: ${strerror(r.error)}`);
        return EIO;
      }
      return 0;
    }
    const r = await blkdevRead(bdev, 0, size / 512, size);
    if (r.error) this.print(`[${shortUuid(this.uuid)}] rw_log:  read failure: ${strerror(r.error)}`);
    else r.data.copy(this.buffer, 0, 0, Math.min(r.bytes, size));
    if (r.error || r.bytes !== size) return EIO;
    return 0;
  }

  /** read_log: the header's magic and nr_regions, and the clean bits from 1024. */
  private async readLog(): Promise<number> {
    if (await this.rwLog(false)) return EIO;
    const buf = this.buffer;
    if (buf.readUInt32LE(0) !== MIRROR_MAGIC) return EINVAL;
    this.diskNrRegions = Number(buf.readBigUInt64LE(8));
    const bytes = Math.ceil(this.regionCount / 8);
    const bits = Buffer.from(this.cleanBits.buffer, this.cleanBits.byteOffset, this.cleanBits.byteLength);
    buf.copy(bits, 0, LOG_OFFSET, LOG_OFFSET + bytes);
    return 0;
  }

  /** write_log: header then bitmap into disk_buffer, then all of it; a failure marks the log device failed. */
  async writeLog(): Promise<number> {
    const buf = this.buffer;
    buf.writeUInt32LE(MIRROR_MAGIC, 0);
    buf.writeUInt32LE(MIRROR_DISK_VERSION, 4);
    buf.writeBigUInt64LE(BigInt(this.regionCount), 8);
    Buffer.from(this.cleanBits.buffer, this.cleanBits.byteOffset, Math.ceil(this.regionCount / 8)).copy(buf, LOG_OFFSET);
    if (await this.rwLog(true)) {
      this.logDevFailed = true;
      return EIO;
    }
    return 0;
  }

  // ---- requests ---------------------------------------------------------------

  /** clog_resume: master resume (first in the group) reads the disk; a joiner's bits came in a checkpoint. */
  resume(): number | Promise<number> {
    this.inSync = false;
    switch (this.resumeOverride) {
      case 1000:
        this.print(`[${shortUuid(this.uuid)}] Additional resume issued before suspend`);
        return 0;
      case 0:
        this.resumeOverride = 1000;
        if (!this.disk) return this.resumeBits(false, 0);
        return (async () => {
          let error: number;
          if (this.logDevFailed) {
            this.print('Log device has failed, unable to read bits');
            error = 0;
            this.diskNrRegions = 0;
          } else {
            error = await this.readLog();
          }
          if (error === EINVAL) this.diskNrRegions = 0; // (re)initializing the log: resync
          else if (error) {
            this.print('Failed to read disk log');
            this.diskNrRegions = 0;
          }
          return this.resumeBits(true, error);
        })();
      case 1: this.print('Error:: partial bit loading (just sync_bits)'); return EINVAL;
      case 2: this.print('Error:: partial bit loading (just clean_bits)'); return EINVAL;
      case 3:
        this.resumeOverride = 1000;
        return this.resumed(0);
      default:
        this.print(`Error:: multiple loading of bits (${this.resumeOverride})`);
        return EINVAL;
    }
  }

  /** no_disk: in clog_resume: the bits of regions the disk did not have, clean copied to sync; the first disk write. */
  private resumeBits(commitLog: boolean, error: number): number | Promise<number> {
    // Grown: new regions are clean under nosync, else dirty.
    for (let i = this.disk ? this.diskNrRegions : 0; i < this.regionCount; i++) {
      if (this.sync === Sync.NOSYNC) this.setBit(this.cleanBits, i); else this.clearBit(this.cleanBits, i);
    }
    for (let i = this.regionCount; i % 32; i++) this.clearBit(this.cleanBits, i);
    this.syncBits.set(this.cleanBits);
    if (!commitLog || !this.disk) return this.resumed(error);
    return this.writeLog().then((e) => {
      if (e) this.print('Failed initial disk log write');
      this.touched = false;
      return this.resumed(e);
    });
  }

  /** out: in clog_resume. */
  private resumed(error: number): number {
    for (let i = this.regionCount; i % 32; i++) {
      clearBit(this.cleanBits, i);
      clearBit(this.syncBits, i);
    }
    this.syncCount = memweight(this.syncBits);
    this.sprint(`[${shortUuid(this.uuid)}] Initial sync_count = ${this.syncCount}`);
    this.syncSearch = 0;
    this.state = 'LOG_RESUMED';
    this.recoveryHalted = false;
    return error;
  }

  /** Is region out of range? (requests name regions by u64). */
  private bad(region: number): boolean { return !(region >= 0 && region < this.regionCount); }

  isClean(region: number): number { return testBit(this.cleanBits, region); }

  /** clog_in_sync: the sync bit, forced to 1 once the whole mirror was recovered. */
  inSyncOf(region: number): number {
    const r = testBit(this.syncBits, region);
    return !r && this.inSync ? 1 : r;
  }

  /** clog_flush: only the server writes the disk. */
  flush(server: boolean): number | Promise<number> {
    if (!this.touched) return 0;
    if (server && this.disk) {
      return this.writeLog().then((r) => {
        if (r) this.print(`[${shortUuid(this.uuid)}] Error writing to disk log`);
        this.touched = false;
        return r;
      });
    }
    this.touched = false;
    return 0;
  }

  markRegion(region: number, who: NodeId): void {
    let found = false;
    for (const m of this.markList) {
      if (m.region !== region) continue;
      found = true;
      if (m.nodeid === who) return;
    }
    if (!found) this.clearBit(this.cleanBits, region);
    this.markList.push({ nodeid: who, region });
  }

  clearRegion(region: number, who: NodeId): void {
    let otherMatches = false;
    this.markList = this.markList.filter((m) => {
      if (m.region !== region) return true;
      if (m.nodeid === who) return false;
      otherMatches = true;
      return true;
    });
    // Clean only if in sync and nobody else has it marked.
    if (!otherMatches && testBit(this.syncBits, region)) this.setBit(this.cleanBits, region);
  }

  /** clog_get_resync_work: one recovery slot per log, cluster-wide; the priority list first. */
  getResyncWork(originator: NodeId, seq = 0): [number, number] {
    const h = `GET - SEQ#=${seq}, UUID=${shortUuid(this.uuid)}, nodeid = ${originator}:: `;
    if (this.syncSearch >= this.regionCount) {
      this.sprint(`${h}Recovery finished`);
      return [0, 0];
    }
    if (this.recoveringRegion !== -1) {
      // Same node asking again (a lost reply): the same region; anyone else: someone is already recovering.
      if (this.recoverer === originator) {
        this.sprint(`${h}Re-requesting work (${this.recoveringRegion})`);
        return [1, this.recoveringRegion];
      }
      this.sprint(`${h}Someone already recovering (${this.recoveringRegion})`);
      return [0, 0];
    }
    while (this.recoveryRequests.length) {
      const r = this.recoveryRequests.shift()!;
      if (!testBit(this.syncBits, r)) {
        this.sprint(`${h}Assigning priority resync work (${r})`);
        this.recoveringRegion = r;
        this.recoverer = originator;
        return [1, r];
      }
    }
    const r = findNextZeroBit(this.syncBits, this.regionCount, this.syncSearch);
    if (r >= this.regionCount) {
      this.sprint(`${h}Resync work complete.`);
      this.syncSearch = this.regionCount + 1;
      return [0, 0];
    }
    this.syncSearch = r + 1;
    this.sprint(`${h}Assigning resync work (${r})`);
    this.recoveringRegion = r;
    this.recoverer = originator;
    return [1, r];
  }

  /** clog_set_region_sync. */
  setRegionSync(region: number, inSync: boolean, originator: NodeId = 0, seq = 0): void {
    const h = `SET - SEQ#=${seq}, UUID=${shortUuid(this.uuid)}, nodeid = ${originator}:: `;
    this.recoveringRegion = -1;
    if (inSync) {
      if (testBit(this.syncBits, region)) {
        this.sprint(`${h}Region already set (${region})`);
      } else {
        this.setBit(this.syncBits, region);
        this.syncCount++;
        this.sprint(`${h}Setting region (${region})`);
        // The rest is for debugging: regions set out of order.
        if (region === this.skipBitWarning) this.skipBitWarning = this.regionCount;
        if (region > this.skipBitWarning + 5) {
          this.sprint(`*** Region #${this.skipBitWarning} skipped during recovery ***`);
          this.skipBitWarning = this.regionCount;
        }
        if (!testBit(this.syncBits, region ? region - 1 : 0)) {
          this.sprint('*** Previous bit not set ***');
          this.skipBitWarning = region ? region - 1 : 0;
        }
      }
    } else if (testBit(this.syncBits, region)) {
      this.syncCount--;
      this.clearBit(this.syncBits, region);
      this.sprint(`${h}Unsetting region (${region})`);
    }
    const count = memweight(this.syncBits);
    if (this.syncCount !== count) {
      this.sprint(`${h}sync_count(${this.syncCount}) != bitmap count(${count})`);
      this.syncCount = count;
    }
    if (this.syncCount > this.regionCount) this.sprint(`${h}(lc->sync_count > lc->region_count) - this is bad`);
    if (this.syncCount === this.regionCount) this.inSync = true;
  }

  /** clog_is_remote_recovering: any region not in sync is "recovering", and jumps the recovery queue. */
  isRemoteRecovering(region: number): [number, number] {
    let isRecovering: number, hint: number;
    if (this.recoveryHalted) {
      isRecovering = 0;
      hint = this.regionCount;
    } else {
      isRecovering = testBit(this.syncBits, region) ? 0 : 1;
      hint = this.syncSearch ? this.syncSearch - 1 : 0;
    }
    if (isRecovering && region !== this.recoveringRegion && !this.recoveryRequests.includes(region)) {
      this.recoveryRequests.unshift(region);
    }
    return [isRecovering, hint];
  }

  statusInfo(): string {
    // disk_status_info: the device's number, from fstat of the open log device.
    return this.disk ? `3 clustered-disk ${this.disk.bdev.major}:${this.disk.bdev.minor} ${this.logDevFailed ? 'D' : 'A'}` : '1 clustered-core';
  }

  statusTable(): string {
    const sync = this.sync === Sync.NOSYNC ? 'nosync ' : this.sync === Sync.FORCESYNC ? 'sync ' : '';
    return `${this.typeName} ${this.disk ? `${this.disk.bdev.major}:${this.disk.bdev.minor} ` : ''}${this.regionSize} ${sync}${this.blockOnError ? 'block_on_error ' : ''}`;
  }

  // ---- checkpoints ---------------------------------------------------------------

  /** export_checkpoint. */
  exportCheckpoint(requester: NodeId): Checkpoint {
    this.sprint(`CKPT SEND - SEQ#=X, UUID=${shortUuid(this.uuid)}, nodeid = ${requester}:: recovering_region=${this.recoveringRegion === -1 ? '18446744073709551615' : this.recoveringRegion}, recoverer=${this.recoverer === -1 ? 4294967295 : this.recoverer}, sync_count=${memweight(this.syncBits)}`);
    return {
      requester,
      syncBits: this.syncBits.slice(),
      cleanBits: this.cleanBits.slice(),
      recoveringRegion: `${this.recoveringRegion === -1 ? '18446744073709551615' : this.recoveringRegion} ${this.recoverer === -1 ? 4294967295 : this.recoverer}`,
    };
  }

  /**
   * pull_state of one bitset: refused unless the checkpoint's bitset has the
   * size of ours ((region_count / 32 + 1) * 4 bytes), as when the joiner's
   * table gives the log another region count.
   */
  private pullBits(which: 'sync_bits' | 'clean_bits', bits: Uint32Array): number {
    const own = this.syncBits.byteLength;
    if (bits.byteLength !== own) {
      this.print(`pull_state(${which}): bad bitset_size (${bits.byteLength} vs ${own})`);
      return EINVAL;
    }
    if (which === 'sync_bits') { this.resumeOverride += 1; this.syncBits.set(bits); }
    else { this.resumeOverride += 2; this.cleanBits.set(bits); }
    return 0;
  }

  /** import_checkpoint (pull_state): sync bits +1, clean bits +2, the recovery slot; -EIO if one is refused. */
  importCheckpoint(cp: Checkpoint): number {
    if (this.pullBits('sync_bits', cp.syncBits) || this.pullBits('clean_bits', cp.cleanBits)) {
      this.print('Error loading bitmap state from checkpoint.');
      return EIO;
    }
    const [r, who] = cp.recoveringRegion.split(' ');
    this.recoveringRegion = r === '18446744073709551615' ? -1 : Number(r);
    this.recoverer = who === '4294967295' ? -1 : Number(who);
    this.sprint(`CKPT INIT - SEQ#=X, UUID=${shortUuid(this.uuid)}, nodeid = X:: recovering_region=${r}, recoverer=${who}`);
    return 0;
  }

  /** print_bits: the bitset's bytes (ceil(region_count / 8) of them), 16 a line, "[  0 -  15] FF ...". */
  printBits(bs: Uint32Array): string[] {
    const bytes = Buffer.from(bs.buffer, bs.byteOffset, bs.byteLength);
    const size = Math.ceil(this.regionCount / 8);
    const out: string[] = [];
    let line = '';
    for (let i = 0; i < size; i++) {
      if (!(i % 16)) {
        if (line) out.push(line);
        line = `[${String(i).padStart(3)} - ${String(i + 15).padStart(3)}]`;
      }
      line += ` ${(bytes[i] ?? 0).toString(16).toUpperCase().padStart(2, '0')}`;
    }
    if (line) out.push(line);
    return out;
  }
}

/**
 * find_disk_path: a path (no ':') must name a block device; maj:min is looked
 * for among /dev/mapper's entries only. A negative errno when not found.
 */
function findDiskPath(kernel: Kernel, arg: string): BlockDevice | number {
  if (!arg.includes(':')) {
    const dev = arg.startsWith('/dev/') ? kernel.lookupDevPath(arg) : undefined;
    // A path that is not a device node of this node (a regular file, nothing): stat fails or it is no block device.
    return dev ?? -2;
  }
  const m = /^([+-]?[0-9]+):([+-]?[0-9]+)/.exec(arg);
  if (!m) return EINVAL;
  const major = Number(m[1]), minor = Number(m[2]);
  for (const name of kernel.devfs.list()) {
    const dev = kernel.lookupDevPath(`/dev/mapper/${name}`);
    if (dev && dev.major === major && dev.minor === minor && major === DM_MAJOR) return dev;
  }
  return -2;
}

/**
 * strtoll(s, &p, 0): leading white space, a sign, then hex after "0x", octal
 * after a leading 0, else decimal; clamped at the long long range. `whole`:
 * *p is the terminating NUL (the digits ran to the end).
 */
export function strtoll0(s: string): { value: bigint; whole: boolean } {
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i]!)) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') { neg = s[i] === '-'; i++; }
  let base = 10;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-f]/i.test(s[i + 2] ?? '')) { base = 16; i += 2; }
  else if (s[i] === '0') base = 8;
  const digit = base === 16 ? /[0-9a-f]/i : base === 8 ? /[0-7]/ : /[0-9]/;
  const start = i;
  let v = 0n;
  while (i < s.length && digit.test(s[i]!)) { v = v * BigInt(base) + BigInt(parseInt(s[i]!, 16)); i++; }
  if (i === start) return { value: 0n, whole: s.length === 0 }; // no number: p = s
  const max = (1n << 63n) - 1n;
  const value = neg ? (v > max + 1n ? -(max + 1n) : -v) : (v > max ? max : v);
  return { value, whole: i === s.length };
}

/**
 * _clog_ctr: a log's arguments (after its type) "[<log device>] <region_size>
 * [sync|nosync] [block_on_error]" of a mirror of deviceSize sectors. On
 * failure, the line it prints (LOG_ERROR) for clog_ctr to print.
 */
export function clogCtr(kernel: Kernel, uuid: string, luid: number, argv: string[], deviceSize: bigint, ctr: string): LogC | string {
  const failed = (why: string): string => why;
  let disk: LogDisk | null = null;
  // "If core log request, then argv[0] will be region_size": strtoll(argv[0], &p, 0) is 0 or stops short.
  const first = strtoll0(argv[0] ?? '');
  const isDisk = !first.value || !first.whole;
  if (isDisk) {
    if (argv.length < 2 || argv.length > 4) return failed(`Too ${argv.length < 3 ? 'few' : 'many'} arguments to clustered-disk log type`);
    const dev = findDiskPath(kernel, argv[0]!);
    if (typeof dev === 'number') return failed(`Unable to find path to device ${argv[0]}`);
    disk = { bdev: dev };
  } else if (argv.length < 1 || argv.length > 3) {
    return failed(`Too ${argv.length < 2 ? 'few' : 'many'} arguments to clustered-core log type`);
  }
  const rs = strtoll0(argv[disk ? 1 : 0]!);
  if (!rs.value || !rs.whole) return failed(`Invalid region_size argument to clustered-${disk ? 'disk' : 'core'} log type`);
  // uint64_t region_size = strtoll(...): a negative number wraps.
  const regionSize64 = BigInt.asUintN(64, rs.value);
  const size64 = deviceSize;
  const regionSize = Number(regionSize64);
  const regionCount = Number(size64 / regionSize64 + (size64 % regionSize64 ? 1n : 0n));
  let sync = Sync.DEFAULTSYNC, blockOnError = false;
  for (const a of argv) {
    if (a === 'sync') sync = Sync.FORCESYNC;
    else if (a === 'nosync') sync = Sync.NOSYNC;
    else if (a === 'block_on_error') blockOnError = true;
  }
  // open(disk_path, O_RDWR | O_DIRECT), kept until the log's destructor.
  disk?.bdev.open();
  return new LogC(uuid, luid, regionSize, regionCount, sync, blockOnError, ctr, disk);
}

/**
 * do_request for the requests every member applies (the cluster path) and
 * the local ones; fills rq.data and rq.error with the answer.
 */
export function doRequest(lc: LogC, rq: DmUlogRequest, originator: NodeId, server: boolean): void | Promise<void> {
  const w = readU64s(rq.data);
  let r: number | Promise<number> = 0;
  const region = w[0] ?? -1;
  switch (rq.requestType & 0xff) {
    case DmUlog.RESUME: r = lc.resume(); rq.data = Buffer.alloc(0); break;
    case DmUlog.PRESUSPEND: lc.recoveryHalted = true; rq.data = Buffer.alloc(0); break;
    case DmUlog.GET_REGION_SIZE: rq.data = u64s(lc.regionSize); break;
    // cmirrord checks no region of IS_CLEAN, MARK, CLEAR or SET_REGION_SYNC against region_count, and lets IN_SYNC
    // and IS_REMOTE_RECOVERING have region_count itself: a region of another node's bigger table lands in the
    // bitsets' last word if it has room there (beyond it, C writes past the bitset; here it is dropped).
    case DmUlog.IS_CLEAN: r = region >= 0 ? 0 : EINVAL; if (!r) rq.data = u64s(lc.isClean(region)); break;
    case DmUlog.IN_SYNC: r = region >= 0 && region <= lc.regionCount ? 0 : EINVAL; if (!r) rq.data = u64s(lc.inSyncOf(region)); break;
    case DmUlog.FLUSH: r = lc.flush(server); rq.data = Buffer.alloc(0); break;
    case DmUlog.MARK_REGION: for (const x of w) if (x >= 0) lc.markRegion(x, originator); rq.data = Buffer.alloc(0); break;
    case DmUlog.CLEAR_REGION: for (const x of w) if (x >= 0) lc.clearRegion(x, originator); rq.data = Buffer.alloc(0); break;
    case DmUlog.GET_RESYNC_WORK: rq.data = u64s(...lc.getResyncWork(originator, rq.seq)); break;
    case DmUlog.SET_REGION_SYNC: lc.setRegionSync(region, (w[1] ?? 0) !== 0, originator, rq.seq); rq.data = Buffer.alloc(0); break;
    case DmUlog.GET_SYNC_COUNT: {
      rq.data = u64s(lc.syncCount);
      // Answered, then corrected if it drifted from the bits.
      const count = memweight(lc.syncBits);
      if (lc.syncCount !== count) {
        lc.sprint(`get_sync_count - SEQ#=${rq.seq}, UUID=${shortUuid(lc.uuid)}, nodeid = ${originator}:: sync_count(${lc.syncCount}) != bitmap count(${count})`);
        lc.syncCount = count;
      }
      break;
    }
    case DmUlog.STATUS_INFO: rq.data = Buffer.from(lc.statusInfo() + '\0'); break;
    case DmUlog.STATUS_TABLE: rq.data = Buffer.from(lc.statusTable() + '\0'); break;
    case DmUlog.IS_REMOTE_RECOVERING:
      // "if (region > lc->region_count) return -EINVAL": region_count itself is let through.
      r = region >= 0 && region <= lc.regionCount ? 0 : EINVAL;
      if (!r) rq.data = u64s(...lc.isRemoteRecovering(region));
      break;
    default: r = EINVAL;
  }
  // Disk log I/O (resume, flush): cmirrord blocks in read(2)/write(2) meanwhile.
  if (typeof r !== 'number') return r.then((e) => { rq.error = e; });
  rq.error = r;
}
