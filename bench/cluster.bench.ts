// Cluster mirror exploration: schedules per second, and how many seeded
// schedules violate an invariant with the seed patch off and on.

import { explore } from '../cluster/explore.js';
import type { BenchResult } from './run.js';

export async function run(): Promise<BenchResult[]> {
  const n = Number(process.env.CLUSTER_BENCH_SCHEDULES ?? 10_000);
  const off = await explore(1, n, { patch: false });
  const on = await explore(1, n, { patch: true });
  const rate = (on.schedules + off.schedules) / ((on.ms + off.ms) / 1000);
  return [
    { name: 'cluster explore rate', value: rate, unit: 'schedules/s', goal: '>= 170/s (10,000 in under a minute)', met: rate >= 170 },
    { name: `violating schedules, patch off (of ${n})`, value: off.violating, unit: 'schedules', goal: '> 0', met: off.violating > 0 },
    { name: `violating schedules, patch on (of ${n})`, value: on.violating, unit: 'schedules', goal: '0', met: on.violating === 0 },
  ];
}
