// The real-cluster scenarios of fixtures/cluster, as the issue's
// `dmsetup-ts conformance --nodes 1|2 fixtures/cluster` runs them: each
// folder's NODES file says on how many nodes its scenarios run, and --nodes N
// takes exactly those (one-node/ inside node 1 of a one-node emulated cluster,
// two-node/ as host scripts driving two emulated nodes), each compared byte
// for byte with what real Linux 6.1 nodes with corosync and cmirrord printed
// (shared/cluster-oracle, recorded twice, identical).

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkScenario, planRun, type ConformanceOptions, type ScenarioResult } from '../../dmsetup-ts/conformance/runner.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'cluster');
// Most of a cluster scenario is waiting (resync steps, cmirrord's 3 s before
// a resume, corosync's token and consensus timeouts, the recordings' sleeps):
// four run at a time even on a two-core machine (tap runs one file at a time),
// ~90 s for the corpus where two at a time took ~140 s.
const JOBS = 4;
const suites = [1, 2].map((nodes) => {
  const opts: ConformanceOptions = { paths: [fixtures], timeoutSeconds: 180, nodes };
  return { nodes, opts, plan: planRun(opts) };
});
const all = suites.flatMap(({ opts, plan }) => plan.scenarios.map((s) => ({ s, opts })));
t.setTimeout((Math.ceil(all.length / JOBS) * 180 + 60) * 1000);

t.test('the recorded cluster corpus', async (t) => {
  t.ok(fs.existsSync(path.join(fixtures, 'KERNEL-RECORDED')), 'the goldens are marked as recorded on real nodes');
  for (const { s } of all) t.ok(s.hasGolden, `${s.name} has a golden output`);
  t.ok(all.length >= 12, `the four scenarios of shared/cluster-oracle and at least eight of the project (${all.length})`);
  for (const { nodes, plan } of suites) {
    const folder = path.join(fixtures, nodes === 1 ? 'one-node' : 'two-node');
    t.same(plan.scenarios.map((s) => path.dirname(s.script)), plan.scenarios.map(() => folder), `--nodes ${nodes} fixtures/cluster: exactly the scenarios of ${path.basename(folder)}/`);
    t.ok(plan.scenarios.length > 0 && plan.leftOut.length > 0, `--nodes ${nodes} fixtures/cluster: runs ${plan.scenarios.length}, leaves ${plan.leftOut.length} to the other count`);
  }
});

let free = JOBS;
const waiting: (() => void)[] = [];
async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
  else free--;
  try {
    return await f();
  } finally {
    const wake = waiting.shift();
    if (wake) wake();
    else free++;
  }
}
const started: Promise<ScenarioResult>[] = all.map(({ s, opts }) => slot(() => checkScenario(s, opts)));

all.forEach(({ s, opts }, i) => {
  t.test(`--nodes ${opts.nodes} ${s.name}`, async (t) => {
    const r = await started[i]!;
    const extra: Record<string, unknown> = { diff: r.diff };
    if (r.timedOut) extra.output_so_far = r.output.toString('utf8');
    t.ok(r.ok, r.ok ? 'output is the real cluster\'s, byte for byte' : r.message!, extra);
  });
});
