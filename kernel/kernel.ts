// One emulated kernel: clock, log, block devices, device-mapper. Everything the
// daemon serves and the in-process library API use. Owns no CLI text.

import { Vmalloc } from './mm.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RealClock, VirtualClock, type Clock } from './clock.js';
import { KernelLog } from './klog.js';
import { LoopDevice, MAX_LOOP, type LoopConfig } from './loop.js';
import { DM_MAJOR, LOOP_MAJOR, type BlockDevice } from './block.js';
import { DmIoctl } from './dm-ioctl.js';
import { KernelError } from './errno.js';
import { Registry } from './registry.js';
import { DevFs } from './devfs.js';
import { DevLookup, scanMajorMinor } from './dev-lookup.js';
import type { TargetType } from './dm-target.js';
import type { MappedDevice } from './dm.js';

export interface KernelOptions {
  /** Run on a virtual clock that advances only when nothing else can run. */
  virtualClock?: boolean;
  /** Use this clock instead (several emulated kernels sharing one timeline: cluster/). */
  clock?: Clock;
  /** Modules to load at boot, in order (see targets/modules.ts). */
  modules?: readonly KernelModule[];
  /** Kernel patches under test, by name (targets/mirror/patches.ts); unnamed ones keep their default. */
  patches?: Readonly<Record<string, boolean>>;
}

/** A loadable module: registers its target types, dirty log types, ... at init. */
export interface KernelModule {
  readonly name: string;
  init(kernel: Kernel): void;
}

export class Kernel {
  readonly clock: Clock;
  readonly klog: KernelLog;
  readonly targetTypes = new Registry<TargetType>();
  /** Dirty log types for the mirror target (dm-log's _log_types); typed by targets/mirror. */
  readonly dirtyLogTypes = new Registry<{ readonly name: string }>();
  /** Loaded modules by name (lsmod). */
  readonly modules = new Registry<KernelModule>();
  readonly dmIoctl: DmIoctl;
  /** /dev/mapper nodes (see devfs.ts). */
  readonly devfs = new DevFs();
  /** dm_get_device's name resolution. */
  readonly devLookup = new DevLookup(this);
  /** The machine's vmalloc areas (kernel/mm.ts): large target allocations are bounded by its RAM. */
  readonly vmalloc = new Vmalloc();
  private readonly loops = new Map<number, LoopDevice>();
  /** The patches this kernel was built with (name -> applied); fixed at boot. */
  readonly patches: ReadonlyMap<string, boolean>;

  constructor(opts: KernelOptions = {}) {
    this.patches = new Map(Object.entries(opts.patches ?? {}));
    this.clock = opts.clock ?? (opts.virtualClock ? new VirtualClock() : new RealClock());
    this.klog = new KernelLog(this.clock);
    this.dmIoctl = new DmIoctl(this);
    for (let i = 0; i < MAX_LOOP; i++) this.loops.set(i, new LoopDevice(i, this.clock, this.klog));
    for (const m of opts.modules ?? []) this.loadModule(m);
    // The machine's init clears what booting logged (the oracle's does `dmesg -c`),
    // so the log starts with what happens after boot.
    this.klog.read(true);
  }

  /** insmod: run the module's init once. */
  loadModule(m: KernelModule): void {
    if (this.modules.get(m.name)) return;
    m.init(this);
    this.modules.register(m);
  }

  // ---- loop devices ------------------------------------------------------

  loop(n: number): LoopDevice | undefined { return this.loops.get(n); }

  loopDevices(): LoopDevice[] { return [...this.loops.values()].sort((a, b) => a.minor - b.minor); }

  /** LOOP_CTL_GET_FREE: the first unattached loop device, creating one past the preset ones. */
  freeLoop(): LoopDevice {
    for (const l of this.loopDevices()) if (!l.attached) return l;
    let n = 0;
    while (this.loops.has(n)) n++;
    const l = new LoopDevice(n, this.clock, this.klog);
    this.loops.set(n, l);
    return l;
  }

  /** losetup /dev/loopN FILE (creating loopN if past the preset ones, as loop-control does). */
  loopAttach(n: number | undefined, file: string, config: boolean | LoopConfig = false): LoopDevice {
    let l = n === undefined ? this.freeLoop() : this.loops.get(n);
    if (!l) {
      l = new LoopDevice(n!, this.clock, this.klog);
      this.loops.set(n!, l);
    }
    l.attach(file, config);
    return l;
  }

  // ---- the block device namespace -------------------------------------------

  /** A block device by number (blkdev_get_by_dev). */
  deviceByNumber(major: number, minor: number): BlockDevice {
    // loop was loaded with max_loop=16: minors past those do not appear on open (ENXIO, as the oracle shows).
    // A dm device has no block device until its first table made the gendisk.
    const md = major === DM_MAJOR ? this.dmIoctl.deviceByMinor(minor) : undefined;
    const dev = major === LOOP_MAJOR ? this.loops.get(minor) : md?.hasDisk ? md : undefined;
    if (!dev) throw new KernelError('ENXIO');
    return dev;
  }

  /**
   * A block device for a table argument, as dm_get_device finds it (see
   * dev-lookup.ts). 6.1 has no check that a table does not name its own
   * device (the oracle loads one). With
   * attachCwd (the DMSETUP_TS_ATTACH_FILES extension, off by default) a path
   * naming a regular file, relative to the loading command's directory, is
   * attached to the next free loop device (detached again when the last
   * table using it goes).
   */
  lookupDevice(p: string, attachCwd?: string): BlockDevice {
    if (attachCwd !== undefined && !this.devLookup.lookupBdev(p) && !scanMajorMinor(p)) {
      const file = path.resolve(attachCwd, p);
      let isFile = false;
      try { isFile = fs.statSync(file).isFile(); } catch { /* not a file */ }
      if (isFile) {
        const l = this.freeLoop();
        l.attach(file);
        l.autoclear = true;
        return l;
      }
    }
    const dev = this.devLookup.devT(p);
    return this.deviceByNumber(dev.major, dev.minor);
  }

  /** A /dev path of a block device this kernel has, or undefined. */
  lookupDevPath(path: string): BlockDevice | undefined {
    let m = /^\/dev\/loop([0-9]+)$/.exec(path);
    if (m) return this.loops.get(Number(m[1]));
    m = /^\/dev\/dm-([0-9]+)$/.exec(path);
    if (m) return this.dmIoctl.deviceByMinor(Number(m[1]));
    m = /^\/dev\/mapper\/(.+)$/.exec(path);
    if (m) return this.dmIoctl.deviceByName(m[1]!);
    return undefined;
  }

  /**
   * The block device open(2) reaches at a /dev path: /dev/mapper/NAME only
   * where its node was made (dmsetup makes it at the first resume), and a dm
   * device only once its first table made the gendisk (ENXIO before).
   */
  openDevPath(path: string): BlockDevice {
    const m = /^\/dev\/mapper\/(.+)$/.exec(path);
    if (m && !this.devfs.has(m[1]!)) throw new KernelError('ENOENT');
    const bdev = this.lookupDevPath(path);
    if (!bdev) throw new KernelError(m ? 'ENXIO' : 'ENOENT');
    if (bdev.major === DM_MAJOR && !(bdev as MappedDevice).hasDisk) throw new KernelError('ENXIO');
    return bdev;
  }

  /** Stop every device, as at shutdown: tables are destructed, logs flushed where they can be. */
  async shutdown(): Promise<void> {
    for (const md of this.dmIoctl.devices()) {
      try { await this.dmIoctl.devRemove({ name: md.name }); } catch { /* still open: removed with its holder */ }
    }
    await this.dmIoctl.removeAll().catch(() => undefined);
  }
}
