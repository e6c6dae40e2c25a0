// Finds the scenarios (NAME.sh) named on the command line and the golden output of each.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Scenario {
  /** NAME of NAME.sh. */
  readonly name: string;
  /** Absolute path of the script. */
  readonly script: string;
  /** Where its golden output is, or would be written by --update. */
  readonly golden: string;
  /** Whether `golden` exists. */
  readonly hasGolden: boolean;
  /**
   * Its steps are timed by the wall clock (`sleep`, /proc/uptime): what it
   * prints depends on how long each command takes, so it runs alone.
   */
  readonly timed: boolean;
}

/** A bad command line or scenario set: the CLI prints it and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** `showUsage`: the command line itself is wrong, so the CLI also prints the usage line. */
  constructor(message: string, readonly showUsage = false) {
    super(message);
  }
}

/**
 * Each PATH is a NAME.sh or a folder whose *.sh are taken in name order.
 * A golden is DIR/NAME.out when `expectedDir` is given; otherwise NAME.out
 * beside the script, else ../expected/NAME.out. Without any, it would be
 * written to ../expected/ if that folder exists, else beside the script.
 */
export function discoverScenarios(paths: readonly string[], expectedDir?: string): Scenario[] {
  const scripts: string[] = [];
  for (const p of paths) {
    const abs = path.resolve(p);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      throw new UsageError(`${p}: no such scenario or folder`);
    }
    if (st.isDirectory()) {
      const found = fs.readdirSync(abs).filter((f) => f.endsWith('.sh')).sort();
      if (found.length === 0) throw new UsageError(`${p}: no scenarios (*.sh) in this folder`);
      scripts.push(...found.map((f) => path.join(abs, f)));
    } else if (abs.endsWith('.sh')) {
      scripts.push(abs);
    } else {
      throw new UsageError(`${p}: a scenario must be named NAME.sh`);
    }
  }
  return [...new Set(scripts)].map((script) => locate(script, expectedDir));
}

/** A `sleep` or a read of /proc/uptime outside comments. */
function isTimed(script: string): boolean {
  const code = fs.readFileSync(script, 'utf8').replace(/^\s*#.*$/gm, '');
  return /(^|[\s;&|(])sleep\s|\/proc\/uptime/m.test(code);
}

function locate(script: string, expectedDir?: string): Scenario {
  return { ...locateGolden(script, expectedDir), timed: isTimed(script) };
}

function locateGolden(script: string, expectedDir?: string): Omit<Scenario, 'timed'> {
  const name = path.basename(script, '.sh');
  const dir = path.dirname(script);
  const file = `${name}.out`;
  if (expectedDir !== undefined) {
    const golden = path.resolve(expectedDir, file);
    return { name, script, golden, hasGolden: fs.existsSync(golden) };
  }
  const beside = path.join(dir, file);
  const sibling = path.join(dir, '..', 'expected', file);
  for (const golden of [beside, sibling]) {
    if (fs.existsSync(golden)) return { name, script, golden, hasGolden: true };
  }
  const siblingDir = path.dirname(sibling);
  const golden = fs.existsSync(siblingDir) ? sibling : beside;
  return { name, script, golden, hasGolden: false };
}
