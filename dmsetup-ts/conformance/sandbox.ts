// Builds the world one scenario runs in: a temp folder holding an empty working
// directory, shims putting this project's dmsetup and losetup first on PATH, and
// the runtime directory of the scenario's own fresh emulated kernel.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Sandbox {
  /** The temp folder holding everything below; removed by dispose(). */
  readonly root: string;
  /** The scenario's working directory, empty at start. */
  readonly work: string;
  /** Where the scenario's combined stdout and stderr go. */
  readonly output: string;
  /** DMSETUP_TS_DIR: the emulated kernel's runtime directory (undefined with --real). */
  readonly kernelDir: string | undefined;
  /** The project's CLI that the shims run, bin.cjs or main.js (undefined with --real). */
  readonly cli: string | undefined;
  readonly env: NodeJS.ProcessEnv;
}

/** The project's CLI, dist/dmsetup-ts/bin.cjs (the one-file build when there is one, else main.js). */
export function defaultCli(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin.cjs');
}

/** Commands the emulation provides on PATH, and what each runs. */
const SHIMS: Record<string, { prog?: string; args: string[] }> = {
  dmsetup: { prog: 'dmsetup', args: [] },
  losetup: { prog: 'losetup', args: [] },
  blockdev: { prog: 'blockdev', args: [] },
  'dmsetup-ts': { args: [] },
  dmesg: { args: ['dmesg'] },
};

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `real`: the machine's own dmsetup and losetup, no shims. Otherwise `cli` is
 * the project's CLI (bin.cjs or main.js), run by this same node.
 */
export function makeSandbox(opts: { real: boolean; cli: string }): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-conformance-'));
  const work = path.join(root, 'work');
  fs.mkdirSync(work);
  // As little as the oracle's init gives, so that a scenario sees the same on
  // every machine (and no NODE_OPTIONS of a test harness slows every command).
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', LC_ALL: 'C', DM_DISABLE_UDEV: '1' };
  if (process.env.TMPDIR !== undefined) env.TMPDIR = process.env.TMPDIR;
  // The kernel patches under test (targets/mirror/patches.ts) reach the scenario's kernel or cluster.
  if (!opts.real && process.env.DMSETUP_TS_PATCHES !== undefined) env.DMSETUP_TS_PATCHES = process.env.DMSETUP_TS_PATCHES;
  let kernelDir: string | undefined;
  if (!opts.real) {
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    for (const [name, shim] of Object.entries(SHIMS)) {
      const prog = shim.prog ? `DMSETUP_TS_PROG=${shim.prog}; export DMSETUP_TS_PROG` : 'unset DMSETUP_TS_PROG';
      const argv = [process.execPath, opts.cli, ...shim.args].map(q).join(' ');
      const text = `#!/bin/sh\n# ${name} on this project's emulation (made by dmsetup-ts conformance)\n${prog}\nexec ${argv} "$@"\n`;
      fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
    }
    kernelDir = path.join(root, 'kernel');
    fs.mkdirSync(kernelDir, { mode: 0o700 });
    env.DMSETUP_TS_DIR = kernelDir;
    env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
  }
  return { root, work, output: path.join(root, 'output'), kernelDir, cli: opts.real ? undefined : opts.cli, env };
}

export function disposeSandbox(sandbox: Sandbox): void {
  fs.rmSync(sandbox.root, { recursive: true, force: true });
}
