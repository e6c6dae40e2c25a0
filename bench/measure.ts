// How the bench measures: scratch files on tmpfs (/dev/shm) so disk
// writeback stays out of the picture, a warm-up round, then rounds that
// alternate between the reference and the measured thing, reported as
// min/median/max wall times.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';

export interface Spread { min: number; median: number; max: number }

export function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]! };
}

/** A scratch directory on tmpfs (falls back to the temporary directory where /dev/shm is missing). */
export function scratchDir(prefix: string): string {
  const base = fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').isDirectory() ? '/dev/shm' : os.tmpdir();
  return fs.mkdtempSync(path.join(base, `dmsetup-ts-${prefix}-`));
}

/**
 * Run every function once to warm up, then `rounds` times in alternation
 * (a, b, a, b, ...); each returns its wall time in ms, or is timed here.
 * setup runs before each timed call, untimed.
 */
export async function alternate(rounds: number, fns: Record<string, { setup?: () => void | Promise<void>; run: () => Promise<number | void> }>): Promise<Record<string, Spread>> {
  const times: Record<string, number[]> = {};
  for (let r = -1; r < rounds; r++) {
    for (const [name, f] of Object.entries(fns)) {
      await f.setup?.();
      const t0 = performance.now();
      const v = await f.run();
      const ms = typeof v === 'number' ? v : performance.now() - t0;
      if (r >= 0) (times[name] ??= []).push(ms);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, spread(v)]));
}

/** Run a program to completion; rejects on a non-zero exit. */
export function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; stdout?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdin = opts.stdin ? fs.openSync(opts.stdin, 'r') : 'ignore';
    const stdout = opts.stdout ? fs.openSync(opts.stdout, 'w') : 'ignore';
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: [stdin, stdout, 'inherit'] });
    const closeFds = () => { if (typeof stdin === 'number') fs.closeSync(stdin); if (typeof stdout === 'number') fs.closeSync(stdout); };
    child.on('error', (e) => { closeFds(); reject(e); });
    child.on('exit', (code) => { closeFds(); if (code === 0) resolve(); else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`)); });
  });
}

/** An empty (sparse) file of `bytes`, freeing any pages it held. */
export function freshFile(file: string, bytes: number): void {
  fs.writeFileSync(file, '');
  fs.truncateSync(file, bytes);
}

export function have(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => { try { fs.accessSync(path.join(d, bin), fs.constants.X_OK); return true; } catch { return false; } });
}

export const fmtSpread = (s: Spread, unit = 'ms') => `min ${s.min.toFixed(0)} / median ${s.median.toFixed(0)} / max ${s.max.toFixed(0)} ${unit}`;
