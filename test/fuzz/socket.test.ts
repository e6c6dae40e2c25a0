// The socket-protocol fuzzer in the suite: ~2,000 random and malformed frames
// against one kernel process (seed from DMSETUP_TS_FUZZ_SEED, else random,
// printed); the process must survive, answer everything that never blocks,
// log no internal error, and keep a device created before it intact.

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSocketFuzz } from './socket-fuzz.js';

const env = process.env.DMSETUP_TS_FUZZ_SEED;
const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const cases = Number(process.env.DMSETUP_TS_SOCKET_FUZZ_CASES ?? 2000);

t.test('socket fuzz', async (t) => {
  t.comment(`seed ${seed} (DMSETUP_TS_FUZZ_SEED=${seed} repeats this run), ${cases} cases`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfz-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const s = await runSocketFuzz({ cases, seed, dir });
  t.comment(`${s.ms} ms; kinds ${JSON.stringify(s.kinds)}; answers ${JSON.stringify(s.answers)}; abandoned (may block) ${s.abandoned}`);
  t.equal(s.cases, cases, 'every case ran');
  t.equal(s.kernelDeaths, 0, 'the kernel process survived');
  t.equal(s.hangs, 0, 'every request that never blocks was answered');
  t.equal(s.internalErrors, 0, 'no internal error in the kernel log');
  t.ok(s.deviceIntact, 'the device created before the fuzzing kept its table and data');
  t.same(s.problems, [], 'no problems');
  t.ok((s.answers.EINVAL ?? 0) > 0 && (s.answers.ok ?? 0) > 0, 'malformed requests were refused, valid ones served');
});
