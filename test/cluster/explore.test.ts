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

t.test('seed 3184 (patch on): a joiner missed a mark, a known cmirrord divergence, not a violation', async (t) => {
  const r = await runSchedule(3184, { patch: true });
  t.same(r.violations, [], r.trace.join('\n'));
  t.same(r.known.map((k) => k.known), ['mark list not checkpointed']);
});

t.test('patch off: the legs diverge in some schedule (a data invariant)', async (t) => {
  const s = await explore(1, 300, { patch: false });
  t.ok(s.byDataInvariant['legs-identical-when-in-sync']! > 0, 'legs differ once in sync');
  t.ok(s.byDataInvariant['no-write-into-remote-recovery']! > 0, 'a write lands in a region another node recovers');
});

t.test('leg failures: with the wrong in-sync ordering a node that saw the set in sync keeps the failed primary; with the patch none does', async (t) => {
  const wrong = await explore(1, 100, { patch: true, ordering: 'wrong', legFailures: true, stopAtFirst: true });
  t.equal(wrong.first?.violations[0]?.invariant, 'primary-switch-when-in-sync', wrong.first?.trace.join('\n') ?? 'none');
  t.match(wrong.first!.violations[0]!.detail, /failed while out-of-sync/);
  const right = await explore(1, 300, { patch: true, ordering: 'patch', legFailures: true });
  t.equal(right.violating, 0, right.first ? right.first.trace.join('\n') : 'none');
});
