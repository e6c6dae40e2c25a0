// The invariants of the cluster log (spec cluster-log.md §2.6 item 5), checked
// after every step: replicas equal, sync_count right, at most one region of a
// log being recovered, no write landing in a region another node recovers,
// and legs identical once every region is in sync.

import * as fs from 'node:fs';
import { memweight } from '../targets/mirror/bitset.js';
import type { Cluster } from './cluster.js';
import type { LogC } from './cmirrord/functions.js';

export interface Violation {
  invariant: string;
  detail: string;
  /** A divergence of cmirrord as implemented (not what the seed patch is about): reported, counted apart. */
  known?: string;
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
      if (what) out.push({ invariant: 'replicas-equal', detail: `log ${uuid}: ${what} differ between node ${first!.node} and node ${r.node}` });
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
