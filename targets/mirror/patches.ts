// Kernel patches under test, in one registry: the seed patch (the dirty log's
// is_remote_recovering and the requeue in do_writes) and the two in-sync
// orderings the seed warns against. Each entry names the sites it changes,
// its default state and its hook at each site; dm-raid1 calls the hooks, so
// its functions read as the kernel's. A kernel's selection is fixed at boot
// (bootKernel({ patches }); DMSETUP_TS_PATCHES="name=on,name=off" for the
// kernel and cluster processes; `cluster up --patch NAME=on|off`).

import type { Kernel } from '../../kernel/kernel.js';
import type { DirtyLog, MaybeAsync } from './dirty-log.js';
import type { MirrorSet } from './raid1.js';

/** The environment variable the kernel and cluster processes read their patch selection from. */
export const PATCHES_ENV = 'DMSETUP_TS_PATCHES';

/** The patched sites of dm-raid1: one hook each; BASE is the code there with no patch applied. */
export interface MirrorHooks {
  /** log->type->is_remote_recovering as do_writes sees it: non-zero if another node recovers the region (the write is requeued). */
  isRemoteRecovering(log: DirtyLog): ((region: number) => MaybeAsync<number>) | undefined;
  /** fail_mirror: may a failed primary be replaced (is the set in sync)? */
  failMirrorInSync(ms: MirrorSet): boolean;
  /** do_recovery, after "update the in sync flag". */
  recoveryInSync(ms: MirrorSet): void;
}

const BASE: MirrorHooks = {
  // Before the seed patch a dirty log had no is_remote_recovering.
  isRemoteRecovering: () => undefined,
  failMirrorInSync: (ms) => ms.inSync !== 0,
  recoveryInSync: () => undefined,
};

export interface PatchSite {
  /** Kernel source file and function. */
  at: string;
  /** The hook the emulation calls there. */
  hook: keyof MirrorHooks;
  what: string;
}

export interface KernelPatch {
  name: string;
  summary: string;
  /** Applied unless deselected. */
  default: boolean;
  sites: readonly PatchSite[];
  hooks: Partial<MirrorHooks>;
}

/** The registry. */
export const PATCHES: readonly KernelPatch[] = [
  {
    name: 'is-remote-recovering',
    summary: 'the seed patch: a write into a region another node recovers is requeued until that recovery ends',
    default: true,
    sites: [
      { at: 'include/linux/dm-dirty-log.h struct dm_dirty_log_type', hook: 'isRemoteRecovering', what: 'is_remote_recovering(log, region) (dm-log-userspace: DM_ULOG_IS_REMOTE_RECOVERING)' },
      { at: 'drivers/md/dm-raid1.c do_writes', hook: 'isRemoteRecovering', what: 'a write whose region is remote recovering goes on the requeue list, back on ms->writes, delayed_wake' },
    ],
    hooks: {
      isRemoteRecovering: (log) => log.isRemoteRecovering?.bind(log),
    },
  },
  {
    name: 'fail-mirror-sync-count',
    summary: 'ordering (a): fail_mirror decides from log->type->get_sync_count() instead of ms->in_sync',
    default: false,
    sites: [
      { at: 'drivers/md/dm-raid1.c fail_mirror', hook: 'failMirrorInSync', what: 'the primary is replaced only if get_sync_count() == nr_regions (the cluster-wide count)' },
    ],
    hooks: {
      failMirrorInSync: (ms) => ms.dirtyLog.getSyncCount() === ms.nrRegions,
    },
  },
  {
    name: 'in-sync-cleared-by-count',
    summary: 'ordering (b): ms->in_sync is cleared as soon as the cluster-wide sync count drops below nr_regions',
    default: false,
    sites: [
      { at: 'drivers/md/dm-raid1.c do_recovery', hook: 'recoveryInSync', what: 'in_sync = 0 when get_sync_count() < nr_regions (not only by this node\'s do_failures)' },
    ],
    hooks: {
      recoveryInSync: (ms) => { if (ms.inSync && ms.dirtyLog.getSyncCount() < ms.nrRegions) ms.inSync = 0; },
    },
  },
];

/** Patch name -> applied. */
export type PatchSelection = Readonly<Record<string, boolean>>;

/** A bad patch name, state or combination. */
export class PatchError extends Error {}

function patchNamed(name: string): KernelPatch {
  const p = PATCHES.find((x) => x.name === name);
  if (!p) throw new PatchError(`no kernel patch "${name}" (patches: ${PATCHES.map((x) => x.name).join(', ')})`);
  return p;
}

/** "name=on,name=off" (commas or blanks between) -> a partial selection. */
export function parsePatches(spec: string): Record<string, boolean> {
  const sel: Record<string, boolean> = {};
  for (const item of spec.split(/[\s,]+/).filter(Boolean)) {
    const m = /^([^=]+)=(on|off)$/.exec(item);
    if (!m) throw new PatchError(`a patch is selected as NAME=on or NAME=off, not "${item}"`);
    sel[patchNamed(m[1]!).name] = m[2] === 'on';
  }
  return sel;
}

/** Every patch's state: the defaults, overridden by the selection. Two applied patches may not hook the same site. */
export function resolvePatches(sel: Readonly<Record<string, boolean>> = {}): PatchSelection {
  for (const name of Object.keys(sel)) patchNamed(name);
  const out: Record<string, boolean> = {};
  for (const p of PATCHES) out[p.name] = sel[p.name] ?? p.default;
  const owner = new Map<string, string>();
  for (const p of PATCHES) {
    if (!out[p.name]) continue;
    for (const hook of Object.keys(p.hooks)) {
      const other = owner.get(hook);
      if (other) throw new PatchError(`patches ${other} and ${p.name} both change the ${hook} site`);
      owner.set(hook, p.name);
    }
  }
  return out;
}

/** "name=on,name=off" of a full selection (what DMSETUP_TS_PATCHES takes). */
export function formatPatches(sel: PatchSelection): string {
  return PATCHES.map((p) => `${p.name}=${sel[p.name] ? 'on' : 'off'}`).join(',');
}

const hooksOf = new WeakMap<Kernel, MirrorHooks>();

/** The hooks of this kernel's patch selection (fixed at boot). */
export function mirrorHooks(kernel: Kernel): MirrorHooks {
  let h = hooksOf.get(kernel);
  if (!h) {
    const sel = resolvePatches(Object.fromEntries(kernel.patches));
    h = { ...BASE };
    for (const p of PATCHES) if (sel[p.name]) Object.assign(h, p.hooks);
    hooksOf.set(kernel, h);
  }
  return h;
}
