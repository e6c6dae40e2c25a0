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

export class LoopDevice implements BlockDevice {
  readonly major = LOOP_MAJOR;
  readonly diskName: string;
  openCount = 0;
  /** The backing file while attached. */
  file: string | null = null;
  readOnly = false;
  bdReadOnly = false;
  /** The gendisk's default read-ahead, VM_READAHEAD_PAGES (128 KiB). */
  raPages = 32;
  /** LO_FLAGS_AUTOCLEAR: detach when the last opener closes. */
  autoclear = false;
  private fd = -1;
  private sectors = 0;

  constructor(readonly minor: number, private readonly clock: Clock, readonly klog?: KernelLog) {
    this.diskName = `loop${minor}`;
  }

  get attached(): boolean { return this.file !== null; }

  sizeSectors(): number { return this.sectors; }

  /** LOOP_SET_FD: attach a file; the size is fixed now, as the kernel does. */
  attach(file: string, readOnly = false): void {
    if (this.attached) throw new KernelError('EBUSY');
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
    this.readOnly = readOnly;
    this.sectors = Math.floor(st.size / 512);
  }

  /** LOOP_CLR_FD. */
  detach(): void {
    if (!this.attached) throw new KernelError('ENXIO');
    if (this.openCount > 0) throw new KernelError('EBUSY');
    fs.closeSync(this.fd);
    this.fd = -1;
    this.file = null;
    this.autoclear = false;
    this.sectors = 0;
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
    const fd = this.fd, buf = bio.data, size = buf.length, pos = bio.sector * 512, read = bio.op === ReqOp.READ;
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
    const pos = bio.sector * 512;
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

