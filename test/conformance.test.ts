// The project's main conformance test: every scenario of fixtures/conformance
// run against the emulation and compared byte for byte with what Linux 6.1 and
// dmsetup 1.02.185 printed. Scenarios listed in fixtures/conformance/PENDING
// are reported as TODO (run, never skipped).

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkScenario, pendingScenarios, planScenarios, scheduleScenarios, type ConformanceOptions, type ScenarioResult } from '../dmsetup-ts/conformance/runner.js';
import { defaultCli } from '../dmsetup-ts/conformance/sandbox.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'conformance');
// tap runs one test file at a time (package.json), so this one has the machine;
// scenarios timed by the wall clock run alone (scheduleScenarios). The time
// limit is for a hang, not a speed check: a corpus file runs ~250 commands.
const opts: ConformanceOptions = { paths: [path.join(fixtures, 'scenarios')], timeoutSeconds: 300, jobs: os.availableParallelism() };
const scenarios = planScenarios(opts);
const pending = pendingScenarios(scenarios, opts);
const jobs = opts.jobs!;
const timed = scenarios.filter((s) => s.timed).length;
t.setTimeout((timed + Math.ceil((scenarios.length - timed) / jobs)) * opts.timeoutSeconds! * 1000 + 60_000);

t.test('the corpus and its PENDING list', async (t) => {
  t.ok(fs.existsSync(defaultCli()), 'the CLI is built (dist/dmsetup-ts/bin.cjs)');
  t.ok(fs.existsSync(path.join(fixtures, 'KERNEL-RECORDED')), 'the goldens are marked as recorded on a real kernel');
  for (const s of scenarios) t.ok(s.hasGolden, `${s.name} has a golden output`);
  const names = new Set(scenarios.map((s) => s.name));
  for (const [name, why] of pending) {
    t.ok(names.has(name), `PENDING names an existing scenario: ${name}`);
    t.match(why, /issue \d+/, `PENDING says which issue blocks ${name}`);
  }
});

// Scenarios run `jobs` at a time from the start (timed ones alone); the subtests report them in order.
const started = scheduleScenarios(scenarios, jobs, (s) => checkScenario(s, opts, pending.get(s.name)));

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
