// How far a mirror's resync has come, read from its status as dmsetup status
// prints it (`2 254:0 254:1 17/32 1 AA 1 core`), and waiting until it is in
// sync, on the real clock or the virtual one (for tests: the library API).

import type { Kernel } from '../../kernel/kernel.js';
import type { TargetSpec } from '../../kernel/dm-ioctl.js';

export interface SyncProgress {
  /** Regions in sync (the log's sync count), summed over the table's mirror targets. */
  inSync: number;
  /** Regions in all. */
  regions: number;
  /** Each leg's health character (A alive, D dead, S sync failure, R read failure, F flush, U unknown). */
  health: string;
}

/** The sync counts of a device's mirror targets; null if its table has none. */
export function syncProgress(targets: readonly TargetSpec[]): SyncProgress | null {
  let found = false;
  const p: SyncProgress = { inSync: 0, regions: 0, health: '' };
  for (const t of targets) {
    if (t.type !== 'mirror') continue;
    const w = t.params.split(' ');
    const legs = Number(w[0]);
    const m = /^(\d+)\/(\d+)$/.exec(w[legs + 1] ?? '');
    if (!m) continue;
    found = true;
    p.inSync += Number(m[1]);
    p.regions += Number(m[2]);
    p.health += w[legs + 3] ?? '';
  }
  return found ? p : null;
}

export function isInSync(p: SyncProgress): boolean { return p.inSync === p.regions; }

export class SyncTimeout extends Error {
  constructor(readonly progress: SyncProgress, message: string) { super(message); }
}

export interface WaitForSyncOptions {
  /** Give up (SyncTimeout) after this many milliseconds of real time. Default 60000. */
  timeoutMs?: number;
  /** Called whenever the count of regions in sync changes. */
  onProgress?: (p: SyncProgress) => void;
}

/**
 * Resolves with the final counts once every region of mirror device `name`
 * is in sync; polls the status on the real clock. The virtual clock moves on
 * by itself whenever the resync waits for a timer (a delay leg, a flakey
 * interval); its settle() alone is not enough, as leg I/O on files completes
 * outside the clock, and may never return while a timer keeps re-arming.
 */
export async function waitForSync(kernel: Kernel, name: string, opts: WaitForSyncOptions = {}): Promise<SyncProgress> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last = -1;
  for (let poll = 1; ; poll = Math.min(poll * 2, 20)) {
    const p = syncProgress(kernel.dmIoctl.tableStatus({ name }, 'info').targets);
    if (!p) throw new Error(`${name}: not a mirror (its table has no mirror target)`);
    if (p.inSync !== last) { last = p.inSync; opts.onProgress?.(p); poll = 1; }
    if (isInSync(p)) return p;
    if (Date.now() >= deadline) throw new SyncTimeout(p, `${name}: not in sync after ${opts.timeoutMs ?? 60_000} ms: ${p.inSync}/${p.regions} regions, legs ${p.health}`);
    await new Promise((r) => setTimeout(r, poll));
  }
}
