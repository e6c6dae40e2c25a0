// The one-file CLI (dist/dmsetup-ts/cli.cjs, run by bin.cjs) against tsc's
// main.js: the same commands on the same kernel print the same bytes and exit
// the same way, through each of its parts (dmsetup's commands and reports,
// errors, losetup, io, dmesg, nbd, the externally loaded kernel command).

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { MAIN, ROOT, sandbox } from '../helpers/cli.js';

const BIN = path.join(ROOT, 'dist/dmsetup-ts/bin.cjs');
const BUNDLE = path.join(ROOT, 'dist/dmsetup-ts/cli.cjs');

t.test('bin.cjs and main.js print the same', { skip: fs.existsSync(BUNDLE) ? false : 'cli.cjs not built (npm run build with esbuild installed)' }, async (t) => {
  // A kernel each, the same steps in each: outputs compared with the sandbox's directory and the log's timestamps masked.
  const boxes = [sandbox(), sandbox()];
  t.teardown(async () => { for (const sb of boxes) await sb.stop(); });
  for (const sb of boxes) {
    fs.writeFileSync(path.join(sb.dir, 'd0'), Buffer.alloc(1 << 20));
    fs.writeFileSync(path.join(sb.dir, 'sectors'), Buffer.alloc(1024, 0x5a));
  }
  const run = async (sb: (typeof boxes)[number], entry: string, prog: string, args: string[], stdin?: string) => {
    const r = await execa(process.execPath, [entry, ...args], {
      // Without the test runner's NODE_OPTIONS (its loader hooks in every node): the commands as a shell runs them.
      cwd: sb.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...sb.env, DMSETUP_TS_PROG: prog }, extendEnv: false, reject: false, stripFinalNewline: false,
      encoding: 'buffer', ...(stdin ? { inputFile: path.join(sb.dir, stdin) } : { stdin: 'ignore' }),
    });
    const mask = (b: Uint8Array) => Buffer.from(b).toString('latin1').split(sb.dir).join('DIR').replace(/^\[ *\d+\.\d+\]/gm, '[T]');
    return { stdout: mask(r.stdout as Uint8Array), stderr: mask(r.stderr as Uint8Array), exitCode: r.exitCode };
  };
  const steps: Array<[string, string[], string?]> = [
    ['losetup', ['-f', '--show', 'd0']],
    ['losetup', ['-l', '-O', 'NAME,SIZELIMIT,RO,BACK-FILE,DIO']],
    ['dmsetup', ['create', 'lin', '--table', '0 2048 linear /dev/loop0 0']],
    ['dmsetup', ['create', 'lin', '--table', '0 2048 zero']],
    ['dmsetup', ['status']],
    ['dmsetup', ['table', 'lin']],
    ['dmsetup', ['info', 'lin']],
    ['dmsetup', ['info', '-c', '-o', 'name,attr,open,devnos_used,blkdevname']],
    ['dmsetup', ['ls', '--tree']],
    ['dmsetup', ['deps', '-o', 'devname']],
    ['dmsetup', ['stats', 'list']],
    ['dmsetup', ['info', '-c', '-S', 'name=lin']],
    ['dmsetup', ['create', 'bad', '--table', '0 8 linear /dev/loop9 0']],
    ['dmsetup', ['nosuch']],
    ['dmsetup', ['--version']],
    ['dmsetup', ['help', '-c']],
    ['dmsetup-ts', ['io', 'write', 'lin', '8', '2', '--bs', '512'], 'sectors'],
    ['dmsetup-ts', ['io', 'read', 'lin', '8', '2', '--bs', '512', '--buffered']],
    ['dmsetup-ts', ['io', 'read', 'nosuch', '0', '1']],
    ['dmsetup-ts', ['dmesg']],
    ['dmsetup-ts', ['nbd', 'lin']],
    ['dmsetup-ts', ['kernel', 'patches']],
    ['dmsetup-ts', ['help']],
    ['dmsetup', ['remove', 'lin']],
    ['losetup', ['-D']],
  ];
  for (const [prog, args, stdin] of steps) {
    const viaMain = await run(boxes[0]!, MAIN, prog, args, stdin);
    const viaBin = await run(boxes[1]!, BIN, prog, args, stdin);
    t.same(viaBin, viaMain, `${prog} ${args.join(' ')}`);
  }
  // Without DMSETUP_TS_PROG the program is dmsetup-ts, whichever file argv[1] names.
  const [viaMain, viaBin] = await Promise.all([run(boxes[0]!, MAIN, '', ['--version']), run(boxes[1]!, BIN, '', ['--version'])]);
  t.same(viaBin, viaMain, 'dmsetup-ts --version');
});
