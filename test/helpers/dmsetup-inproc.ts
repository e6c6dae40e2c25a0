// Runs many dmsetup command lines in this one process (a child of the test):
// each through dmsetupMain, as main.js would, with stdout and stderr captured.
// Reads a JSON array of argument vectors from the file named by argv[2]; writes
// a JSON array of { rc, stdout, stderr } to stdout. Saves a node start per vector.

import * as fs from 'node:fs';
import { dmsetupMain } from '../../dmsetup-ts/dmsetup.js';

const vectors = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as string[][];
const realOut = process.stdout.write.bind(process.stdout);
const results: Array<{ rc: number; stdout: string; stderr: string }> = [];
let out = '', err = '';
const capture = (to: 'out' | 'err') => ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const s = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  if (to === 'out') out += s; else err += s;
  const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
  cb?.();
  return true;
}) as typeof process.stdout.write;
process.stdout.write = capture('out');
process.stderr.write = capture('err');
for (const argv of vectors) {
  out = ''; err = '';
  let rc: number;
  try {
    rc = await dmsetupMain('dmsetup', argv);
  } catch (e) {
    err += `dmsetup-ts: internal error: ${(e as Error)?.message ?? String(e)}\n`;
    rc = 1;
  }
  results.push({ rc, stdout: out, stderr: err });
}
realOut(JSON.stringify(results) + '\n', () => process.exit(0));
