// What a fuzzer run reports, the time bound every operation runs under, and
// the trap for exceptions that escape to the event loop.

export interface FuzzFailure {
  /** The case index (-1: escaped to the event loop, not tied to one case) and its seed, to replay it. */
  case: number;
  seed: number;
  kind: 'escaped' | 'hang' | 'leftover' | 'invariant' | 'death';
  what: string;
  /** The last operations of the case. */
  ops: string[];
}

export interface Summary {
  fuzzer: string;
  cases: number;
  seed: number;
  ops: number;
  /** Exceptions other than the kernel's own errors (KernelError), thrown or unhandled. */
  escaped: number;
  hangs: number;
  /** Kernel processes that died (NBD, socket fuzzers). */
  deaths: number;
  /** Devices (or open loop devices) left behind. */
  leftovers: number;
  /** Broken mirror or device invariants. */
  invariants: number;
  kernelErrors: number;
  mirrorChecks: number;
  failures: FuzzFailure[];
  ms: number;
}

export function newSummary(fuzzer: string, cases: number, seed: number): Summary {
  return { fuzzer, cases, seed, ops: 0, escaped: 0, hangs: 0, deaths: 0, leftovers: 0, invariants: 0, kernelErrors: 0, mirrorChecks: 0, failures: [], ms: 0 };
}

/** Every failure count of a summary added up. */
export function failureCount(s: Summary): number { return s.escaped + s.hangs + s.deaths + s.leftovers + s.invariants; }

/** One line of figures. */
export function summaryLine(s: Summary): string {
  return `${s.fuzzer}: ${s.cases} cases, seed ${s.seed}, ${s.ops} operations (${s.kernelErrors} kernel errors) in ${(s.ms / 1000).toFixed(1)} s: `
    + `${s.escaped} escaped exceptions, ${s.hangs} hangs, ${s.deaths} deaths, ${s.leftovers} leftovers, ${s.invariants} broken invariants`
    + (s.mirrorChecks ? ` (${s.mirrorChecks} mirror checks)` : '');
}

export class Hang extends Error {}

/** p, or a Hang once ms of real time have passed. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Hang(`${what}: not done after ${ms} ms`)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Count unhandled rejections and uncaught exceptions while a fuzzer runs; returns the undo. */
export function trapEscapes(onEscape: (what: string) => void): () => void {
  const rej = (e: unknown) => onEscape(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`);
  const exc = (e: unknown) => onEscape(`uncaught exception: ${(e as Error)?.stack ?? String(e)}`);
  process.on('unhandledRejection', rej);
  process.on('uncaughtException', exc);
  return () => { process.off('unhandledRejection', rej); process.off('uncaughtException', exc); };
}
