// The NBD protocol fuzzer in the test suite: 1,000 seeded cases against the NBD
// export of a kernel process, a new seed every run (DMSETUP_TS_FUZZ_SEED replays one).

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runNbdFuzz } from './nbd-fuzz.js';
import { runSeed } from './rng.js';
import { summaryLine } from './summary.js';

const CASES = Number(process.env.DMSETUP_TS_NBD_FUZZ_CASES ?? 1000);

t.test('NBD protocol fuzzer', async (t) => {
  const seed = runSeed();
  t.comment(`seed ${seed} (replay: DMSETUP_TS_FUZZ_SEED=${seed}; one case: npm run fuzz -- --only nbd --seed ${seed} --first N --cases 1)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fzn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const s = await runNbdFuzz({ cases: CASES, seed, dir });
  t.comment(summaryLine(s));
  for (const f of s.failures) t.comment(JSON.stringify(f, null, 1));
  t.equal(s.deaths, 0, 'the kernel process lives');
  t.equal(s.escaped, 0, 'no internal error in the kernel log, nothing escapes');
  t.equal(s.hangs, 0, 'every request is answered or the connection closed in bounded time');
  t.equal(s.leftovers, 0, 'no device left open');
  t.equal(s.invariants, 0, 'tables unchanged, mirror in sync with identical legs, acknowledged writes read back, the untouched device intact');
});
