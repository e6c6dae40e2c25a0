// Parses the command line of `dmsetup-ts conformance` into ConformanceOptions (yargs, loaded lazily).

import * as os from 'node:os';
import { DEFAULT_TIMEOUT_SECONDS, UsageError, type ConformanceOptions } from './runner.js';

export const USAGE = 'dmsetup-ts conformance [options] PATH...';

/** The options, or 'help' when help was asked for (and printed by `print`). */
export async function parseOptions(argv: readonly string[], print: (text: string) => void): Promise<ConformanceOptions | 'help'> {
  const { default: yargs } = await import('yargs');
  let helpText: string | undefined;
  const parser = yargs([...argv])
    .scriptName('dmsetup-ts conformance')
    .usage(
      `${USAGE}\n\nRuns conformance scenarios (NAME.sh, or folders of them) against the emulation, ` +
        'each in a fresh empty directory with a fresh kernel, and compares all each prints ' +
        '(stdout and stderr, in order) byte for byte with its golden output NAME.out ' +
        '(beside it, or in ../expected/). Prints TAP; exits 1 if any scenario not in PENDING fails.',
    )
    .option('expected', { type: 'string', describe: 'Folder holding the golden outputs NAME.out', requiresArg: true })
    .option('jobs', { alias: 'j', type: 'number', default: os.availableParallelism(), describe: 'Scenarios run at a time', requiresArg: true })
    .option('timeout', { type: 'number', default: DEFAULT_TIMEOUT_SECONDS, describe: 'Seconds a scenario may run before it fails with its output so far', requiresArg: true })
    .option('update', { type: 'boolean', default: false, describe: 'Accept the actual output as the new golden (refused where KERNEL-RECORDED says the goldens come from a real kernel)' })
    .option('real', { type: 'boolean', default: false, describe: "Run against this machine's own kernel, dmsetup and losetup (root; no dm or loop devices in use), e.g. with --update to record goldens" })
    .option('actual', { type: 'string', describe: 'Also write each actual output to DIR/NAME.out', requiresArg: true })
    .option('pending', { type: 'string', describe: 'The PENDING file (default: PENDING in the scenario folder or the one holding it)', requiresArg: true })
    .option('keep', { type: 'boolean', default: false, describe: 'Keep each scenario sandbox (its path is in the diagnostics)' })
    .option('nodes', { type: 'number', describe: 'Run each scenario against a fresh emulated cluster of N nodes (`dmsetup-ts cluster up N`): with 1 inside node 1, with more as a host script driving the nodes with on N CMD, on_sh, node_kill, node_console. Scenarios whose folder says another count in its NODES file are left out (without --nodes they run on that many nodes)', requiresArg: true })
    .option('cluster-opt', { type: 'string', array: true, describe: 'For the scenarios run on a cluster: an option passed on to `dmsetup-ts cluster up` (e.g. --cluster-opt=--patch=off); may be repeated', requiresArg: true })
    .strictOptions()
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw new UsageError(err?.message ?? msg, true);
    });
  const args = await parser.parseAsync([...argv], {}, (_err, _argv, output) => {
    if (output) helpText = output;
  });
  if (args.help) {
    print(`${helpText ?? ''}\n`);
    return 'help';
  }
  const jobs = args.jobs;
  const timeout = args.timeout;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a whole number of at least 1, not ${jobs}`, true);
  if (!(timeout > 0)) throw new UsageError(`--timeout must be a positive number of seconds, not ${timeout}`, true);
  const nodes = args.nodes;
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1 || nodes > 32)) throw new UsageError(`--nodes must be a whole number from 1 to 32, not ${nodes}`, true);
  const clusterOpts = (args['cluster-opt'] ?? []).map(String);
  if (nodes !== undefined && args.real) throw new UsageError('--nodes runs against the emulated cluster; --real has no cluster (record with shared/cluster-oracle)', true);
  return {
    paths: args._.map(String),
    expectedDir: args.expected,
    jobs,
    timeoutSeconds: timeout,
    update: args.update,
    real: args.real,
    keep: args.keep,
    actualDir: args.actual,
    pendingFile: args.pending,
    nodes,
    clusterOpts,
  };
}
