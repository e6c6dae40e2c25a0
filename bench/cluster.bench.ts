// Cluster mirror exploration: schedules per second, and how many seeded
// schedules violate an invariant under each variant: the seed patch off and
// on, and, with the primary leg failing mid-schedule, the patch's in-sync
// ordering against orderings (a) and (b) the seed warns against. Known
// divergences of cmirrord itself are reported apart, without a goal.

import { explore, VARIANTS } from '../cluster/explore.js';
import type { BenchResult } from './run.js';

export async function run(): Promise<BenchResult[]> {
  const n = Number(process.env.CLUSTER_BENCH_SCHEDULES ?? 10_000);
  const variant = (name: string) => VARIANTS.find((v) => v.name === name)!.patches;
  const off = await explore(1, n, { patches: variant('patch off') });
  const on = await explore(1, n, { patches: variant('patch on') });
  const legPatch = await explore(1, n, { patches: variant('patch on'), legFailures: true });
  const legA = await explore(1, n, { patches: variant('(a) fail-mirror-sync-count'), legFailures: true });
  const legB = await explore(1, n, { patches: variant('(b) in-sync-cleared-by-count'), legFailures: true });
  const rate = (on.schedules + off.schedules) / ((on.ms + off.ms) / 1000);
  const kept = (s: typeof legA) => s.byDataInvariant['primary-switch-when-in-sync'] ?? 0;
  const out: BenchResult[] = [
    { name: 'cluster explore rate', value: rate, unit: 'schedules/s', goal: '>= 170/s (10,000 in under a minute)', met: rate >= 170 },
    { name: `data-invariant violations, patch off (of ${n})`, value: off.dataViolating, unit: 'schedules', goal: '> 0', met: off.dataViolating > 0 },
    { name: `  of which legs diverge once in sync, patch off`, value: off.byDataInvariant['legs-identical-when-in-sync'] ?? 0, unit: 'schedules', goal: '> 0', met: (off.byDataInvariant['legs-identical-when-in-sync'] ?? 0) > 0 },
    { name: `data-invariant violations, patch on (of ${n})`, value: on.dataViolating, unit: 'schedules', goal: '0', met: on.dataViolating === 0 },
    { name: `any invariant violated, patch on (of ${n})`, value: on.violating, unit: 'schedules', goal: '0', met: on.violating === 0 },
    { name: `leg failures, patch ordering: data-invariant violations (of ${n})`, value: legPatch.dataViolating, unit: 'schedules', goal: '0', met: legPatch.dataViolating === 0 },
    { name: `leg failures, ordering (a) fail-mirror-sync-count: a node in sync keeps the failed primary (of ${n})`, value: kept(legA), unit: 'schedules', goal: '> 0', met: kept(legA) > 0 },
    { name: `leg failures, ordering (b) in-sync-cleared-by-count: a node in sync keeps the failed primary (of ${n})`, value: kept(legB), unit: 'schedules', goal: '> 0', met: kept(legB) > 0 },
  ];
  for (const [label, s] of [['patch off', off], ['patch on', on], ['leg failures, patch ordering', legPatch], ['leg failures, ordering (a)', legA], ['leg failures, ordering (b)', legB]] as const) {
    out.push({ name: `any invariant violated, ${label} (of ${n})`, value: s.violating, unit: 'schedules', goal: 'reported only' });
    for (const [kind, count] of Object.entries(s.known)) {
      out.push({ name: `known cmirrord divergence "${kind}", ${label}`, value: count, unit: 'schedules', goal: 'reported only' });
    }
  }
  return out;
}
