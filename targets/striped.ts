// dm-stripe (v1.6.0): chunks dealt round-robin over several devices.

import { DmMapio, DmEndio, CtrError, targetOffset, type DmDev, type DmTarget, type IterateDevicesFn, type Target, type TargetType } from '../kernel/dm-target.js';
import { ReqOp, REQ_RAHEAD, type Bio, type BlkStatus } from '../kernel/bio.js';
import type { QueueLimits } from '../kernel/block.js';
import { KernelError } from '../kernel/errno.js';
import { kstrtouint, sscanfU64 } from '../tables/args.js';
import { scheduleWork, WorkStruct } from '../kernel/workqueue.js';

/** sizeof(struct stripe_c) without its stripes, sizeof(struct stripe), and kmalloc's limit (order MAX_ORDER - 1 pages). */
const STRIPE_C_BYTES = 64;
const STRIPE_BYTES = 24;
const KMALLOC_MAX_SIZE = 4 * 1024 * 1024;

/** Errors on a stripe's device after which no more events are raised. */
const DM_IO_ERROR_THRESHOLD = 15;

/** physicalStart is sector_t, exact; startSector is the same as a number, for the bio path. */
interface Stripe { dev: DmDev; physicalStart: bigint; startSector: number; errorCount: number }

class Striped implements Target {
  /** sc->trigger_event: dm_table_event from the system workqueue. */
  private readonly triggerEvent = new WorkStruct(() => this.ti.event());

  constructor(
    private readonly ti: DmTarget,
    private readonly chunkSize: number,
    private readonly stripes: Stripe[],
    private readonly stripeWidth: bigint,
  ) {}

  map(bio: Bio): DmMapio {
    if (bio.op === ReqOp.FLUSH) {
      bio.bdev = this.stripes[bio.targetBioNr]!.dev.bdev;
      return DmMapio.REMAPPED;
    }
    // stripe_map_sector
    const off = targetOffset(this.ti, bio.sector);
    const chunkOffset = off % this.chunkSize;
    let chunk = Math.floor(off / this.chunkSize);
    const n = this.stripes.length;
    const stripe = chunk % n;
    chunk = Math.floor(chunk / n);
    const s = this.stripes[stripe]!;
    bio.sector = chunk * this.chunkSize + chunkOffset + s.startSector;
    bio.bdev = s.dev.bdev;
    return DmMapio.REMAPPED;
  }

  endIo(bio: Bio, status: BlkStatus): DmEndio {
    if (!status || bio.flags & REQ_RAHEAD || status === 'EOPNOTSUPP') return DmEndio.DONE;
    // Count the error against every stripe on the device that failed.
    for (const s of this.stripes) {
      if (s.dev.bdev === bio.bdev) {
        s.errorCount++;
        if (s.errorCount < DM_IO_ERROR_THRESHOLD) scheduleWork(this.ti.kernel.clock, this.triggerEvent);
      }
    }
    return DmEndio.DONE;
  }

  status(type: 'info' | 'table' | 'ima'): string {
    if (type === 'info') {
      return `${this.stripes.length} ${this.stripes.map((s) => s.dev.name + ' ').join('')}1 ${this.stripes.map((s) => (s.errorCount ? 'D' : 'A')).join('')}`;
    }
    if (type === 'table') {
      return `${this.stripes.length} ${this.chunkSize}${this.stripes.map((s) => ` ${s.dev.name} ${s.physicalStart}`).join('')}`;
    }
    return `target_name=striped,target_version=1.6.0,stripes=${this.stripes.length},chunk_size=${this.chunkSize}` +
      this.stripes.map((s, i) => `,stripe_${i}_device_name=${s.dev.name},stripe_${i}_physical_start=${s.physicalStart},stripe_${i}_status=${s.errorCount ? 'D' : 'A'}`).join('') + ';';
  }

  iterateDevices(fn: IterateDevicesFn): void {
    for (const s of this.stripes) fn(s.dev, s.physicalStart, this.stripeWidth);
  }

  /** stripe_io_hints: io_min one chunk, io_opt one full stripe (unsigned int bytes). */
  ioHints(limits: QueueLimits): void {
    const chunkBytes = (BigInt(this.chunkSize) << 9n) % 0x100000000n;
    limits.ioMin = Number(chunkBytes);
    limits.ioOpt = Number((chunkBytes * BigInt(this.stripes.length)) % 0x100000000n);
  }
}

export const stripedTarget: TargetType = {
  name: 'striped',
  version: [1, 6, 0],
  ctr(ti, argv) {
    if (argv.length < 2) throw new CtrError('Not enough arguments');
    const stripes = kstrtouint(argv[0]!);
    if (!stripes) throw new CtrError('Invalid stripe count');
    const chunkSize = kstrtouint(argv[1]!);
    if (!chunkSize) throw new CtrError('Invalid chunk_size');
    if (ti.len % BigInt(stripes)) throw new CtrError('Target length not divisible by number of stripes');
    const width = ti.len / BigInt(stripes);
    if (width % BigInt(chunkSize)) throw new CtrError('Target length not divisible by chunk size');
    // argc != 2 + 2 * stripes in unsigned int arithmetic: 2^31 stripes make it 2.
    if (argv.length !== ((2 + 2 * stripes) >>> 0)) throw new CtrError('Not enough destinations specified');
    // kmalloc(struct_size(sc, stripe, stripes)) fails past KMALLOC_MAX_SIZE.
    if (STRIPE_C_BYTES + stripes * STRIPE_BYTES > KMALLOC_MAX_SIZE) throw new CtrError('Memory allocation for striped context failed', 'ENOMEM');
    ti.maxIoLen = chunkSize;
    ti.numFlushBios = stripes;
    const devs: Stripe[] = [];
    for (let i = 0; i < stripes; i++) {
      const path = argv[2 + 2 * i]!;
      const start = sscanfU64(argv[3 + 2 * i]);
      if (start === undefined) throw new CtrError("Couldn't parse stripe destination");
      try {
        devs.push({ dev: ti.getDevice(path), physicalStart: start, startSector: Number(start), errorCount: 0 });
      } catch (e) {
        throw new CtrError("Couldn't parse stripe destination", e instanceof KernelError ? e.errno : 'EINVAL');
      }
    }
    return new Striped(ti, chunkSize, devs, width);
  },
};
