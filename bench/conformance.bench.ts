// The wall time of the whole public conformance corpus with --jobs 2, as a
// developer runs it before landing (each scenario boots its own kernel).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';
import { scratchDir, sh } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function run(): Promise<BenchResult[]> {
  const dir = scratchDir('conformance');
  const log = path.join(dir, 'tap');
  try {
    const t0 = performance.now();
    // Scenarios pending on other work fail as TAP TODO: the exit status is not the point here.
    await sh(process.execPath, [path.join(ROOT, 'dist/dmsetup-ts/main.js'), 'conformance', '--jobs', '2', path.join(ROOT, 'fixtures/conformance/scenarios')], { stdout: log }).catch(() => undefined);
    const ms = performance.now() - t0;
    const summary = /^# (.*)$/m.exec(fs.readFileSync(log, 'utf8').split('\n').filter((l) => / passed/.test(l)).join('\n'))?.[1] ?? 'no summary';
    return [{ name: `conformance corpus, --jobs 2 (${summary})`, value: ms / 1000, unit: 's', goal: '- (reported)' }];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
