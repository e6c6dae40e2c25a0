// Running the CLI against a fresh emulated kernel of its own, as a user would.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MAIN = path.join(ROOT, 'dist/dmsetup-ts/main.js');

export interface Sandbox {
  dir: string;
  env: Record<string, string>;
  /** Run `dmsetup ARGS` (the CLI named dmsetup); never rejects. */
  dmsetup(args: string[], opts?: Options): Promise<{ stdout: string; stderr: string; exitCode: number; all: string }>;
  run(prog: string, args: string[], opts?: Options): Promise<{ stdout: string; stderr: string; exitCode: number; all: string }>;
  stop(): Promise<void>;
}

export function sandbox(): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-test-'));
  const env = { DMSETUP_TS_DIR: path.join(dir, 'kernel'), LC_ALL: 'C' };
  const run = async (prog: string, args: string[], opts: Options = {}) => {
    const r = await execa(process.execPath, [MAIN, ...args], {
      cwd: dir, env: { ...env, DMSETUP_TS_PROG: prog }, reject: false, all: true, stripFinalNewline: false, ...opts,
    } as Options);
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1, all: String(r.all) };
  };
  return {
    dir,
    env,
    run,
    dmsetup: (args, opts) => run('dmsetup', args, opts),
    async stop() {
      await run('dmsetup-ts', ['kernel', 'stop']);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
