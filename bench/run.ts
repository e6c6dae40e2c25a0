// npm run bench: every bench/*.bench.ts module, each reporting measurements
// as ratios against a reference measured in the same run, with its goal.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string; value: number; unit: string; goal: string; ratio?: number; met?: boolean;
  /** min / median / max of the rounds, formatted. */
  spread?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
let failed = 0;
for (const file of fs.readdirSync(here).filter((f) => f.endsWith('.bench.js')).sort()) {
  if (only.length && !only.some((o) => file.includes(o))) continue;
  const mod = (await import(path.join(here, file))) as { run(): Promise<BenchResult[]> };
  process.stdout.write(`# ${file.replace(/\.bench\.js$/, '')}\n`);
  try {
    for (const r of await mod.run()) {
      const ratio = r.ratio !== undefined ? `  ratio ${r.ratio.toFixed(2)}×` : '';
      const verdict = r.met === undefined ? '' : r.met ? '  (goal met)' : '  (goal NOT met)';
      const spread = r.spread ? `  [${r.spread}]` : '';
      process.stdout.write(`${r.name}: ${r.value.toFixed(r.unit === 'ms' || r.unit === 'MiB' ? 1 : 2)} ${r.unit}${ratio}  goal ${r.goal}${verdict}${spread}\n`);
    }
  } catch (e) {
    failed++;
    process.stdout.write(`  failed: ${(e as Error).message}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
