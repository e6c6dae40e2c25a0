// Exploration of seeded schedules: without the seed patch some schedule writes
// into a region another node recovers; with it, none does.

import t from 'tap';
import { explore, runSchedule } from '../../cluster/explore.js';

t.test('patch off: a violating schedule is found and replays identically', async (t) => {
  const s = await explore(1, 200, { patch: false, stopAtFirst: true });
  t.ok(s.first, 'a violating schedule');
  const again = await runSchedule(s.first!.seed, { patch: false });
  t.same(again.trace, s.first!.trace, 'the same seed gives the same trace');
});

t.test('patch on: 300 schedules without a violation', async (t) => {
  const s = await explore(1, 300, { patch: true });
  t.equal(s.violating, 0, s.first ? s.first.trace.join('\n') : 'none');
});
