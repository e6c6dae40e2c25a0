// struct dm_table: an ordered, gap-free list of targets, the devices they hold,
// and the checks the kernel makes while loading one (dm-table.c).

import { CtrError, type DmDev, type DmTarget, type Target, type TargetType } from './dm-target.js';
import { KernelError, type Errno } from './errno.js';
import { formatDevT, stackingLimits, stackLimits, type BlockDevice, type QueueLimits } from './block.js';
import { splitArgs } from '../tables/split.js';
import type { MappedDevice } from './dm.js';
import type { Kernel } from './kernel.js';

const U64 = (1n << 64n) - 1n;
/** LLONG_MAX >> SECTOR_SHIFT: the largest end of a table. */
const LLONG_MAX_SECTORS = ((1n << 63n) - 1n) >> 9n;

export interface TableTarget {
  readonly type: TargetType;
  /** sector_t, exact. */
  readonly begin: bigint;
  readonly len: bigint;
  /** begin and begin + len as numbers, for the bio path (dm_table_find_target). */
  readonly beginSector: number;
  readonly endSector: number;
  readonly ti: TargetContext;
  readonly target: Target;
}

interface TableDev extends DmDev { count: number }

export class DmTable {
  readonly targets: TableTarget[] = [];
  /** Devices in kernel list order: most recently first referenced first. */
  readonly devices: TableDev[] = [];
  /** Set while the table is live: where dm_table_event goes. */
  eventFn: (() => void) | null = null;
  private destroyed = false;

  /**
   * @param attachCwd the loading command's directory when it enabled the
   *   DMSETUP_TS_ATTACH_FILES extension (files in the table attached to loop devices).
   */
  constructor(readonly md: MappedDevice, readonly kernel: Kernel, readonly readOnly: boolean, readonly attachCwd?: string) {}

  get log() { return this.kernel.klog.prefixed('table'); }

  /** dm_table_get_size: sector_t, exact. */
  size(): bigint {
    const last = this.targets[this.targets.length - 1];
    return last ? last.begin + last.len : 0n;
  }

  /** The size as a number, for the bio path. */
  sizeSectors(): number {
    const last = this.targets[this.targets.length - 1];
    return last ? last.endSector : 0;
  }

  /** dm_table_add_target: on failure logs as the kernel does and throws the errno. */
  addTarget(typeName: string, start: bigint, len: bigint, params: string): void {
    const mdName = this.md.kernelName;
    if (!len) {
      this.log.err(`${mdName}: zero-length target`);
      throw new KernelError('EINVAL');
    }
    // start + len wraps, or the device would be past LLONG_MAX bytes.
    const end = BigInt(start) + BigInt(len);
    if (end > U64 || end > LLONG_MAX_SECTORS) {
      this.log.err(`${mdName}: too large device`);
      throw new KernelError('EINVAL');
    }
    const type = this.kernel.targetTypes.get(typeName);
    if (!type) {
      this.log.err(`${mdName}: ${typeName}: unknown target type`);
      throw new KernelError('EINVAL');
    }
    const fail = (tiError: string, errno: Errno): never => {
      this.log.err(`${mdName}: ${typeName}: ${tiError} (-${errno})`);
      throw new KernelError(errno);
    };
    const prevEnd = this.size();
    if (start !== prevEnd) fail('Gap in table', 'EINVAL');
    const ti = new TargetContext(this, start, len);
    let target: Target;
    try {
      target = type.ctr(ti, splitArgs(params));
    } catch (e) {
      ti.releaseDevices();
      if (e instanceof CtrError) return fail(e.tiError, e.errno);
      if (e instanceof KernelError) return fail('Unknown error', e.errno);
      throw e;
    }
    this.targets.push({ type, begin: start, len, beginSector: ti.beginSector, endSector: ti.beginSector + ti.lenSectors, ti, target });
  }

  /**
   * dm_calculate_queue_limits' device-area check: every area a target maps must
   * lie inside its device (a device of size 0 is not checked).
   */
  validateDeviceAreas(): void {
    for (const t of this.targets) {
      t.target.iterateDevices?.((dev, start, len) => {
        const size = BigInt(dev.bdev.sizeSectors());
        if (!size) return;
        if (start >= size || start + len > size) {
          this.log.err(`${this.md.kernelName}: ${dev.bdev.diskName} too small for target: start=${start}, len=${len}, dev_size=${size}`);
          throw new KernelError('EINVAL');
        }
      });
    }
  }

  /**
   * dm_calculate_queue_limits, for io_min/io_opt: each target's devices stacked,
   * then its io_hints, then the targets stacked into the table's limits.
   */
  calculateQueueLimits(): QueueLimits {
    const limits = stackingLimits();
    for (const t of this.targets) {
      const tiLimits = stackingLimits();
      t.target.iterateDevices?.((dev) => { if (dev.bdev.limits) stackLimits(tiLimits, dev.bdev.limits); });
      t.target.ioHints?.(tiLimits);
      stackLimits(limits, tiLimits);
    }
    return limits;
  }

  /** The target holding a sector (dm_table_find_target). */
  findTarget(sector: number): TableTarget | undefined {
    const ts = this.targets;
    let lo = 0, hi = ts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const t = ts[mid]!;
      if (sector < t.beginSector) hi = mid - 1;
      else if (sector >= t.endSector) lo = mid + 1;
      else return t;
    }
    return undefined;
  }

  /** dm_table_find_target for an exact sector_t (a message's sector). */
  findTargetExact(sector: bigint): TableTarget | undefined {
    return this.targets.find((t) => sector >= t.begin && sector < t.begin + t.len);
  }

  event(): void { this.eventFn?.(); }

  getDevice(path: string): DmDev {
    const bdev = this.kernel.lookupDevice(path, this.attachCwd);
    let dd = this.devices.find((d) => d.bdev === bdev);
    if (!dd) {
      this.md.getTableDevice(bdev);
      dd = { bdev, name: formatDevT(bdev), count: 0 };
      this.devices.unshift(dd);
    }
    dd.count++;
    return dd;
  }

  putDevice(dev: DmDev): void {
    const i = this.devices.findIndex((d) => d === dev);
    if (i < 0) return;
    const dd = this.devices[i]!;
    if (--dd.count === 0) {
      this.devices.splice(i, 1);
      this.md.putTableDevice(dd.bdev);
    }
  }

  /** dm_table_destroy: destruct every target and drop the devices. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.eventFn = null;
    for (const t of this.targets) {
      t.target.dtr?.();
      t.ti.releaseDevices();
    }
    for (const d of this.devices.splice(0)) this.md.putTableDevice(d.bdev);
  }

  async presuspend(): Promise<void> { for (const t of this.targets) await t.target.presuspend?.(); }
  async postsuspend(): Promise<void> { for (const t of this.targets) await t.target.postsuspend?.(); }

  /** dm_table_resume_targets: every preresume first (any may refuse), then every resume. */
  async resume(): Promise<Errno | 0> {
    for (const t of this.targets) {
      const r = t.target.preresume?.() ?? 0;
      if (r) return r;
    }
    for (const t of this.targets) await t.target.resume?.();
    return 0;
  }

  /** Devices in `dmsetup deps` order. */
  deps(): BlockDevice[] { return this.devices.map((d) => d.bdev); }
}

/** The dm_target handed to a constructor. */
export class TargetContext implements DmTarget {
  maxIoLen = 0;
  numFlushBios = 1;
  readonly beginSector: number;
  readonly lenSectors: number;
  private held: DmDev[] = [];
  constructor(readonly table: DmTable, readonly begin: bigint, readonly len: bigint) {
    this.beginSector = Number(begin);
    this.lenSectors = Number(len);
  }

  get kernel() { return this.table.kernel; }
  get mdName() { return this.table.md.kernelName; }

  getDevice(path: string): DmDev {
    const d = this.table.getDevice(path);
    this.held.push(d);
    return d;
  }

  /** Release what this target opened (on ctr failure, or with the table). */
  releaseDevices(): void {
    for (const d of this.held.splice(0)) this.table.putDevice(d);
  }

  event(): void { this.table.event(); }
  logger(prefix: string) { return this.kernel.klog.prefixed(prefix); }
}
