// The dirty region log interface (include/linux/dm-dirty-log.h) and dm-log's
// type registry: dm_dirty_log_create with module autoloading by name.

import type { DmTarget } from '../../kernel/dm-target.js';
import type { Kernel } from '../../kernel/kernel.js';

/** -EWOULDBLOCK from in_sync when it may not block. */
export const EWOULDBLOCK = -11;

/** A result the log may have to wait for (a cluster log asks its server). */
export type MaybeAsync<T> = T | Promise<T>;

/** struct dm_dirty_log: one log instance, as the mirror sees it. */
export interface DirtyLog {
  readonly type: DirtyLogType;
  dtr(): void;
  presuspend?(): MaybeAsync<number>;
  postsuspend?(): MaybeAsync<number>;
  resume?(): MaybeAsync<number>;
  getRegionSize(): number;
  /** 1 if no writes are outstanding and the region is marked clean. */
  isClean(region: number): MaybeAsync<number>;
  /** 1 in sync, 0 not, EWOULDBLOCK when canBlock is 0 and it cannot tell; must be synchronous when canBlock is 0. */
  inSync(region: number, canBlock: 0 | 1): MaybeAsync<number>;
  /** Make marks and clears durable; non-zero if the log failed. */
  flush(): MaybeAsync<number>;
  markRegion(region: number): void;
  clearRegion(region: number): void;
  /** The next region to recover, or -1 when there is none (or an error < -1). */
  getResyncWork(): MaybeAsync<number>;
  setRegionSync(region: number, inSync: 0 | 1): MaybeAsync<void>;
  getSyncCount(): number;
  /** INFO/TABLE/IMA text. */
  status(type: 'info' | 'table' | 'ima'): string | Promise<string>;
  /** Optional: 1 if another node is recovering this region (cluster logs). */
  isRemoteRecovering?(region: number): MaybeAsync<number>;
}

/** The mirror's flush of all its legs (mirror_flush), used by the disk log before persisting cleared bits. */
export type FlushCallback = () => Promise<number>;

/** struct dm_dirty_log_type. ctr returns a log or throws LogCtrError after logging its warning. */
export interface DirtyLogType {
  readonly name: string;
  ctr(ti: DmTarget, argv: string[], flushCallback: FlushCallback | null): DirtyLog;
}

/** A log constructor failed; the message was already logged. */
export class LogCtrError extends Error {
  constructor(readonly errno = -22) { super('dirty log ctr failed'); }
}

/** Log types that come in as modules on first use (request_module("dm-log-<type>")). */
const autoload = new Map<string, (kernel: Kernel) => void>();

export function registerLogModule(moduleName: string, init: (kernel: Kernel) => void): void {
  autoload.set(moduleName, init);
}

function lookupType(kernel: Kernel, name: string): DirtyLogType | undefined {
  return kernel.dirtyLogTypes.get(name) as DirtyLogType | undefined;
}

/** get_type: the registered type, else try dm-log-<name>, stripping -suffixes. */
function getType(kernel: Kernel, typeName: string): DirtyLogType | undefined {
  let t = lookupType(kernel, typeName);
  if (t) return t;
  let dup = typeName;
  for (;;) {
    const init = autoload.get(`dm-log-${dup}`);
    if (init) {
      kernel.loadModule({ name: `dm_log_${dup.replace(/-/g, '_')}`, init });
      t = lookupType(kernel, typeName);
      if (t) break;
    }
    const p = dup.lastIndexOf('-');
    if (p < 0) break;
    dup = dup.slice(0, p);
  }
  if (!t) kernel.klog.prefixed('dirty region log').warn(`Module for logging type "${typeName}" not found.`);
  return t;
}

/** dm_dirty_log_create: null if the type is unknown or its constructor failed. */
export function dmDirtyLogCreate(ti: DmTarget, typeName: string, flushCallback: FlushCallback | null, argv: string[]): DirtyLog | null {
  const type = getType(ti.kernel, typeName);
  if (!type) return null;
  try {
    return type.ctr(ti, argv, flushCallback);
  } catch (e) {
    if (e instanceof LogCtrError) return null;
    throw e;
  }
}
