// Cluster mirror exploration: schedules per second, and how many seeded
// schedules violate a data invariant (a write into a region another node
// recovers; legs differing once all is in sync) with the seed patch off and
// on. Known divergences of cmirrord itself are reported apart, without a goal.

import { explore } from '../cluster/explore.js';
import type { BenchResult } from './run.js';

export async function run(): Promise<BenchResult[]> {
  const n = Number(process.env.CLUSTER_BENCH_SCHEDULES ?? 10_000);
  const off = await explore(1, n, { patch: false });
  const on = await explore(1, n, { patch: true });
  // With the primary leg failing mid-schedule: the in-sync ordering of the seed patch against the wrong one.
  const legPatch = await explore(1, n, { patch: true, ordering: 'patch', legFailures: true });
  const legWrong = await explore(1, n, { patch: true, ordering: 'wrong', legFailures: true });
  const rate = (on.schedules + off.schedules) / ((on.ms + off.ms) / 1000);
  const out: BenchResult[] = [
    { name: 'cluster explore rate', value: rate, unit: 'schedules/s', goal: '>= 170/s (10,000 in under a minute)', met: rate >= 170 },
    { name: `data-invariant violations, patch off (of ${n})`, value: off.dataViolating, unit: 'schedules', goal: '> 0', met: off.dataViolating > 0 },
    { name: `  of which legs diverge once in sync, patch off`, value: off.byDataInvariant['legs-identical-when-in-sync'] ?? 0, unit: 'schedules', goal: '> 0', met: (off.byDataInvariant['legs-identical-when-in-sync'] ?? 0) > 0 },
    { name: `data-invariant violations, patch on (of ${n})`, value: on.dataViolating, unit: 'schedules', goal: '0', met: on.dataViolating === 0 },
    { name: `any invariant violated, patch on (of ${n})`, value: on.violating, unit: 'schedules', goal: '0', met: on.violating === 0 },
    { name: `leg failures, wrong ordering: a node in sync keeps the failed primary (of ${n})`, value: legWrong.byDataInvariant['primary-switch-when-in-sync'] ?? 0, unit: 'schedules', goal: '> 0', met: (legWrong.byDataInvariant['primary-switch-when-in-sync'] ?? 0) > 0 },
    { name: `leg failures, patch ordering: data-invariant violations (of ${n})`, value: legPatch.dataViolating, unit: 'schedules', goal: '0', met: legPatch.dataViolating === 0 },
  ];
  for (const [label, s] of [['patch off', off], ['patch on', on], ['leg failures, patch ordering', legPatch]] as const) {
    for (const [kind, count] of Object.entries(s.known)) {
      out.push({ name: `known cmirrord divergence "${kind}", ${label}`, value: count, unit: 'schedules', goal: 'reported only' });
    }
  }
  return out;
}
