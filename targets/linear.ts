// dm-linear (v1.4.0): map a range onto another device at an offset.

import { DmMapio, CtrError, targetOffset, type DmDev, type DmTarget, type IterateDevicesFn, type Target, type TargetType } from '../kernel/dm-target.js';
import { KernelError } from '../kernel/errno.js';
import { sscanfU64 } from '../tables/args.js';
import type { Bio } from '../kernel/bio.js';

class Linear implements Target {
  /** start as a number, for the bio path. */
  private readonly startSector: number;
  constructor(private readonly ti: DmTarget, private readonly dev: DmDev, private readonly start: bigint) {
    this.startSector = Number(start);
  }

  map(bio: Bio): DmMapio {
    bio.bdev = this.dev.bdev;
    if (bio.sectors) bio.sector = this.startSector + targetOffset(this.ti, bio.sector);
    return DmMapio.REMAPPED;
  }

  status(type: 'info' | 'table' | 'ima'): string {
    if (type === 'table') return `${this.dev.name} ${this.start}`;
    if (type === 'ima') return `target_name=linear,target_version=1.4.0,device_name=${this.dev.name},start=${this.start};`;
    return '';
  }

  iterateDevices(fn: IterateDevicesFn): void {
    fn(this.dev, this.start, this.ti.len);
  }
}

export const linearTarget: TargetType = {
  name: 'linear',
  version: [1, 4, 0],
  ctr(ti, argv) {
    if (argv.length !== 2) throw new CtrError('Invalid argument count');
    const start = sscanfU64(argv[1]);
    if (start === undefined) throw new CtrError('Invalid device sector');
    let dev: DmDev;
    try {
      dev = ti.getDevice(argv[0]!);
    } catch (e) {
      throw new CtrError('Device lookup failed', e instanceof KernelError ? e.errno : 'EINVAL');
    }
    return new Linear(ti, dev, start);
  },
};
