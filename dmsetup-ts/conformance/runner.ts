// Runs scenarios, --jobs at a time, each in its own sandbox against a fresh
// kernel; compares each with its golden output (or accepts the output as the
// new golden with --update); reports TAP in scenario order. The library API
// behind `dmsetup-ts conformance`.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { declaredNodes, discoverScenarios, NODES_FILE, UsageError, type Scenario } from './discover.js';
import { findPendingFile, readPending } from './pending.js';
import { preludePath } from './prelude.js';
import { realMachineProblem, resetRealKernel } from './real.js';
import { kernelRecordedMarker } from './recorded.js';
import { runScript } from './run-script.js';
import { runClusterScript } from './cluster-sandbox.js';
import { defaultCli, disposeSandbox, makeSandbox } from './sandbox.js';
import { sameOutput, unifiedDiff } from './compare.js';
import { TapWriter, type TestPoint } from './tap.js';

export { UsageError, type Scenario } from './discover.js';

export const DEFAULT_TIMEOUT_SECONDS = 120;

export interface ConformanceOptions {
  /** Scenario scripts (NAME.sh) and folders of them. */
  readonly paths: readonly string[];
  /** Folder of the golden outputs (NAME.out); default beside the script, else ../expected/. */
  readonly expectedDir?: string;
  /** Scenarios run at a time; default the number of CPUs (always 1 with `real`). */
  readonly jobs?: number;
  /** Per-scenario time limit; a scenario still running then fails with its output so far. */
  readonly timeoutSeconds?: number;
  /** Write each differing actual output as the new golden (never into a kernel-recorded folder, unless `real`). */
  readonly update?: boolean;
  /** Run against the machine's own dmsetup, losetup and kernel instead of the emulation. */
  readonly real?: boolean;
  /** Keep each scenario's sandbox (named in the diagnostics) instead of removing it. */
  readonly keep?: boolean;
  /** Also write every actual output to DIR/NAME.out. */
  readonly actualDir?: string;
  /** The PENDING file to use; default PENDING in the scenario's folder or the one holding it. */
  readonly pendingFile?: string;
  /** The project's CLI (bin.cjs or main.js) that the dmsetup and losetup shims run. */
  readonly cli?: string;
  /**
   * Run each scenario against a fresh emulated cluster of this many nodes (see
   * cluster-sandbox.ts): the scenarios whose folder declares this count (NODES)
   * or none; the ones declaring another are left out. Without it, a scenario
   * whose folder declares a count runs on a cluster of that many nodes.
   */
  readonly nodes?: number;
  /** Options passed on to `dmsetup-ts cluster up` (patch selection...) for the scenarios run on a cluster. */
  readonly clusterOpts?: readonly string[];
}

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly ok: boolean;
  /** Why it cannot pass yet, when PENDING lists it. */
  readonly todo?: string;
  readonly output: Buffer;
  readonly status: number | null;
  readonly timedOut: boolean;
  readonly ms: number;
  readonly message?: string;
  readonly diff?: string;
  /** The golden was (re)written by --update. */
  readonly updated: boolean;
  /** The sandbox, when kept. */
  readonly sandbox?: string;
}

const rel = (p: string) => path.relative(process.cwd(), p) || '.';

/** The scenarios to run, and those --nodes leaves out (their folder declares another node count). */
export interface Plan {
  readonly scenarios: Scenario[];
  readonly leftOut: Scenario[];
}

/** The scenarios, checked against --update's rule; throws UsageError. */
export function planScenarios(opts: ConformanceOptions): Scenario[] {
  return planRun(opts).scenarios;
}

/** The scenarios to run, chosen by node count (--nodes and NODES) and checked against --update's rule; throws UsageError. */
export function planRun(opts: ConformanceOptions): Plan {
  if (opts.paths.length === 0) throw new UsageError('name at least one scenario (NAME.sh) or folder of them', true);
  const found = discoverScenarios(opts.paths, opts.expectedDir);
  for (const p of opts.paths) {
    // A scenario named on its own must be runnable with the --nodes asked for.
    const abs = path.resolve(p);
    if (opts.nodes === undefined || !abs.endsWith('.sh') || fs.statSync(abs).isDirectory()) continue;
    const n = declaredNodes(path.dirname(abs));
    if (n !== undefined && n !== opts.nodes) {
      throw new UsageError(`${p}: ${rel(path.join(path.dirname(abs), NODES_FILE))} says its scenarios run on ${nodesText(n)}, not on --nodes ${opts.nodes}`);
    }
  }
  const scenarios = found.filter((s) => opts.nodes === undefined || s.nodes === undefined || s.nodes === opts.nodes);
  const leftOut = found.filter((s) => !scenarios.includes(s));
  if (scenarios.length === 0) {
    throw new UsageError(`--nodes ${opts.nodes}: every scenario named runs on another number of nodes (${[...new Set(leftOut.map((s) => s.nodes!))].map(nodesText).join(', ')}, as their NODES files say)`);
  }
  if (opts.real) {
    const cluster = scenarios.find((s) => s.nodes !== undefined);
    if (cluster) throw new UsageError(`--real has no cluster: ${rel(cluster.script)} runs on ${nodesText(cluster.nodes!)} (record it with shared/cluster-oracle)`);
  }
  if (opts.clusterOpts?.length && !scenarios.some((s) => (s.nodes ?? opts.nodes) !== undefined)) {
    throw new UsageError('--cluster-opt needs --nodes or scenarios whose folder declares their node count (NODES)', true);
  }
  if (opts.update && !opts.real) {
    for (const s of scenarios) {
      const marker = kernelRecordedMarker(s.golden);
      if (marker !== undefined) {
        throw new UsageError(
          `--update refuses to write ${rel(s.golden)}: ${rel(marker)} says the goldens there come from a real kernel ` +
            `(record them with the oracle or --real --update instead)`,
        );
      }
    }
  }
  return { scenarios, leftOut };
}

function nodesText(n: number): string { return n === 1 ? '1 node' : `${n} nodes`; }

/** NAME -> why, for the scenarios PENDING lists (none with --real: a real kernel has no open issues). */
export function pendingScenarios(scenarios: readonly Scenario[], opts: ConformanceOptions): Map<string, string> {
  const pending = new Map<string, string>();
  if (opts.real) return pending;
  const files = new Set<string>();
  if (opts.pendingFile !== undefined) files.add(path.resolve(opts.pendingFile));
  else for (const s of scenarios) {
    const f = findPendingFile(path.dirname(s.script));
    if (f !== undefined) files.add(f);
  }
  for (const f of files) for (const [name, why] of readPending(f)) pending.set(name, why);
  return pending;
}

/** Runs one scenario in a fresh sandbox and judges its output. */
export async function checkScenario(scenario: Scenario, opts: ConformanceOptions, todo?: string): Promise<ScenarioResult> {
  const real = opts.real ?? false;
  const timeoutSeconds = opts.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const onCluster = (scenario.nodes ?? opts.nodes) !== undefined;
  const sandbox = makeSandbox({ real, cli: opts.cli ?? defaultCli(), utilLinux: scenario.utilLinux, hostUserland: onCluster });
  if (real) resetRealKernel();
  let run;
  try {
    const nodes = scenario.nodes ?? opts.nodes;
    if (nodes !== undefined) {
      run = await runClusterScript(sandbox, scenario.script, nodes, opts.clusterOpts ?? [], timeoutSeconds * 1000);
    } else {
      run = await runScript(sandbox, scenario.script, preludePath(real ? 'oracle-prelude.sh' : 'prelude.sh'), timeoutSeconds * 1000);
    }
  } finally {
    if (real) resetRealKernel();
    if (!opts.keep) disposeSandbox(sandbox);
  }
  if (opts.actualDir !== undefined) {
    fs.mkdirSync(opts.actualDir, { recursive: true });
    fs.writeFileSync(path.join(opts.actualDir, `${scenario.name}.out`), run.output);
  }
  const expected = scenario.hasGolden ? fs.readFileSync(scenario.golden) : Buffer.alloc(0);
  const same = scenario.hasGolden && sameOutput(expected, run.output);
  const base = { scenario, todo, output: run.output, status: run.status, timedOut: run.timedOut, ms: run.ms, updated: false, sandbox: opts.keep ? sandbox.root : undefined };
  const diff = () =>
    unifiedDiff(scenario.hasGolden ? rel(scenario.golden) : '/dev/null', expected, `${rel(scenario.script)} (actual output)`, run.output);
  if (run.timedOut) {
    return { ...base, ok: false, message: `timed out after ${timeoutSeconds} s; output_so_far is what it printed until then`, diff: diff() };
  }
  if (same) return { ...base, ok: true };
  if (opts.update) {
    fs.mkdirSync(path.dirname(scenario.golden), { recursive: true });
    fs.writeFileSync(scenario.golden, run.output);
    return { ...base, ok: true, updated: true, message: `wrote ${rel(scenario.golden)}`, diff: diff() };
  }
  const message = scenario.hasGolden
    ? `output differs from ${rel(scenario.golden)}`
    : `no golden output ${rel(scenario.golden)} (record it on a real kernel, or --update for a scenario written only for the emulation)`;
  return { ...base, ok: false, message, diff: diff() };
}

export function testPoint(r: ScenarioResult): TestPoint {
  const diag: Record<string, string | number> = {};
  if (r.message !== undefined) diag.message = r.message;
  if (!r.ok) {
    diag.script = rel(r.scenario.script);
    diag.exit = r.status === null ? 'killed' : r.status;
    diag.duration_ms = r.ms;
  }
  if (r.sandbox !== undefined) diag.sandbox = r.sandbox;
  const blocks: Record<string, string> = {};
  if (r.diff !== undefined && (!r.ok || r.updated)) blocks.diff = r.diff;
  if (r.timedOut) blocks.output_so_far = r.output.toString('utf8');
  return { name: r.scenario.name, ok: r.ok, todo: r.todo, diag, blocks };
}

/**
 * Starts every scenario, `jobs` at a time and in order, except that a timed
 * one (see Scenario.timed) waits until the others have finished and runs
 * alone: its windows are seconds wide and each command of it must cost what
 * it costs on an idle machine. Returns each scenario's result, in order.
 */
export function scheduleScenarios<T>(scenarios: readonly Scenario[], jobs: number, check: (s: Scenario) => Promise<T>): Promise<T>[] {
  const slots = Math.max(1, jobs);
  let running = 0;
  let next = 0;
  const results = scenarios.map(() => {
    let resolve!: (r: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  });
  const startMore = () => {
    while (next < scenarios.length) {
      const s = scenarios[next]!;
      // A timed scenario takes every slot.
      const weight = s.timed ? slots : 1;
      if (running + weight > slots) return;
      const i = next++;
      running += weight;
      check(s).then(results[i]!.resolve, results[i]!.reject).finally(() => {
        running -= weight;
        startMore();
      });
    }
  };
  startMore();
  return results.map((r) => r.promise);
}

/**
 * Runs everything `opts` names and writes TAP to `write`. Returns the exit
 * status: 0 when every scenario not in PENDING passed, 1 otherwise. Throws
 * UsageError for a bad command line (the CLI exits 2).
 */
export async function runConformance(
  opts: ConformanceOptions,
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<{ exitCode: number; results: ScenarioResult[] }> {
  const { scenarios, leftOut } = planRun(opts);
  const pending = pendingScenarios(scenarios, opts);
  const jobs = opts.real ? 1 : Math.max(1, opts.jobs ?? os.availableParallelism());
  const tap = new TapWriter(write);
  tap.plan(scenarios.length);
  for (const n of [...new Set(leftOut.map((s) => s.nodes!))]) {
    const these = leftOut.filter((s) => s.nodes === n);
    const files = [...new Set(these.map((s) => rel(path.join(path.dirname(s.script), NODES_FILE))))];
    tap.comment(`--nodes ${opts.nodes}: left out ${these.length} scenario${these.length === 1 ? '' : 's'} on ${nodesText(n)} (${files.join(', ')}): ${these.map((s) => s.name).join(' ')}`);
  }
  if (opts.real) {
    // A machine that cannot run them: the plan, then TAP's Bail out! with the reason (one line).
    const problem = realMachineProblem();
    if (problem !== undefined) {
      write(`Bail out! ${problem.replace(/\s*\n\s*/g, ' / ')}\n`);
      return { exitCode: 1, results: [] };
    }
  }
  const results: (ScenarioResult | undefined)[] = new Array(scenarios.length);
  let reported = 0;
  const flush = () => {
    for (let r = results[reported]; r !== undefined; r = results[++reported]) {
      tap.point(testPoint(r));
      if (r.todo !== undefined && r.ok) tap.comment(`${r.scenario.name} passes now: remove it from PENDING`);
    }
  };
  const run = scheduleScenarios(scenarios, jobs, (s) => checkScenario(s, opts, pending.get(s.name)));
  await Promise.all(run.map(async (p, i) => { results[i] = await p; flush(); }));
  tap.summary();
  return { exitCode: tap.tally.failed > 0 ? 1 : 0, results: results as ScenarioResult[] };
}
