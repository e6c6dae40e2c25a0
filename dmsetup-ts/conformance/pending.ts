// Reads PENDING: scenarios that cannot pass yet, each with the open issue that blocks it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './discover.js';

export const PENDING_FILE = 'PENDING';

/**
 * Lines are `NAME  why` (e.g. `003-mirror-core-nosync  issue 4`); `#` starts
 * a comment. Returns NAME -> why.
 */
export function readPending(file: string): Map<string, string> {
  const pending = new Map<string, string>();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const m = /^(\S+)\s+(\S.*)$/.exec(line);
    if (!m) throw new UsageError(`${file}:${i + 1}: say which open issue blocks ${line}, e.g. "${line}  issue 4"`);
    pending.set(m[1]!.replace(/\.sh$/, ''), m[2]!);
  });
  return pending;
}

/** The PENDING file that governs a scenario folder: in it, or in the folder holding it. */
export function findPendingFile(scenarioDir: string): string | undefined {
  for (const dir of [scenarioDir, path.dirname(scenarioDir)]) {
    const file = path.join(dir, PENDING_FILE);
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}
