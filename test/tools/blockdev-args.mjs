#!/usr/bin/env node
// The blockdev table: command lines of util-linux 2.38's blockdev that need
// no block device (usage, bad commands, /dev/null, a regular file, a missing
// path), recorded with the host's real blockdev:
//   node test/tools/blockdev-args.mjs --record   (writes fixtures/blockdev-args/recorded.json)
// Each runs in a scratch directory holding f, a 1 MiB + 512 byte regular file.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/blockdev-args/recorded.json');
export const FILE_BYTES = (1 << 20) + 512;
const V = [
  [], ['-h'], ['--help'], ['-V'], ['--version'], ['--getsz'], ['--setra'], ['--setra', '256'], ['-v'], ['--'],
  ['--bogus', '/dev/null'], ['--getsz', '/dev/null'], ['--getsz', 'f'], ['--getsize64', 'f'], ['--getsz', '--getsize64', 'f'],
  ['--getro', 'f'], ['--getsz', '--getro', 'f'], ['-v', '--getro', 'f'], ['-v', '--flushbufs', 'f'], ['--getsz', '--bogus', 'f'],
  ['--getsz', 'nosuch'], ['--getsz', '/dev/mapper/nosuch-at-all'], ['--getsz', 'f', 'nosuch', 'f'], ['--getsz', 'f', 'f'],
  ['--', '--getsz', 'f'], ['--getsz', '--', 'f'], ['--setra', 'f'], ['--report', '/dev/null'], ['--report', 'nosuch'], ['--report', 'f'],
  ['-q', '--getss', '/dev/null'], ['--setbsz', '4096', '/dev/null'], ['-x', 'f'], ['--getsz', '-v'],
];
if (process.argv[2] !== '--record') { console.log(`${V.length} vectors; --record to record with this machine's blockdev`); process.exit(0); }
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'blockdev-record-'));
fs.writeFileSync(path.join(scratch, 'f'), Buffer.alloc(FILE_BYTES, 1));
const rows = V.map((argv) => {
  const r = spawnSync('blockdev', argv, { cwd: scratch, env: { PATH: process.env.PATH, LC_ALL: 'C' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { argv, rc: r.status, stdout: r.stdout, stderr: r.stderr };
});
const version = spawnSync('blockdev', ['--version'], { encoding: 'utf8' }).stdout.trim();
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ recordedWith: version, fileBytes: FILE_BYTES, vectors: rows }, null, 1) + '\n');
fs.rmSync(scratch, { recursive: true, force: true });
console.log(`${rows.length} vectors recorded with ${version}`);
