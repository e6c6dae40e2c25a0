// The modules of the emulated kernel, in the order the oracle's kernel loads
// them: dm-mod's built-in targets, then dm-mirror (with dm-log), dm-zero,
// dm-flakey, dm-delay, dm-log-userspace. Targets register newest-first, so
// `dmsetup targets` lists them as Linux 6.1 does.

import { Kernel, type KernelModule, type KernelOptions } from '../kernel/kernel.js';
import type { TargetType } from '../kernel/dm-target.js';
import { errorTarget } from './error.js';
import { linearTarget } from './linear.js';
import { stripedTarget } from './striped.js';
import { zeroTarget } from './zero.js';
import { flakeyTarget } from './flakey.js';
import { delayTarget } from './delay.js';
import { dmLogUserspaceModule, dmMirrorModule } from './mirror/index.js';
import { resolvePatches } from './mirror/patches.js';

/** A module that registers target types and nothing else. */
export function targetModule(name: string, ...types: TargetType[]): KernelModule {
  return { name, init: (k) => { for (const t of types) k.targetTypes.register(t); } };
}

export const MODULES: readonly KernelModule[] = [
  targetModule('dm_mod', errorTarget, linearTarget, stripedTarget),
  dmMirrorModule,
  targetModule('dm_zero', zeroTarget),
  targetModule('dm_flakey', flakeyTarget),
  targetModule('dm_delay', delayTarget),
  dmLogUserspaceModule,
];

/** A kernel with every module loaded: what the daemon runs and the library API returns. Throws PatchError for a bad patch selection. */
export function bootKernel(opts: Omit<KernelOptions, 'modules'> = {}): Kernel {
  return new Kernel({ ...opts, patches: resolvePatches(opts.patches), modules: MODULES });
}
