// The table and ioctl fuzzer in the test suite: 10,000 seeded cases against an
// in-process kernel, a new seed every run (DMSETUP_TS_FUZZ_SEED replays one).

import t from 'tap';
import { runTableFuzz } from './table-fuzz.js';
import { runSeed } from './rng.js';
import { summaryLine } from './summary.js';

const CASES = Number(process.env.DMSETUP_TS_FUZZ_CASES ?? 10_000);

t.test('table and ioctl fuzzer', async (t) => {
  const seed = runSeed();
  t.comment(`seed ${seed} (replay: DMSETUP_TS_FUZZ_SEED=${seed}; one case: npm run fuzz -- --only table --seed ${seed} --first N --cases 1)`);
  const s = await runTableFuzz({ cases: CASES, seed });
  t.comment(summaryLine(s));
  for (const f of s.failures) t.comment(JSON.stringify(f, null, 1));
  t.equal(s.escaped, 0, 'no exception other than a kernel error escapes');
  t.equal(s.hangs, 0, 'no operation hangs');
  t.equal(s.leftovers, 0, 'failed loads and creates leave nothing; every device can be removed');
  t.equal(s.invariants, 0, 'mirror invariants hold: legs identical once in sync, acknowledged writes readable');
  t.ok(s.mirrorChecks > 0, 'some mirrors were checked');
});
