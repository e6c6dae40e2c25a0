// Bad input gets dmsetup's message (or a clear one of ours) and exit 1, never
// a stack trace; a failed command leaves files and other devices alone.
// Expected texts are dmsetup 1.02.185's, from shared/spec/dmsetup-cli*.md and the oracle.

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandbox } from '../helpers/cli.js';

const noStack = (s: string) => !/\n\s+at .*\(.*:\d+:\d+\)/.test(s) && !s.includes('TypeError') && !s.includes('internal error');

t.test('malformed command lines', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const cases: Array<[string[], string]> = [
    [['--bogus'], "dmsetup: unrecognized option '--bogus'\nCouldn't process command line.\n"],
    [['-Z'], "dmsetup: invalid option -- 'Z'\nCouldn't process command line.\n"],
    [['info', '-o'], "dmsetup: option requires an argument -- 'o'\nCouldn't process command line.\n"],
    [['create', 'x', '--table'], "dmsetup: option '--table' requires an argument\nCouldn't process command line.\n"],
    [['table', '--inactive=1'], "dmsetup: option '--inactive' doesn't allow an argument\nCouldn't process command line.\n"],
    [['--no', 'ls'], "dmsetup: option '--no' is ambiguous; possibilities: '--nogroup' '--noflush' '--noheadings' '--nolockfs' '--noopencount' '--nosuffix' '--notable' '--notimesuffix' '--nomonitor' '--noudevrules' '--noudevsync'\nCouldn't process command line.\n"],
    [['create', 'x', '--table', '0 1 zero', '--notable'], "--table and --notable are incompatible.\nCouldn't process command line.\n"],
    [['info', '-j', '254'], "Please specify both major number and minor number.\nCouldn't process command line.\n"],
  ];
  for (const [args, expected] of cases) {
    const r = await sb.dmsetup(args);
    t.equal(r.exitCode, 1, args.join(' '));
    t.equal(r.stderr, expected, args.join(' '));
    t.equal(r.stdout, '');
  }
  const unknown = await sb.dmsetup(['foo']);
  t.equal(unknown.exitCode, 1);
  t.match(unknown.stderr, /^Unknown command\.\nUsage:\n\ndmsetup\n/);
  const count = await sb.dmsetup(['help', 'foo']);
  t.equal(count.exitCode, 1);
  t.match(count.stderr, /^Incorrect number of arguments\.\nUsage:/);
  const help = await sb.dmsetup(['--help']);
  t.equal(help.exitCode, 0, 'help exits 0');
  t.equal(help.stdout, '');
  const bare = await sb.dmsetup([]);
  t.equal(bare.exitCode, 1, 'bare dmsetup exits 1');
});

t.test('unknown devices and failing tables', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  let r = await sb.dmsetup(['info', 'nosuch']);
  t.same([r.exitCode, r.stderr], [1, 'Device does not exist.\nCommand failed.\n']);
  r = await sb.dmsetup(['status', 'nosuch']);
  t.same([r.exitCode, r.stderr], [1, 'Device does not exist.\nCommand failed.\n']);
  r = await sb.dmsetup(['table', 'nosuch']);
  t.same([r.exitCode, r.stderr], [1, 'device-mapper: table ioctl on nosuch  failed: No such device or address\nCommand failed.\n']);
  r = await sb.dmsetup(['remove', 'nosuch']);
  t.same([r.exitCode, r.stderr], [1, 'device-mapper: remove ioctl on nosuch  failed: No such device or address\nCommand failed.\n']);
  r = await sb.dmsetup(['create', 'a/b', '--table', '0 8 zero']);
  t.same([r.exitCode, r.stderr], [1, 'Name "a/b" invalid. It contains "/".\nCommand failed.\n']);
  r = await sb.dmsetup(['create', 'x', '--table', 'zero 0 8']);
  t.same([r.exitCode, r.stderr], [1, 'Invalid format on line 1 of table .\nCommand failed.\n']);
  r = await sb.dmsetup(['create', 'x', '/nonexistent/file']);
  t.same([r.exitCode, r.stderr], [1, "Couldn't open '/nonexistent/file' for reading.\nCommand failed.\n"]);

  // A table that fails leaves nothing behind, and the files are untouched.
  const file = path.join(sb.dir, 'd0');
  fs.writeFileSync(file, Buffer.alloc(4 << 20, 0x5a));
  t.equal((await sb.run('losetup', ['/dev/loop0', file])).exitCode, 0);
  t.equal((await sb.dmsetup(['create', 'keep', '--table', '0 2048 linear /dev/loop0 0'])).exitCode, 0);
  r = await sb.dmsetup(['create', 'bad', '--table', '0 8192 linear /dev/loop0 4096']);
  t.equal(r.exitCode, 1);
  t.equal(r.stderr, 'device-mapper: reload ioctl on bad (254:1) failed: Invalid argument\nCommand failed.\n');
  r = await sb.dmsetup(['ls']);
  t.equal(r.stdout, 'keep\t(254:0)\n', 'the failed create left nothing');
  t.ok(fs.readFileSync(file).every((b) => b === 0x5a), 'file untouched');
  for (const out of [r.stdout, r.stderr]) t.ok(noStack(out));
});

t.test('runtime directory owned by someone else or open to others', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  fs.mkdirSync(sb.env.DMSETUP_TS_DIR, { mode: 0o700 });
  fs.chmodSync(sb.env.DMSETUP_TS_DIR, 0o777);
  let r = await sb.dmsetup(['ls']);
  t.equal(r.exitCode, 1);
  t.match(r.stderr, /cannot reach the emulated kernel: .*mode 777 lets others in/);
  t.ok(noStack(r.stderr));
  fs.chmodSync(sb.env.DMSETUP_TS_DIR, 0o700);
  if (process.getuid?.() === 0) {
    fs.chownSync(sb.env.DMSETUP_TS_DIR, 65534, 65534);
    r = await sb.dmsetup(['ls']);
    t.equal(r.exitCode, 1);
    t.match(r.stderr, /owned by uid 65534, not by you/);
    fs.chownSync(sb.env.DMSETUP_TS_DIR, 0, 0);
  }
  r = await sb.dmsetup(['ls']);
  t.same([r.exitCode, r.stdout], [0, 'No devices found\n']);
});

t.test('a dead kernel process is replaced by a fresh one (as after a reboot)', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  t.equal((await sb.dmsetup(['create', 'z', '--table', '0 8 zero'])).exitCode, 0);
  const st = await sb.run('dmsetup-ts', ['kernel', 'status']);
  const pid = Number(/pid ([0-9]+)/.exec(st.stdout)![1]);
  process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  const r = await sb.dmsetup(['ls']);
  t.same([r.exitCode, r.stdout], [0, 'No devices found\n']);
  t.match(r.stderr, /^dmsetup-ts: the kernel in .* did not stop cleanly; starting a new one: devices and loop devices from before are gone\n$/, 'said on stderr (see traps.test)');
});

t.test('32 concurrent invocations against one kernel leave consistent state', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const names = Array.from({ length: 32 }, (_, i) => `c${String(i).padStart(2, '0')}`);
  const results = await Promise.all(names.map((n) => sb.dmsetup(['create', n, '--table', '0 8 zero'])));
  t.same(results.map((r) => r.exitCode), names.map(() => 0), 'every create succeeded');
  const ls = await sb.dmsetup(['ls']);
  const lines = ls.stdout.trim().split('\n');
  t.same(lines.map((l) => l.split('\t')[0]), names, 'all 32 devices, sorted by name');
  const minors = lines.map((l) => Number(/254:([0-9]+)/.exec(l)![1])).sort((a, b) => a - b);
  t.same(minors, names.map((_, i) => i), 'minors 0..31, each once');
  const kernels = fs.readdirSync(sb.env.DMSETUP_TS_DIR).filter((f) => f.startsWith('kernel.sock'));
  t.same(kernels, ['kernel.sock'], 'one kernel');
  const removed = await Promise.all(names.map((n) => sb.dmsetup(['remove', n])));
  t.same(removed.map((r) => r.exitCode), names.map(() => 0));
  t.equal((await sb.dmsetup(['ls'])).stdout, 'No devices found\n');
});
