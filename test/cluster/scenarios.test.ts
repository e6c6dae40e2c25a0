// The self-checking cluster script of fixtures/cluster/self-checking/ (002),
// kept for what no real recording can show: join mid-resync with the seed
// patch off (every real kernel has it). It brings up its own cluster (in a
// fresh runtime directory) and prints PASS/FAIL lines and a RESULT line. (The
// real-cluster scenarios are test/cluster/conformance.test.ts.)

import * as path from 'node:path';
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { disposeSandbox, makeSandbox } from '../../dmsetup-ts/conformance/sandbox.js';
import { MAIN, ROOT } from '../helpers/cli.js';

const DIR = path.join(ROOT, 'fixtures/cluster/self-checking');

async function scenario(t: Test, name: string, env: Record<string, string> = {}): Promise<{ out: string; code: number }> {
  const sb = makeSandbox({ real: false, cli: MAIN, hostUserland: true });
  t.teardown(async () => {
    await execa(process.execPath, [MAIN, 'cluster', 'down'], { env: sb.env, extendEnv: false, reject: false });
    disposeSandbox(sb);
  });
  const r = await execa('sh', [path.join(DIR, name)], { cwd: sb.work, env: { ...sb.env, ...env }, extendEnv: false, reject: false, all: true, timeout: 120_000 });
  return { out: String(r.all), code: r.exitCode ?? -1 };
}

const lines = (out: string, word: 'PASS' | 'FAIL') => out.split('\n').filter((l) => l.startsWith(`${word}: `));

// Both at once: the script is mostly waiting for its slowed resync.
const withPatch = scenario(t, '002-join-mid-resync.sh');
const withoutPatch = scenario(t, '002-join-mid-resync.sh', { DMSETUP_TS_PATCHES: 'is-remote-recovering=off' });

t.test('join mid-resync: checkpoint, requeued write whose region jumps the queue, legs identical', async (t) => {
  const r = await withPatch;
  t.equal(r.code, 0, r.out);
  t.same(lines(r.out, 'FAIL'), []);
  t.match(r.out, /PASS: node 2: starts from the checkpoint, mid-resync/);
  t.match(r.out, /PASS: the legs are identical/);
});

t.test('join mid-resync without the patch: the write does not wait, its region is recovered in turn', async (t) => {
  const r = await withoutPatch;
  t.equal(r.code, 1, r.out);
  t.same(lines(r.out, 'FAIL').map((l) => l.replace(/ \(.*/, '')), ['FAIL: node 2: its region was recovered out of turn, before the write landed']);
});
