#!/usr/bin/env node
// Generates the dmsetup argument-vector table (fixtures/dmsetup-args/vectors.jsonl)
// and the oracle scenario that runs each vector with the real dmsetup
// (fixtures/dmsetup-args/scenario.sh). Record with test/tools/dmsetup-args-record.sh.
// Vectors need no device: the kernel has none, and none is left behind.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/dmsetup-args');
const V = [];
const add = (...args) => V.push(args);

// Every command: bare, with a missing device, with too many arguments.
const commands = ['help', 'create', 'remove', 'remove_all', 'suspend', 'resume', 'load', 'clear', 'reload',
  'wipe_table', 'rename', 'measure', 'message', 'ls', 'info', 'deps', 'status', 'table', 'wait',
  'mknodes', 'mangle', 'udevcreatecookie', 'udevreleasecookie', 'udevflags', 'udevcomplete', 'udevcomplete_all',
  'udevcookies', 'target-version', 'targets', 'version', 'setgeometry', 'splitname'];
for (const c of commands) if (c !== 'help') add(c);
for (const c of commands) if (!['help', 'remove_all', 'ls', 'udevcreatecookie', 'udevcookies', 'targets', 'version', 'splitname'].includes(c)) add(c, 'nosuch');
for (const c of commands) add(c, 'a', 'b', 'c', 'd', 'e', 'f');
add('bogus'); add('bogus', 'x'); add('LS'); add('');

// Help and version, alone and with other switches (help and version exit 0 whatever else).
add('--help'); add('-h'); add('help'); add('help', '-c'); add('--help', '-c'); add('-h', '-C');
add('--help', '--bogus'); add('--bogus', '--help'); add('--version', '--bogus'); add('--version');
add('-h', 'ls'); add('--help', 'nosuchcommand'); add('--version', 'ls', 'extra'); add('--help', '-j', '1');
add('--he'); add('--ver'); add('--vers'); add('--help=1'); add('-hv'); add('version', '-v');

// getopt: unknown, ambiguous, missing and unwanted arguments.
add('-x'); add('-Z', 'ls'); add('--bogus'); add('--bogus=1', 'ls'); add('--no', 'ls'); add('--a', 'ls');
add('--u', 'ls'); add('--re', 'ls'); add('--s', 'ls'); add('--ta'); add('-o'); add('ls', '-o'); add('-O');
add('-S'); add('-u'); add('-j'); add('--table'); add('--columns=1', 'ls'); add('--force=yes', 'ls');
add('ls', '--target'); add('ls', '--exec'); add('--', 'ls'); add('ls', '--', '-x'); add('-');
add('--udevcookie'); add('--count'); add('--interval');

// Switch values checked while parsing.
// (--count 0 or x, and --interval alone, repeat forever.)
add('--count', '-1', 'ls'); add('--count', '2', 'ls'); add('--count', '1', 'ls'); add('--interval', '0', 'ls');
add('--interval', '-3', 'ls'); add('--interval', 'x', 'ls'); add('--mode', '9', 'ls'); add('--mode', '0', 'ls');
add('--mode', 'rw', 'ls'); add('-M', '0x1', 'ls'); add('--mode', '644', 'ls'); add('--manglename', 'bogus', 'ls');
add('--manglename', 'HEX', 'ls'); add('--manglename', 'none', 'ls'); add('--readahead', '-5', 'ls');
add('--readahead', 'auto', 'ls'); add('--readahead', 'bogus', 'ls'); add('--readahead', '-1', 'ls');
add('-j', '1', 'ls'); add('-m', '1', 'ls'); add('-j', '1', '-m', '2', 'info'); add('-j', 'x', '-m', 'y', 'info');
add('--table', '0 1 zero', '--notable', 'create', 'x'); add('--addnodeonresume', '--addnodeoncreate', 'ls');
add('--udevcookie', 'bogus', 'ls'); add('--udevcookie', '0', 'ls'); add('--udevcookie', '0x10', 'ls');
add('--udevcookie', '99999999999', 'ls'); add('--udevcookie', '12abc', 'ls'); add('-u', 'U', 'info');
add('-u', 'U', '-j', '1', '-m', '1', 'info'); add('--units', 'x', 'info', '-c'); add('--units', 'k', 'ls');

// Verbosity.
add('-v', 'ls'); add('-vv', 'ls'); add('-vvv', 'version'); add('-v', 'version'); add('-v', 'info', 'nosuch');
add('-v', 'ls', '--tree'); add('--verbose', 'ls');

// ls.
add('ls', '--tree'); add('ls', '--tree', '-o', 'ascii'); add('ls', '--tree', '-o', 'bogus'); add('ls', '-o', 'bogus');
add('ls', '-o', 'devname'); add('ls', '-o', 'blkdevname'); add('ls', '--target', 'mirror'); add('ls', '--target', 'bogus');
add('ls', '--exec', 'echo'); add('ls', '-c'); add('ls', '-c', '-o', 'name'); add('ls', '-S', 'name=x'); add('ls', 'x');

// info and column reports.
add('info'); add('info', '-c'); add('info', '-C'); add('info', '--columns'); add('info', '-c', '-o', 'help');
add('info', '-o', 'help'); add('info', '-o', 'name'); add('info', '-c', '-o', 'name,bogus'); add('info', '-c', '-o', 'bogus');
add('info', '-c', '-o', '+uuid'); add('info', '-c', '-o', 'name,uuid', '--noheadings'); add('info', '-c', '--nameprefixes');
add('info', '-c', '--rows'); add('info', '-c', '--separator', ':'); add('info', '-c', '--sort', 'bogus');
add('info', '-c', '--sort', 'name'); add('info', '-c', '-O', '-name'); add('info', '-c', '-S', 'bogus=1');
add('info', '-c', '-S', 'name=x'); add('info', '-c', '-S', 'name=~x'); add('info', '-c', '-S', 'open>0');
add('info', '-c', '-S', 'help'); add('info', '-c', '-S', '('); add('info', '-c', '-S', 'name=x &&'); add('info', '-S', 'name=x');
add('info', '-c', '-o', 'name', '--unquoted'); add('info', '-c', '-o', 'all'); add('info', '-c', 'nosuch');
add('info', '-c', '-o', 'name', 'nosuch'); add('info', 'nosuch', 'other'); add('info', '/dev/nosuch');
add('info', '/dev/mapper/nosuch'); add('info', '-c', '--count', '1'); add('info', '-c', '-o', 'help', '--count', '3');
add('info', '-c', '-o', 'subsystem,lv_name'); add('info', '-c', '-o', 'devnos_used,blkdevs_used');
add('info', '-c', '-o', 'name', '--units', 'b'); add('info', '-c', '-o', 'name', '--units', 'bogus');
add('help', '-c', '-o', 'name'); add('help', 'x');

// Commands on a device that does not exist.
add('status', 'nosuch'); add('status', '--target', 'mirror'); add('table', '--concise'); add('table', '--showkeys');
add('table', 'nosuch', '--concise'); add('status', '--noflush', 'nosuch'); add('deps', '-o', 'devname');
add('deps', '-o', 'bogus'); add('deps', '-o', 'help'); add('wait', 'nosuch', 'x'); add('wait', 'nosuch', '-1');
add('message', 'nosuch', '0', 'hello'); add('message', 'nosuch', 'x', 'hello'); add('message', 'nosuch', '0');
add('rename', 'nosuch', 'new'); add('rename', 'nosuch', '--setuuid', 'U'); add('rename', 'a', 'a');
add('remove', '-f', 'nosuch'); add('remove', '--deferred', 'nosuch'); add('remove', '--retry', 'nosuch');
add('remove', 'nosuch', 'other'); add('suspend', '--noflush', 'nosuch'); add('resume', 'nosuch', 'other');
add('clear', 'nosuch'); add('wipe_table', 'nosuch'); add('load', 'nosuch', '--table', '0 1 zero');
add('reload', 'nosuch', '--table', '0 1 zero'); add('mknodes', 'nosuch'); add('measure', 'nosuch');
add('setgeometry', 'nosuch', '1', '2', '3', '4'); add('setgeometry', 'nosuch', 'x', '2', '3', '4');
add('remove', '-u', 'U'); add('remove', '-j', '254', '-m', '0'); add('info', '-j', '254', '-m', '0');
add('status', '-u', 'U'); add('table', '-u', 'U', 'x', 'y');

// create that fails, leaving no device.
add('create', 'x', '--table', '0 8 bogus'); add('create', 'x', '--table', '0 8 linear'); add('create', 'x', '--table', '');
add('create', 'x', '--table', '0 8 zero extra'); add('create', 'x', '--table', '0 8 error', '-u', ''); add('remove', 'x'); // (that one succeeds)
add('create', '--concise'); add('create', '--concise', 'x,,,,0 8 bogus'); add('create', '--concise', 'garbage');
add('create', 'x', '--notable', '-j', '254'); add('create', '-r', 'x', '--table', '0 8 bogus');
add('create', 'a/b', '--table', '0 8 zero'); add('create', '.', '--table', '0 8 zero'); add('remove', '.'); add('create', 'x', 'nosuchfile');

// Pure userspace commands.
add('splitname', 'vg-lv'); add('splitname', 'vg-lv-layer'); add('splitname', 'vg--x-lv'); add('splitname', 'x', 'LVM');
add('splitname', 'x', 'OTHER'); add('splitname', 'vg-lv', '-o', 'vg_name'); add('splitname', 'a-b', '--noheadings');
add('splitname', 'a-b', '--separator', '/'); add('splitname', 'a-b', '-o', 'bogus'); add('splitname', 'a-b', '--rows');
add('mangle'); add('mangle', 'a b'); add('mangle', '--manglename', 'hex', 'x');
add('udevflags', '0'); add('udevflags', 'x'); add('udevflags', '0x0D4D0000'); add('udevflags', '0x0D4D0FFF');
add('udevcomplete', 'x'); add('udevcomplete', '0x0D4D0001'); add('udevcomplete_all', 'x'); add('udevcomplete_all', '5');
add('udevreleasecookie', 'x'); add('target-version', 'striped'); add('target-version', 'bogus');
add('target-version', 'linear', 'zero', 'bogus'); add('targets', '-v');
add('version', '-c'); add('--checks', 'version'); add('--noudevsync', 'version'); add('-y', 'version');

// Around libdm's mechanisms: _flatten's persistent-device check, --units,
// the -vv debug line per ioctl and -vvv timestamps, remove's retry after
// EBUSY only, node removal, the report's `all`, splitname's report options.
add('-j', '0', '-m', '0', 'info'); add('-j', '-1', '-m', '0', 'info'); add('-j', '254', '-m', '-1', 'info');
add('-j', '7', '-m', '0', 'info'); add('remove', '-j', 'x', '-m', 'y'); add('status', '-j', '0', '-m', '1');
add('create', 'x', '--notable', '-j', '0', '-m', '3'); add('create', 'x', '--notable', '-j', '7', '-m', '3'); add('info', 'x'); add('remove', 'x');
add('info', '-c', '--units', 'h'); add('--units', 'H', 'info', '-c'); add('--units', '5', 'info', '-c'); add('--units', '5k', 'info', '-c');
add('--units', 'kb', 'info', '-c'); add('--units', '', 'info', '-c'); add('--units', 'x', 'ls'); add('--units', '2.5m', 'info', '-c');
add('-vv', 'info', 'nosuch'); add('-vv', 'info'); add('-vv', 'info', '-c'); add('-vv', 'remove', '--retry', 'nosuch');
add('-vv', '--noopencount', '--inactive', 'status', '--noflush', 'nosuch'); add('-vv', 'table', '--inactive', 'nosuch');
add('-vv', 'message', 'nosuch', '5', 'hello'); add('-vv', 'rename', 'nosuch', 'new'); add('-vv', 'rename', 'nosuch', '--setuuid', 'U');
add('-vv', '-j', '254', '-m', '3', 'info'); add('-vv', '-u', 'U', 'deps'); add('-vvv', 'ls'); add('-vvv', 'info', 'nosuch');
add('-vv', '--checks', 'version'); add('-vv', 'splitname', 'a-b'); add('-vv', 'create', 'z', '--table', '0 8 bogus');
add('-vv', 'create', 'x', '--table', '0 8 zero'); add('-vv', 'info', 'x'); add('-vv', 'suspend', '--nolockfs', 'x');
add('-vv', 'resume', 'x'); add('-vv', 'remove', 'x');
add('-vv', 'create', 'y', '-u', 'UY', '-j', '254', '-m', '9', '--table', '0 8 zero'); add('-vvv', 'remove', '--deferred', 'y');
add('create', '..', '--table', '0 8 zero'); add('remove', '..'); add('create', 'x', '--table', '0 8 zero'); add('remove', '--retry', 'x');
add('info', '-c', '-o', 'name_all'); add('info', '-c', '-o', 'info_all'); add('info', '-c', '-o', 'stats_all');
add('info', '-c', '-o', 'name,all'); add('info', '-c', '-o', 'all', '--noheadings'); add('info', '-c', '-o', 'splitname_all');
add('splitname', 'vg-lv', '-o', 'lv_name,vg_name'); add('splitname', 'vg-lv', '--noheadings', '--separator', ':');
add('splitname', 'vg-lv', '-o', '+subsystem'); add('splitname', 'vg-lv', '-O', 'lv_name'); add('splitname', 'vg-lv', '--nameprefixes');
add('splitname', 'vg-lv', '-o', 'name'); add('splitname', 'vg-lv', '--rows', '--noheadings'); add('splitname', 'vg-lv', '-S', 'vg_name=vg');
add('splitname', 'vg-lv', '--unquoted', '--nameprefixes'); add('splitname', 'vg-lv', '-o', 'help');

if (process.argv[2] === '--count') { console.log(V.length); process.exit(0); }
fs.writeFileSync(path.join(dir, 'vectors.jsonl'), V.map((v) => JSON.stringify(v)).join('\n') + '\n');
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
// The oracle gives a scenario 300 s: 60 vectors a scenario keep well under it under load.
const CHUNK = 60;
for (const f of fs.readdirSync(dir)) if (/^scenario-\d+\.sh$/.test(f)) fs.rmSync(path.join(dir, f));
for (let c = 0; c * CHUNK < V.length; c++) {
  let sh = '# dmsetup argument vectors (generated by test/tools/dmsetup-args.mjs): each one\'s\n' +
    '# exit code, stdout and stderr, between markers. stdin is /dev/null.\n' +
    'v() { n=$1; shift; dmsetup "$@" </dev/null >/tmp/v.out 2>/tmp/v.err; rc=$?\n' +
    '  echo "@@V $n $rc"; cat /tmp/v.out; printf \'\\n@@E\\n\'; cat /tmp/v.err; printf \'\\n@@Z\\n\'; }\n';
  for (let i = c * CHUNK; i < Math.min(V.length, (c + 1) * CHUNK); i++) sh += `v ${i} ${V[i].map(q).join(' ')}\n`;
  sh += 'echo "@@DONE $(dmsetup ls)"\n';
  fs.writeFileSync(path.join(dir, `scenario-${c + 1}.sh`), sh);
}
console.log(`${V.length} vectors`);
