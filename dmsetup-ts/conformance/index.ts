// The `conformance` command: runs conformance scenarios and prints TAP. See runner.ts for the library API.

import { parseOptions, USAGE } from './options.js';
import { runConformance, UsageError } from './runner.js';

/** `dmsetup-ts conformance ARGS...`; returns the exit status (0 all passed, 1 a failure, 2 a usage error). */
export async function main(argv: string[]): Promise<number> {
  try {
    const opts = await parseOptions(argv, (t) => process.stdout.write(t));
    if (opts === 'help') return 0;
    const { exitCode } = await runConformance(opts);
    return exitCode;
  } catch (e) {
    if (!(e instanceof UsageError) && !(e instanceof Error && e.name === 'YError')) throw e;
    process.stderr.write(`dmsetup-ts conformance: ${e.message}\nUsage: ${USAGE}\n`);
    return 2;
  }
}
