// Loop devices (/dev/loopN = 7:N) over regular files: the emulation's disks.

import * as fs from 'node:fs';
import { Bio, ReqOp, bioEndio, bioInside } from './bio.js';
import { LOOP_MAJOR, type BlockDevice } from './block.js';
import { KernelError, isErrno } from './errno.js';
import type { Clock } from './clock.js';
import type { KernelLog } from './klog.js';

/** Bios of this size and more are done on the thread pool (real clock only). */
const LOOP_ASYNC_MIN_BYTES = 64 << 10;

/** Loop devices that exist from boot, as `loop max_loop=16` gives. */
export const MAX_LOOP = 16;

const PAGE_SIZE = 4096;

/** What LOOP_CONFIGURE sets besides the file (struct loop_config: its loop_info64 and block_size). */
export interface LoopConfig {
  readOnly?: boolean;
  /** lo_offset: where in the file the device starts, in bytes. */
  offset?: number;
  /** lo_sizelimit: the most of the file the device uses, in bytes (0: all of it). */
  sizelimit?: number;
  /** The logical block size (0: 512). */
  blockSize?: number;
  /** LO_FLAGS_DIRECT_IO asked for. */
  directIo?: boolean;
  /** LO_FLAGS_PARTSCAN. */
  partscan?: boolean;
  /** lo_file_name as LOOP_SET_STATUS64 gives it (at most LO_NAME_SIZE - 1 bytes kept; absent: the file's real path). */
  fileName?: string;
}

/** LO_NAME_SIZE: lo_file_name's size, its NUL included. */
const LO_NAME_SIZE = 64;

/** blk_validate_block_size: a power of two from 512 to the page size. */
function validBlockSize(bsize: number): boolean {
  return bsize >= 512 && bsize <= PAGE_SIZE && (bsize & (bsize - 1)) === 0;
}

/** TMPFS_MAGIC: statfs's f_type of tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/**
 * Whether open(2) with O_DIRECT works on a file under Linux 6.1 (and so
 * FMODE_CAN_ODIRECT for a loop device's backing file): not on tmpfs, whose
 * shmem has no direct_IO before 6.6 (whatever the host's kernel allows), and
 * elsewhere as the host's file system answers.
 */
export function canDirectIo(file: string, readOnly: boolean): boolean {
  const O_DIRECT = fs.constants.O_DIRECT;
  if (O_DIRECT === undefined) return false;
  try {
    if (fs.statfsSync(file).type === TMPFS_MAGIC) return false;
  } catch {
    return false;
  }
  try {
    fs.closeSync(fs.openSync(file, (readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR) | O_DIRECT));
    return true;
  } catch {
    return false;
  }
}

export class LoopDevice implements BlockDevice {
  readonly major = LOOP_MAJOR;
  readonly diskName: string;
  openCount = 0;
  /** The backing file while attached. */
  file: string | null = null;
  /** bd_holders (block.ts). */
  bdHolders = 0;
  /** lo_file_name: the name the attaching program gave (LOOP_GET_STATUS64 reports it). */
  fileName = '';
  readOnly = false;
  bdReadOnly = false;
  /** The gendisk's default read-ahead, VM_READAHEAD_PAGES (128 KiB). */
  raPages = 32;
  /** LO_FLAGS_AUTOCLEAR: detach when the last opener closes. */
  autoclear = false;
  /** lo_offset and lo_sizelimit, in bytes. */
  offset = 0;
  sizelimit = 0;
  /** LO_FLAGS_PARTSCAN (partitions themselves are not emulated). */
  partscan = false;
  /** lo->use_dio: LO_FLAGS_DIRECT_IO as it took effect. */
  directIo = false;
  /** queue_logical_block_size. */
  logicalBlockSize = 512;
  private fd = -1;
  private sectors = 0;
  private canDio = false;

  constructor(readonly minor: number, readonly clock: Clock, readonly klog?: KernelLog) {
    this.diskName = `loop${minor}`;
  }

  get attached(): boolean { return this.file !== null; }

  sizeSectors(): number { return this.sectors; }

  /**
   * LOOP_CONFIGURE: attach a file with its offset, size limit, block size and
   * flags; the size is fixed now (file size less the offset, at most the size
   * limit, in whole sectors), as the kernel does.
   */
  attach(file: string, readOnlyOrConfig: boolean | LoopConfig = false): void {
    const config: LoopConfig = typeof readOnlyOrConfig === 'boolean' ? { readOnly: readOnlyOrConfig } : readOnlyOrConfig;
    let readOnly = config.readOnly ?? false;
    if (this.attached) throw new KernelError('EBUSY');
    // loop_configure: bd_prepare_to_claim fails while someone holds the device exclusively (a dm table).
    if (this.bdHolders) throw new KernelError('EBUSY');
    if (config.blockSize && !validBlockSize(config.blockSize)) throw new KernelError('EINVAL');
    // losetup's open of the backing file (O_RDWR, else O_RDONLY on EROFS/EACCES): its errno as it is.
    const openError = (e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code;
      return new KernelError(isErrno(code) ? code : 'EINVAL');
    };
    let fd: number;
    try {
      fd = fs.openSync(file, readOnly ? 'r' : 'r+');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (readOnly || (code !== 'EACCES' && code !== 'EROFS')) throw openError(e);
      try { fd = fs.openSync(file, 'r'); } catch (e2) { throw openError(e2); }
      readOnly = true;
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile() && !st.isBlockDevice()) {
      fs.closeSync(fd);
      throw new KernelError('EINVAL');
    }
    this.fd = fd;
    this.file = fs.realpathSync(file);
    this.fileName = Buffer.from(config.fileName ?? this.file).subarray(0, LO_NAME_SIZE - 1).toString();
    this.readOnly = readOnly;
    this.offset = config.offset ?? 0;
    this.sizelimit = config.sizelimit ?? 0;
    this.partscan = config.partscan ?? false;
    this.logicalBlockSize = config.blockSize || 512;
    this.canDio = canDirectIo(this.file, readOnly);
    this.updateDio(config.directIo ?? false);
    this.setSize(this.loopSize());
  }

  /** get_size: the file's size less the offset (0 if beyond it), at most the size limit, in sectors. */
  private loopSize(): number {
    let bytes = fs.fstatSync(this.fd).size;
    if (this.offset > 0) bytes -= this.offset;
    if (bytes < 0) return 0;
    if (this.sizelimit > 0 && this.sizelimit < bytes) bytes = this.sizelimit;
    return Math.floor(bytes / 512);
  }

  /** loop_set_size: set_capacity_and_notify, which logs a change of a live disk's size. */
  private setSize(sectors: number): void {
    if (sectors !== this.sectors) this.klog?.printk('info', `${this.diskName}: detected capacity change from ${this.sectors} to ${sectors}`);
    this.sectors = sectors;
  }

  /**
   * __loop_update_dio: direct I/O only if the backing file takes O_DIRECT and
   * the offset is aligned to the backing device's logical block (512 here).
   */
  private updateDio(dio: boolean): void {
    this.directIo = dio && this.canDio && this.offset % 512 === 0;
  }

  /** LOOP_SET_CAPACITY: the size again from the file as it is now. */
  setCapacity(): void {
    if (!this.attached) throw new KernelError('ENXIO');
    this.setSize(this.loopSize());
  }

  /** LOOP_SET_DIRECT_IO: EINVAL when direct I/O cannot be had. */
  setDirectIo(on: boolean): void {
    if (!this.attached) throw new KernelError('ENXIO');
    if (this.directIo === on) return;
    this.updateDio(on);
    if (this.directIo !== on) throw new KernelError('EINVAL');
  }

  /** LOOP_SET_BLOCK_SIZE. */
  setBlockSize(bsize: number): void {
    if (!this.attached) throw new KernelError('ENXIO');
    if (!validBlockSize(bsize)) throw new KernelError('EINVAL');
    this.logicalBlockSize = bsize;
    this.updateDio(this.directIo);
  }

  /** LOOP_CLR_FD. */
  detach(): void {
    if (!this.attached) throw new KernelError('ENXIO');
    if (this.openCount > 0) throw new KernelError('EBUSY');
    fs.closeSync(this.fd);
    this.fd = -1;
    this.file = null;
    this.autoclear = false;
    this.offset = this.sizelimit = 0;
    this.partscan = this.directIo = false;
    this.logicalBlockSize = 512;
    this.sectors = 0;
  }

  /**
   * LOOP_CLR_FD (loop_clr_fd): a device someone else holds open (a dm table,
   * say) is only marked for auto-clear, and detaches at its last close.
   */
  clrFd(): void {
    if (!this.attached) throw new KernelError('ENXIO');
    if (this.openCount > 0) {
      this.autoclear = true;
      return;
    }
    this.detach();
  }

  open(): void { this.openCount++; }
  close(): void {
    this.openCount--;
    if (this.openCount === 0 && this.autoclear && this.attached) {
      this.autoclear = false;
      this.detach();
    }
  }

  submitBio(bio: Bio): void {
    // submit_bio_noacct: a queue without a volatile write cache (QUEUE_FLAG_WC,
    // which only loop_configure sets) ends an empty flush at once, successfully;
    // an unattached loop device never sees it.
    if (!this.attached && bio.isEmptyFlush()) { this.clock.defer(() => bioEndio(bio, 0)); return; }
    // On the real clock, large reads and writes go to the thread pool (as
    // loop's lo_rw_aio or its workers do), so both legs of a mirror and the
    // next request proceed in parallel. Small ones cost less than a trip to
    // the pool and are done in place; on the virtual clock all are, so that
    // every run is the same.
    if (bio.size >= LOOP_ASYNC_MIN_BYTES && !this.clock.virtual && this.attached && (bio.op === ReqOp.READ || bio.op === ReqOp.WRITE) &&
        bioInside(bio.sector, bio.sectors, this.sectors) && !(bio.op === ReqOp.WRITE && this.readOnly)) {
      this.doIoAsync(bio);
      return;
    }
    const status = this.doIo(bio);
    // Completion comes later, from "interrupt context", as for a real disk.
    this.clock.defer(() => bioEndio(bio, status));
  }

  private doIoAsync(bio: Bio): void {
    const fd = this.fd, buf = bio.data, size = buf.length, pos = this.offset + bio.sector * 512, read = bio.op === ReqOp.READ;
    let done = 0;
    const step = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) { bioEndio(bio, 'EIO'); return; }
      if (read && n === 0) { buf.fill(0, done); done = size; }
      done += n;
      if (done >= size) { bioEndio(bio, 0); return; }
      if (read) fs.read(fd, buf, done, size - done, pos + done, step);
      else fs.write(fd, buf, done, size - done, pos + done, step);
    };
    if (read) fs.read(fd, buf, 0, size, pos, step);
    else fs.write(fd, buf, 0, size, pos, step);
  }

  private doIo(bio: Bio): 0 | 'EIO' | 'EOPNOTSUPP' {
    if (!this.attached) return 'EIO';
    if (bio.op === ReqOp.FLUSH || bio.op === ReqOp.DISCARD) return 0;
    if (!bioInside(bio.sector, bio.sectors, this.sectors)) return 'EIO';
    // lo_rw_aio / lo_read_simple: the file position is the offset plus the sector.
    const pos = this.offset + bio.sector * 512;
    try {
      if (bio.op === ReqOp.READ) {
        let done = 0;
        while (done < bio.size) {
          const n = fs.readSync(this.fd, bio.data, done, bio.size - done, pos + done);
          if (n === 0) { bio.data.fill(0, done); break; }
          done += n;
        }
      } else {
        if (this.readOnly) return 'EIO';
        let done = 0;
        while (done < bio.size) done += fs.writeSync(this.fd, bio.data, done, bio.size - done, pos + done);
      }
      return 0;
    } catch {
      return 'EIO';
    }
  }
}

