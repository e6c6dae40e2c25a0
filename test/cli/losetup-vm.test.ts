// losetup's forms against util-linux 2.38.1's real losetup on Linux 6.1: the
// scenarios of fixtures/losetup-vm, recorded (twice, identical) with
// test/tools/losetup-vm.sh (the oracle's VM image with util-linux losetup
// added), run like conformance scenarios with our losetup on PATH.

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { checkScenario, planScenarios, type ConformanceOptions } from '../../dmsetup-ts/conformance/runner.js';

/** Why a scenario cannot pass yet (run, reported as TODO). */
const PENDING: Record<string, string> = {};

// The VM runs its scenarios on tmpfs (which takes no O_DIRECT on 6.1): so do
// ours, where the machine has one (the backing files' file system decides
// what --direct-io does).
if (fs.existsSync('/dev/shm')) {
  const shm = fs.mkdtempSync('/dev/shm/dmsetup-ts-losetup-');
  process.env.TMPDIR = shm;
  t.teardown(() => fs.rmSync(shm, { recursive: true, force: true }));
}

const opts: ConformanceOptions = { paths: [path.join(ROOT, 'fixtures/losetup-vm')], timeoutSeconds: 120, jobs: 1 };

for (const s of planScenarios(opts)) {
  t.test(s.name, async (t) => {
    t.ok(s.hasGolden, 'recorded with the real losetup');
    const r = await checkScenario(s, opts);
    const todo = PENDING[s.name];
    t.ok(r.ok, r.message ?? 'as util-linux losetup', todo ? { todo, diff: r.diff } : { diff: r.diff });
  });
}
