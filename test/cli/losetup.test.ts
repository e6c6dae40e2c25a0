// The losetup stand-in: the forms scenarios and users need, checked by what
// they do to the emulated kernel's loop devices.

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandbox } from '../helpers/cli.js';

t.test('attach, find, list, detach', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const a = path.join(sb.dir, 'a'), b = path.join(sb.dir, 'b');
  fs.writeFileSync(a, Buffer.alloc(1 << 20));
  fs.writeFileSync(b, Buffer.alloc(2 << 20));

  t.equal((await sb.run('losetup', ['/dev/loop0', a])).exitCode, 0);
  const found = await sb.run('losetup', ['-f', '--show', b]);
  t.same([found.exitCode, found.stdout], [0, '/dev/loop1\n'], 'the first free device');
  t.equal((await sb.run('losetup', ['-f'])).stdout, '/dev/loop2\n', '-f alone names the next free one');

  const busy = await sb.run('losetup', ['/dev/loop0', b]);
  t.equal(busy.exitCode, 1);
  t.equal(busy.stderr, `losetup: ${b}: failed to set up loop device: Device or resource busy\n`, 'util-linux names the file (fixtures/losetup-vm)');

  const all = await sb.run('losetup', ['-a']);
  // In /sys/block's readdir order (kernfs name hashes): loop1 before loop0, as on 6.1.
  t.match(all.stdout, new RegExp(`^/dev/loop1: \\[\\d+\\]:\\d+ \\(${b}\\)\\n/dev/loop0: \\[\\d+\\]:\\d+ \\(${a}\\)\\n$`));
  const list = await sb.run('losetup', ['-l']);
  t.match(list.stdout, /^NAME +SIZELIMIT OFFSET AUTOCLEAR RO BACK-FILE/);

  // The sizes are the files' (2048 and 4096 sectors): a table may use them, not more.
  t.equal((await sb.dmsetup(['create', 'x', '--table', '0 4096 linear /dev/loop1 0'])).exitCode, 0);
  t.equal((await sb.dmsetup(['table', 'x'])).stdout, '0 4096 linear 7:1 0\n');
  const big = await sb.dmsetup(['create', 'y', '--table', '0 4096 linear /dev/loop0 0']);
  t.equal(big.exitCode, 1, 'loop0 holds 2048 sectors only');

  // loop_clr_fd on a device a table holds: auto-clear, detached at the last close (recorded: 520).
  const held = await sb.run('losetup', ['-d', '/dev/loop1']);
  t.same([held.exitCode, held.stderr], [0, ''], 'a loop device a table holds is detached lazily');
  t.match((await sb.run('losetup', ['-a'])).stdout, /^\/dev\/loop1: /m, 'still attached while the table holds it');
  t.equal((await sb.dmsetup(['remove', 'x'])).exitCode, 0);
  t.notMatch((await sb.run('losetup', ['-a'])).stdout, /^\/dev\/loop1: /m, 'gone at the table\'s last close');
  const gone = await sb.run('losetup', ['-d', '/dev/loop1']);
  t.same([gone.exitCode, gone.stderr], [1, 'losetup: /dev/loop1: detach failed: No such device or address\n']);

  const missing = await sb.run('losetup', ['/dev/loop3', path.join(sb.dir, 'nofile')]);
  t.equal(missing.exitCode, 1);
  t.match(missing.stderr, /failed to set up loop device: No such file or directory/);
  t.equal((await sb.run('losetup', ['--bogus'])).exitCode, 1);
});
