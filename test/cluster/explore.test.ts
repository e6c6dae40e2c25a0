// Exploration of seeded schedules: without the seed patch some schedule writes
// into a region another node recovers; with it, none does.

import t from 'tap';
import { explore, runSchedule } from '../../cluster/explore.js';

const OFF = { 'is-remote-recovering': false };

t.test('patch off: a violating schedule is found and replays identically', async (t) => {
  const s = await explore(1, 200, { patches: OFF, stopAtFirst: true });
  t.ok(s.first, 'a violating schedule');
  const again = await runSchedule(s.first!.seed, { patches: OFF });
  t.same(again.trace, s.first!.trace, 'the same seed gives the same trace');
});

t.test('patch on: 300 schedules without a violation', async (t) => {
  const s = await explore(1, 300, {});
  t.equal(s.violating, 0, s.first ? s.first.trace.join('\n') : 'none');
});

t.test('seed 3184 (patch on): a joiner missed a mark, a known cmirrord divergence, not a violation', async (t) => {
  const r = await runSchedule(3184, {});
  t.same(r.violations, [], r.trace.join('\n'));
  t.same(r.known.map((k) => k.known), ['mark list not checkpointed']);
});

t.test('patch off: the legs diverge in some schedule (a data invariant)', async (t) => {
  const s = await explore(1, 300, { patches: OFF });
  t.ok(s.byDataInvariant['legs-identical-when-in-sync']! > 0, 'legs differ once in sync');
  t.ok(s.byDataInvariant['no-write-into-remote-recovery']! > 0, 'a write lands in a region another node recovers');
});

for (const [variant, name] of [['(a)', 'fail-mirror-sync-count'], ['(b)', 'in-sync-cleared-by-count']] as const) {
  t.test(`leg failures, ordering ${variant} ${name}: a node that saw the set in sync keeps the failed primary`, async (t) => {
    const s = await explore(1, 100, { patches: { [name]: true }, legFailures: true, stopAtFirst: true });
    t.equal(s.first?.violations[0]?.invariant, 'primary-switch-when-in-sync', s.first?.trace.join('\n') ?? 'none');
    t.match(s.first!.violations[0]!.detail, /failed while out-of-sync/);
  });
}

t.test('leg failures, the patch ordering: no node that saw the set in sync keeps the failed primary', async (t) => {
  const s = await explore(1, 300, { legFailures: true });
  t.equal(s.violating, 0, s.first ? s.first.trace.join('\n') : 'none');
});
