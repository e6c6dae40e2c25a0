// losetup on what cannot back a loop device: the messages of util-linux 2.38.1's
// losetup (recorded from /usr/sbin/losetup, its LOOP_CONFIGURE/LOOP_SET_FD
// failing with EINVAL as 6.1's loop_validate_file makes them for anything but a
// regular file or block device), never an internal error (issue 13, item 4).

import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandbox } from '../helpers/cli.js';

t.test('a FIFO, a directory, /dev/zero, "" and a missing file', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  execFileSync('mkfifo', [path.join(sb.dir, 'fifo')]);
  fs.mkdirSync(path.join(sb.dir, 'dir'));
  const cases: Array<[string[], string]> = [
    [['/dev/loop1', 'fifo'], 'losetup: fifo: failed to set up loop device: Invalid argument\n'],
    [['/dev/loop1', 'dir'], 'losetup: dir: failed to set up loop device: Is a directory\n'],
    [['/dev/loop1', '/dev/zero'], 'losetup: /dev/zero: failed to set up loop device: Invalid argument\n'],
    [['/dev/loop1', ''], 'losetup: : failed to use backing file: File exists\n'],
    [['/dev/loop1', 'nonexist'], 'losetup: nonexist: failed to set up loop device: No such file or directory\n'],
    [['-f', 'dir'], 'losetup: dir: failed to set up loop device: Is a directory\n'],
    [['-f', ''], 'losetup: : failed to use backing file: No such file or directory\n'],
  ];
  for (const [args, stderr] of cases) {
    const r = await sb.run('losetup', args);
    t.equal(r.stderr, stderr, `losetup ${args.map((a) => JSON.stringify(a)).join(' ')}`);
    t.equal(r.exitCode, 1);
    t.equal(r.stdout, '');
  }
  t.equal((await sb.run('losetup', ['-a'])).stdout, '', 'nothing attached');
  t.notMatch((await sb.run('dmsetup-ts', ['dmesg'])).stdout, /internal error/);
});
