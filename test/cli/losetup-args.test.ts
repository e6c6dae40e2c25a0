// losetup's command line against util-linux 2.38.1's real losetup: command
// lines it refuses before touching a loop device (and -V, -h, -f), recorded
// on a host with that losetup by test/tools/losetup-args.mjs --record.

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, sandbox } from '../helpers/cli.js';

const recorded = JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures/losetup-args/recorded.json'), 'utf8')) as {
  recordedWith: string; vectors: Array<{ argv: string[]; rc: number; stdout: string; stderr: string }>;
};

t.test(`losetup argument errors, as ${recorded.recordedWith}`, async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  for (const v of recorded.vectors) {
    const r = await sb.run('losetup', v.argv, { stdin: 'ignore' });
    t.same({ rc: r.exitCode, stdout: r.stdout, stderr: r.stderr }, { rc: v.rc, stdout: v.stdout, stderr: v.stderr }, `losetup ${v.argv.join(' ')}`);
  }
  t.equal((await sb.run('losetup', ['-a'])).stdout, '', 'no loop device was attached');
});
