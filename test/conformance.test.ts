// The project's main conformance test: every scenario of fixtures/conformance
// run against the emulation and compared byte for byte with what Linux 6.1 and
// dmsetup 1.02.185 printed. Scenarios listed in fixtures/conformance/PENDING
// are reported as TODO (run, never skipped).

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkScenario, pendingScenarios, planScenarios, type ConformanceOptions, type ScenarioResult } from '../dmsetup-ts/conformance/runner.js';
import { defaultCli } from '../dmsetup-ts/conformance/sandbox.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'conformance');
// One CPU fewer than the machine has: tap runs other test files beside this one,
// and scenarios with wall-clock windows (flakey up/down, 103 and 105) fail on an
// oversubscribed machine.
const opts: ConformanceOptions = { paths: [path.join(fixtures, 'scenarios')], timeoutSeconds: 120, jobs: Math.max(1, os.availableParallelism() - 1) };
const scenarios = planScenarios(opts);
const pending = pendingScenarios(scenarios, opts);
const jobs = opts.jobs!;
t.setTimeout((Math.ceil(scenarios.length / jobs) * opts.timeoutSeconds! + 60) * 1000);

t.test('the corpus and its PENDING list', async (t) => {
  t.ok(fs.existsSync(defaultCli()), 'the CLI is built (dist/dmsetup-ts/main.js)');
  t.ok(fs.existsSync(path.join(fixtures, 'KERNEL-RECORDED')), 'the goldens are marked as recorded on a real kernel');
  for (const s of scenarios) t.ok(s.hasGolden, `${s.name} has a golden output`);
  const names = new Set(scenarios.map((s) => s.name));
  for (const [name, why] of pending) {
    t.ok(names.has(name), `PENDING names an existing scenario: ${name}`);
    t.match(why, /issue \d+/, `PENDING says which issue blocks ${name}`);
  }
});

// Scenarios run `jobs` at a time from the start; the subtests report them in order.
let next = 0;
const started: Promise<ScenarioResult>[] = [];
const slots: (() => void)[] = [];
let free = jobs;
async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (free === 0) await new Promise<void>((resolve) => slots.push(resolve));
  else free--;
  try {
    return await f();
  } finally {
    const wake = slots.shift();
    if (wake) wake();
    else free++;
  }
}
for (const s of scenarios) started[next++] = slot(() => checkScenario(s, opts, pending.get(s.name)));

scenarios.forEach((s, i) => {
  t.test(s.name, async (t) => {
    const r = await started[i]!;
    const todo = pending.get(s.name);
    const extra: Record<string, unknown> = { todo, diff: r.diff };
    if (r.timedOut) extra.output_so_far = r.output.toString('utf8');
    t.ok(r.ok, r.ok ? 'output is the kernel\'s, byte for byte' : r.message!, extra);
    if (todo !== undefined && r.ok) t.comment(`${s.name} passes now: remove it from fixtures/conformance/PENDING`);
  });
});
