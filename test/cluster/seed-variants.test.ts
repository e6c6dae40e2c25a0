// The seed scenario (fixtures/cluster/two-node/s2b, recorded on two real
// nodes) under the two in-sync orderings the seed warns against, run by the
// multi-node conformance runner with the patch selected on every node:
// (a) fail-mirror-sync-count, (b) in-sync-cleared-by-count. The seed predicts
// that node 1, whose write fails first, still switches primary (fail_mirror
// runs before its own region is marked out of sync), while node 2 can no
// longer switch and its kernel says "Primary mirror (254:0) failed while
// out-of-sync". No real kernel has (a) or (b), so there is no recording of
// them: the test takes the real recording and changes exactly what the
// prediction changes (node 2's message; node 2, its primary still the failed
// leg, failing its reads of the out-of-sync regions 1 and 0 with the kernel's
// "Mirror read failed."), and wants that, byte for byte. With the patch's
// ordering the scenario is the recording itself (test/cluster/conformance.test.ts).

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkScenario, planScenarios, type ConformanceOptions } from '../../dmsetup-ts/conformance/runner.js';
import { unifiedDiff } from '../../dmsetup-ts/conformance/compare.js';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'cluster', 'two-node', 's2b-seed-primary-switch.sh');
t.setTimeout(600_000);

/** The real recording as the seed predicts it under (a) or (b). */
function predicted(golden: string): string {
  const lines = golden.split('\n');
  const out: string[] = [];
  let node2Wrote = false, readFailed = false;
  for (const l of lines) {
    if (l.startsWith('== node 2 writes region 1')) node2Wrote = true;
    const read = /^(node 2 reads region [01]: )[0-9a-f]{32}( \(B is [0-9a-f]{32}\))?$/.exec(l);
    if (read) {
      out.push(`${read[1]}dm_read: I/O error${read[2] ?? ''}`);
      readFailed = true;
      continue;
    }
    out.push(l);
    if (l !== 'node 2 kernel:') continue;
    if (node2Wrote) {
      // fail_mirror on node 2, at its write's failure: in_sync is 0 (b), or the cluster-wide count is 7/8 (a).
      out.push('  device-mapper: raid1: Primary mirror (254:0) failed while out-of-sync: Reads may fail.');
      node2Wrote = false;
    } else if (readFailed) {
      // do_reads: the region is not in sync and the default leg has failed: bio_io_error, then mirror_end_io.
      out.push('  device-mapper: raid1: Mirror read failed.');
      readFailed = false;
    }
  }
  return out.join('\n');
}

// Both at once: the scenario is mostly waiting.
const runs = (['fail-mirror-sync-count', 'in-sync-cleared-by-count'] as const).map((patch) => {
  const opts: ConformanceOptions = { paths: [script], nodes: 2, timeoutSeconds: 180, clusterOpts: ['--patch', `${patch}=on`] };
  const [s] = planScenarios(opts);
  return { s: s!, run: checkScenario(s!, opts) };
});

for (const [i, [variant, patch]] of ([['(a)', 'fail-mirror-sync-count'], ['(b)', 'in-sync-cleared-by-count']] as const).entries()) {
  t.test(`s2b under ordering ${variant} ${patch}: node 1 switches primary, node 2 fails while out-of-sync`, async (t) => {
    const s = runs[i]!.s;
    const r = await runs[i]!.run;
    t.notOk(r.timedOut, 'the scenario ran to its end');
    const out = r.output.toString('utf8');
    const golden = fs.readFileSync(s.golden, 'utf8');
    const want = predicted(golden);
    t.not(want, golden, 'the prediction differs from the real run');
    t.equal(out, want, 'the recording with exactly the predicted divergence', { diff: unifiedDiff('predicted', Buffer.from(want), 'actual', r.output) });
    // What the prediction is, in so many words.
    t.notMatch(out, /node 1 kernel:\n(  [^\n]*\n)*  device-mapper: raid1: Primary mirror/, 'node 1 switches primary: its kernel never refuses');
    t.match(out, /\nnode 1 reads region 0: ([0-9a-f]{32}) \(A is \1\)\n/, 'node 1 reads its write back from the new primary');
    t.match(out, /== node 2 writes region 1[^\n]*\n(?:[^=][^\n]*\n)*?node 2 kernel:\n  device-mapper: raid1: Primary mirror \(254:0\) failed while out-of-sync: Reads may fail\.\n/, 'node 2 fails while out-of-sync');
  });
}
