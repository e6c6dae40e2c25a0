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
  /** The node count its folder's NODES file declares (a cluster scenario), if any. */
  readonly nodes?: number;
  /** The commands its folder's UTIL-LINUX file says its VM had from util-linux instead of BusyBox. */
  readonly utilLinux?: string[];
}

/**
 * A folder's commands that were util-linux's, not BusyBox's, on the VM that
 * recorded its goldens (one a line, `#` starts a comment): losetup, blockdev.
 */
export const UTIL_LINUX_FILE = 'UTIL-LINUX';
const UTIL_LINUX_COMMANDS = ['losetup', 'blockdev'];

/** The commands DIR/UTIL-LINUX names, or undefined without one; an unknown one is a UsageError. */
export function declaredUtilLinux(dir: string): string[] | undefined {
  const file = path.join(dir, UTIL_LINUX_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const words = text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '');
  const bad = words.find((w) => !UTIL_LINUX_COMMANDS.includes(w));
  if (bad !== undefined) throw new UsageError(`${file}: ${bad}: not one of ${UTIL_LINUX_COMMANDS.join(', ')}`);
  return words;
}

/** A folder's node count for its scenarios: one line, the number (`#` starts a comment). */
export const NODES_FILE = 'NODES';

/** A bad command line or scenario set: the CLI prints it and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** `showUsage`: the command line itself is wrong, so the CLI also prints the usage line. */
  constructor(message: string, readonly showUsage = false) {
    super(message);
  }
}

/** The node count DIR/NODES declares, or undefined without one; a bad one is a UsageError. */
export function declaredNodes(dir: string): number | undefined {
  const file = path.join(dir, NODES_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const words = text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '');
  const n = Number(words[0]);
  if (words.length !== 1 || !/^[0-9]+$/.test(words[0]!) || n < 1 || n > 32) {
    throw new UsageError(`${file}: must hold one node count from 1 to 32 (the scenarios of its folder run on a cluster of that many nodes)`);
  }
  return n;
}

/** The *.sh of a folder, in name order. */
function scriptsIn(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.sh')).sort().map((f) => path.join(dir, f));
}

/**
 * Each PATH is a NAME.sh or a folder whose *.sh are taken in name order,
 * then those of each subfolder that declares its node count (NODES), in
 * name order.
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
      const found = scriptsIn(abs);
      const subs = fs.readdirSync(abs, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
      for (const sub of subs) {
        const dir = path.join(abs, sub);
        if (fs.existsSync(path.join(dir, NODES_FILE))) found.push(...scriptsIn(dir));
      }
      if (found.length === 0) throw new UsageError(`${p}: no scenarios (*.sh) in this folder`);
      scripts.push(...found);
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
  const nodes = declaredNodes(path.dirname(script));
  const utilLinux = declaredUtilLinux(path.dirname(script));
  return {
    name: path.basename(script, '.sh'), script, ...findGolden(script, expectedDir), timed: isTimed(script),
    ...(nodes === undefined ? {} : { nodes }),
    ...(utilLinux === undefined ? {} : { utilLinux }),
  };
}

function findGolden(script: string, expectedDir?: string): { golden: string; hasGolden: boolean } {
  const dir = path.dirname(script);
  const file = `${path.basename(script, '.sh')}.out`;
  if (expectedDir !== undefined) {
    const golden = path.resolve(expectedDir, file);
    return { golden, hasGolden: fs.existsSync(golden) };
  }
  const beside = path.join(dir, file);
  const sibling = path.join(dir, '..', 'expected', file);
  for (const golden of [beside, sibling]) {
    if (fs.existsSync(golden)) return { golden, hasGolden: true };
  }
  const siblingDir = path.dirname(sibling);
  return { golden: fs.existsSync(siblingDir) ? sibling : beside, hasGolden: false };
}
