// A regular file in a table line: refused as the kernel refuses it (ENODEV),
// unless the loading command has DMSETUP_TS_ATTACH_FILES=1 in its own
// environment; then the path is resolved against that command's own working
// directory (two directories holding files of the same name), attached to a
// free loop device, and detached when the table goes.

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandbox } from '../helpers/cli.js';

t.test('files in tables: off by default, per command and per directory when enabled', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const one = path.join(sb.dir, 'one'), two = path.join(sb.dir, 'two');
  for (const [dir, byte] of [[one, 1], [two, 2]] as const) {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'disk'), Buffer.alloc(1 << 20, byte));
  }

  const refused = await sb.dmsetup(['create', 'f', '--table', '0 8 linear disk 0'], { cwd: one });
  t.equal(refused.exitCode, 1, 'a file is no block device by default');
  t.equal(refused.stderr, 'device-mapper: reload ioctl on f (254:0) failed: No such device\nCommand failed.\n');
  const log = await sb.run('dmsetup-ts', ['dmesg', '-c']);
  t.match(log.stdout, /device-mapper: table: 254:0: linear: Device lookup failed \(-ENODEV\)/);

  // Another command's setting does not leak: only this command's environment counts.
  const on = { env: { ...sb.env, DMSETUP_TS_PROG: 'dmsetup', DMSETUP_TS_ATTACH_FILES: '1' } };
  const a = await sb.dmsetup(['create', 'a', '--table', '0 8 linear disk 0'], { cwd: one, ...on });
  t.equal(a.exitCode, 0, a.stderr);
  const b = await sb.dmsetup(['create', 'b', '--table', '0 8 linear disk 0'], { cwd: two, ...on });
  t.equal(b.exitCode, 0, b.stderr);
  const again = await sb.dmsetup(['create', 'c', '--table', '0 8 linear disk 0'], { cwd: two });
  t.equal(again.exitCode, 1, 'without the variable the same line is refused again');

  // Each device reads the file of its own command's directory.
  for (const [name, byte] of [['a', 1], ['b', 2]] as const) {
    const r = await sb.run('dmsetup-ts', ['io', 'read', name, '0', '1']);
    t.equal(r.exitCode, 0, `io read ${name}`);
    t.equal(r.stdout.length, 512);
    t.equal(r.stdout.charCodeAt(0), byte, `${name} reads its own directory's file`);
  }
  const losetup = await sb.run('losetup', ['-a']);
  t.match(losetup.stdout, new RegExp(`${one.replace(/[/\\]/g, '.')}/disk`));
  t.match(losetup.stdout, new RegExp(`${two.replace(/[/\\]/g, '.')}/disk`));

  // The loop devices go with the tables.
  t.equal((await sb.dmsetup(['remove', 'a', 'b'])).exitCode, 0);
  t.equal((await sb.run('losetup', ['-a'])).stdout, '');
});
