// The invariants of the cluster log (spec cluster-log.md §2.6 item 5), checked
// after every step: replicas equal, sync_count right, at most one region of a
// log being recovered, no write landing in a region another node recovers,
// and legs identical once every region is in sync.

import * as fs from 'node:fs';
import { memweight, testBit } from '../targets/mirror/bitset.js';
import type { Cluster } from './cluster.js';
import type { LogC } from './cmirrord/functions.js';

export interface Violation {
  invariant: string;
  detail: string;
  /** A divergence of cmirrord as implemented (not what the seed patch is about): reported, counted apart. */
  known?: string;
}

/**
 * The invariants about the data on and from the legs (what the seed patch
 * protects): no write into a region another node recovers, legs identical once
 * in sync, and (with leg failures) a node that saw the set in sync moving its
 * reads off a failed primary. The rest are about the log's replicated state.
 */
export const DATA_INVARIANTS: readonly string[] = ['no-write-into-remote-recovery', 'legs-identical-when-in-sync', 'primary-switch-when-in-sync'];

/**
 * Clean bits that differ only where the two replicas' mark lists differ:
 * cmirrord's checkpoint carries clean_bits, sync_bits and the recovery slot but
 * not the mark list (push_state/pull_state in functions.c), so a joiner that
 * missed another node's mark sets a region clean on a clear (clear_region sees
 * no other marker) while the older members keep it dirty until that node clears too.
 */
function cleanDiffersByMarks(a: LogC, b: LogC): boolean {
  const markers = (lc: LogC, r: number) => lc.markList.filter((m) => m.region === r).map((m) => m.nodeid).sort().join(',');
  for (let r = 0; r < a.regionCount; r++) {
    if (testBit(a.cleanBits, r) === testBit(b.cleanBits, r)) continue;
    if (markers(a, r) === markers(b, r)) return false;
  }
  return true;
}

function eq(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The replicas that count: resumed logs in groups that are valid. */
function replicas(cluster: Cluster): Map<string, Array<{ node: number; lc: LogC }>> {
  const byUuid = new Map<string, Array<{ node: number; lc: LogC }>>();
  for (const n of cluster.nodes) {
    const d = n.cmirrord;
    if (!n.up || !d) continue;
    for (const lc of d.logs()) {
      const g = d.groups.get(lc.uuid);
      if (!g || g.state !== 'VALID' || lc.state !== 'LOG_RESUMED') continue;
      if (!byUuid.has(lc.uuid)) byUuid.set(lc.uuid, []);
      byUuid.get(lc.uuid)!.push({ node: n.id, lc });
    }
  }
  return byUuid;
}

/** Replicated state equal on every valid member; sync_count = popcount(sync bits). */
export function checkReplicas(cluster: Cluster): Violation[] {
  const out: Violation[] = [];
  for (const [uuid, reps] of replicas(cluster)) {
    for (const { node, lc } of reps) {
      if (lc.syncCount !== memweight(lc.syncBits)) {
        out.push({ invariant: 'sync-count', detail: `node ${node} log ${uuid}: sync_count ${lc.syncCount} but ${memweight(lc.syncBits)} sync bits` });
      }
    }
    const [first, ...rest] = reps;
    for (const r of rest) {
      const a = first!.lc, b = r.lc;
      const what = !eq(a.syncBits, b.syncBits) ? 'sync bits' : !eq(a.cleanBits, b.cleanBits) ? 'clean bits' : null;
      if (what === 'clean bits' && cleanDiffersByMarks(a, b)) {
        out.push({
          invariant: 'replicas-equal', known: 'mark list not checkpointed',
          detail: `log ${uuid}: clean bits differ between node ${first!.node} and node ${r.node} where their mark lists differ`,
        });
      } else if (what) out.push({ invariant: 'replicas-equal', detail: `log ${uuid}: ${what} differ between node ${first!.node} and node ${r.node}` });
      else if (a.recoveringRegion !== b.recoveringRegion || a.recoverer !== b.recoverer) {
        // cmirrord's checkpoint carries the slot but not the priority list, so a joiner can pick another region.
        out.push({
          invariant: 'replicas-equal', known: 'priority list not checkpointed',
          detail: `log ${uuid}: recovery slot differs between node ${first!.node} (${a.recoveringRegion}/${a.recoverer}) and node ${r.node} (${b.recoveringRegion}/${b.recoverer})`,
        });
      }
    }
  }
  return out;
}

/** Who recovers which region of a log right now, as the answering replica knows it. */
export function recovering(cluster: Cluster, uuid: string): { region: number; node: number } | null {
  const reps = replicas(cluster).get(uuid);
  if (!reps?.length) return null;
  const server = Math.min(...reps.map((r) => r.node));
  const lc = reps.find((r) => r.node === server)!.lc;
  return lc.recoveringRegion >= 0 ? { region: lc.recoveringRegion, node: lc.recoverer } : null;
}

/** A write by node `by` to region `region` of the legs: allowed only if no other node recovers it. */
export function checkWrite(cluster: Cluster, uuid: string, by: number, region: number): Violation[] {
  const r = recovering(cluster, uuid);
  if (r && r.region === region && r.node !== by) {
    return [{ invariant: 'no-write-into-remote-recovery', detail: `node ${by} wrote region ${region} while node ${r.node} recovers it` }];
  }
  return [];
}

/** Once a replica says every region is in sync, the legs must hold the same bytes. */
export function checkLegs(cluster: Cluster, uuid: string, legs: readonly string[], regionSectors: number): Violation[] {
  const reps = replicas(cluster).get(uuid);
  if (!reps?.length || !reps.every((r) => r.lc.syncCount === r.lc.regionCount)) return [];
  const data = legs.map((f) => fs.readFileSync(f));
  const out: Violation[] = [];
  const bytes = regionSectors * 512;
  for (let i = 1; i < data.length; i++) {
    for (let off = 0; off < data[0]!.length; off += bytes) {
      if (!data[0]!.subarray(off, off + bytes).equals(data[i]!.subarray(off, off + bytes))) {
        out.push({ invariant: 'legs-identical-when-in-sync', detail: `all regions in sync but leg 0 and leg ${i} differ in region ${off / bytes}` });
      }
    }
  }
  return out;
}
