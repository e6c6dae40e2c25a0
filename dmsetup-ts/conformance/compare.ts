// Compares a scenario's output with its golden output, byte for byte, and makes
// the unified diff (expected vs actual) shown when they differ.

import { createTwoFilesPatch } from 'diff';

export function sameOutput(expected: Buffer, actual: Buffer): boolean {
  return expected.equals(actual);
}

/** A unified diff from `expectedLabel` to `actualLabel`; never empty when the bytes differ. */
export function unifiedDiff(expectedLabel: string, expected: Buffer, actualLabel: string, actual: Buffer): string {
  const e = expected.toString('utf8');
  const a = actual.toString('utf8');
  if (e === a && !expected.equals(actual)) {
    return `--- ${expectedLabel}\n+++ ${actualLabel}\n(they differ only in bytes that are not UTF-8 text; compare them with cmp)\n`;
  }
  const patch = createTwoFilesPatch(expectedLabel, actualLabel, e, a, undefined, undefined, { context: 3 });
  return patch.replace(/^=+\n/, '').replace(/^((?:---|\+\+\+) .*)\t$/gm, '$1');
}
