// The `conformance` command: runs conformance scenarios and prints TAP. See runner.ts for the library API.

import { parseOptions, USAGE } from './options.js';
import { abortRunning } from './run-script.js';
import { runConformance, UsageError } from './runner.js';

/** `dmsetup-ts conformance ARGS...`; returns the exit status (0 all passed, 1 a failure, 2 a usage error). */
export async function main(argv: string[]): Promise<number> {
  try {
    const opts = await parseOptions(argv, (t) => process.stdout.write(t));
    if (opts === 'help') return 0;
    // Scenarios run in process groups of their own, out of reach of ^C: take them down with us.
    const onSignal = (signal: NodeJS.Signals) => {
      abortRunning();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const { exitCode } = await runConformance(opts);
      return exitCode;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`dmsetup-ts conformance: ${e.message}\n${e.showUsage ? `Usage: ${USAGE}\n` : ''}`);
    return 2;
  }
}
