#!/usr/bin/env node
// The losetup argument-error table: command lines that util-linux 2.38's
// losetup refuses before it touches any loop device (parsing, option
// conflicts, device names that are not loop devices), so they can be
// recorded with the host's real losetup, unprivileged effects aside:
//   node test/tools/losetup-args.mjs --record   (in a scratch directory; writes fixtures/losetup-args/recorded.json)
// Each entry: argv, exit code, stdout, stderr.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/losetup-args/recorded.json');
const V = [
  ['--bogus'], ['-Z'], ['-o'], ['-j'], ['-c'], ['-d'], ['-O'], ['-b'], ['--sizelimit'], ['--offset'],
  ['--detach-all=1'], ['--rea'], ['--s'], ['--d', '/dev/nosuch'],
  ['-o', 'x', '/dev/nosuch', 'f'], ['-o', '-1', '/dev/nosuch', 'f'], ['--offset', '1Q', '/dev/nosuch', 'f'],
  ['--sizelimit', 'x', '/dev/nosuch', 'f'], ['-b', 'big', '/dev/nosuch', 'f'], ['--direct-io=maybe', '/dev/nosuch'],
  ['-c', '/dev/nosuch'], ['-c', 'nosuch'], ['-d', '/dev/nosuch'], ['--detach', '/dev/sda0'],
  ['/dev/nosuch'], ['-l', '/dev/nosuch'], ['--direct-io', '/dev/nosuch'], ['--direct-io=off', '/dev/nosuch'],
  ['-b', '4096', '/dev/nosuch'], ['-r'], ['-P'], ['--show'], ['-o', '512'], ['--sizelimit', '1M'], ['-L'], ['-b', '512'],
  ['-r', '-a'], ['-P', '-a'], ['--show', '-a'], ['--sizelimit', '1M', '-a'], ['-o', '5', '-a'], ['-o', '5', '-D'],
  ['-f', 'a', 'b'], ['-f', '--show', 'a', 'b'], ['-a', '-d', '/dev/loop0'], ['-a', '-f'], ['-D', '-a'], ['-a', '-j', 'f'],
  ['-f', '-l'], ['-D', '-l'], ['-c', '/dev/loop0', '-d', '/dev/loop0'], ['-O', 'NAME', '-f'], ['-J', '--raw'], ['--raw', '-J'],
  ['-O', 'bogus', '-a'], ['-O', 'NAME,bogus', '-a'], ['-r', '-j', 'f'], ['-V'], ['--version'], ['-v', '-V'], ['-h'], ['--help'],
  ['/dev/nosuch', 'f', 'extra'], ['-r', '/dev/nosuch'], ['--show', '/dev/nosuch'],
];
if (process.argv[2] !== '--record') { console.log(`${V.length} vectors; --record to record with this machine's losetup`); process.exit(0); }
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'losetup-record-'));
const rows = V.map((argv) => {
  const r = spawnSync('losetup', argv, { cwd: scratch, env: { PATH: process.env.PATH, LC_ALL: 'C' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { argv, rc: r.status, stdout: r.stdout, stderr: r.stderr };
});
const version = spawnSync('losetup', ['--version'], { encoding: 'utf8' }).stdout.trim();
fs.writeFileSync(out, JSON.stringify({ recordedWith: version, vectors: rows }, null, 1) + '\n');
fs.rmSync(scratch, { recursive: true, force: true });
console.log(`${rows.length} vectors recorded with ${version}`);
