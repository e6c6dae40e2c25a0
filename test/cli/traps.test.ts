// The traps a newcomer and a CI job fall into, each with a clear message: a
// killed kernel replaced visibly, a stopped kernel timing out, a runtime
// directory that cannot be one, and a shared kernel behind "busy".

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { MAIN, sandbox } from '../helpers/cli.js';

const pidOf = (dir: string) => Number(fs.readFileSync(path.join(dir, 'kernel.pid'), 'utf8'));

async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try { process.kill(pid, 0); } catch { return; }
    await new Promise((r) => setTimeout(r, 25));
  }
}

t.test('a killed kernel is replaced visibly', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  fs.writeFileSync(path.join(sb.dir, 'd0'), Buffer.alloc(1 << 20));
  t.equal((await sb.run('losetup', ['/dev/loop0', 'd0'])).exitCode, 0);
  t.equal((await sb.dmsetup(['create', 'z', '--table', '0 8 zero'])).exitCode, 0);
  const first = await sb.run('dmsetup-ts', ['dmesg']);
  t.match(first.stdout, /^\[ *[0-9.]+\] loop0: detected capacity change from 0 to 2048\n$/, 'the first kernel of a directory logs no boot line (only what losetup made it log, as 6.1 does)');
  const old = pidOf(sb.env.DMSETUP_TS_DIR);
  process.kill(old, 'SIGKILL');
  await gone(old);
  const ls = await sb.dmsetup(['ls']);
  t.equal(ls.stdout, 'No devices found\n', 'the new kernel has no devices');
  t.equal(ls.stderr, `dmsetup-ts: the kernel in ${sb.env.DMSETUP_TS_DIR} (pid ${old}) did not stop cleanly; starting a new one: devices and loop devices from before are gone\n`, 'one line on stderr says so');
  const now = pidOf(sb.env.DMSETUP_TS_DIR);
  t.not(now, old);
  const log = await sb.run('dmsetup-ts', ['dmesg']);
  t.match(log.stdout, new RegExp(`^\\[ *[0-9.]+\\] dmsetup-ts: kernel booted \\(pid ${now}\\) in ${sb.env.DMSETUP_TS_DIR}; the previous kernel \\(pid ${old}\\) did not stop cleanly: its devices, loop devices and core logs are gone\\n$`), 'a boot line in dmesg');
  const again = await sb.dmsetup(['ls']);
  t.equal(again.stderr, '', 'said once');
  // A clean stop: the next kernel says so in its log, and nothing on stderr.
  t.equal((await sb.run('dmsetup-ts', ['kernel', 'stop'])).exitCode, 0);
  const after = await sb.dmsetup(['ls']);
  t.equal(after.stderr, '');
  t.match((await sb.run('dmsetup-ts', ['dmesg'])).stdout, new RegExp(`dmsetup-ts: kernel booted \\(pid \\d+\\) in .*; the previous kernel \\(pid ${now}\\) stopped cleanly\\n$`));
});

t.test('a stopped kernel: the client gives up with a clear message', async (t) => {
  const sb = sandbox();
  t.teardown(async () => {
    try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    await sb.stop();
  });
  t.equal((await sb.run('dmsetup-ts', ['kernel', 'start'])).exitCode, 0);
  const pid = pidOf(sb.env.DMSETUP_TS_DIR);
  process.kill(pid, 'SIGSTOP');
  const r = await sb.dmsetup(['ls'], { env: { ...sb.env, DMSETUP_TS_PROG: 'dmsetup', DMSETUP_TS_TIMEOUT: '1' } });
  t.equal(r.exitCode, 1);
  t.equal(r.stderr, `dmsetup-ts: cannot reach the emulated kernel: the kernel process (pid ${pid}) in ${sb.env.DMSETUP_TS_DIR} has not answered for 1 s: is it stopped (SIGSTOP) or hung? (DMSETUP_TS_TIMEOUT sets the seconds; \`dmsetup-ts kernel stop\` or kill it, and the next command starts a new one)\nCommand failed.\n`);
  const bad = await sb.dmsetup(['ls'], { env: { ...sb.env, DMSETUP_TS_PROG: 'dmsetup', DMSETUP_TS_TIMEOUT: 'soon' } });
  t.match(bad.stderr, /DMSETUP_TS_TIMEOUT=soon: not a positive number of seconds/);
  process.kill(pid, 'SIGCONT');
  // A request that rightly takes long is not cut short while the kernel answers pings.
  t.equal((await sb.dmsetup(['create', 'z', '--table', '0 8 zero'])).exitCode, 0);
  const waited = sb.dmsetup(['wait', 'z', '1'], { env: { ...sb.env, DMSETUP_TS_PROG: 'dmsetup', DMSETUP_TS_TIMEOUT: '0.3' } });
  await new Promise((r) => setTimeout(r, 1500));
  t.equal((await sb.dmsetup(['message', 'z', '0', 'x'])).exitCode, 1);
  t.equal((await sb.dmsetup(['suspend', 'z'])).exitCode, 0);
  t.equal((await sb.dmsetup(['resume', 'z'])).exitCode, 0, 'an event for the waiter');
  const w = await waited;
  t.equal(w.exitCode, 0, `dmsetup wait outlived the timeout: ${w.stderr}`);
});

t.test('runtime directories that cannot be one', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, '');
  const run = (kdir: string, args: string[], prog = 'dmsetup') =>
    execa(process.execPath, [MAIN, ...args], { env: { DMSETUP_TS_DIR: kdir, DMSETUP_TS_PROG: prog, LC_ALL: 'C' }, reject: false, cwd: dir });
  const f = await run(file, ['ls']);
  t.equal(f.exitCode, 1);
  t.equal(f.stderr, `dmsetup-ts: cannot reach the emulated kernel: DMSETUP_TS_DIR=${file}: is a regular file: the runtime directory must be a directory (it is created if missing)\nCommand failed.`);
  const under = await run(path.join(file, 'k'), ['-a'], 'losetup');
  t.equal(under.stderr, `losetup: cannot reach the emulated kernel: DMSETUP_TS_DIR=${file}/k: ${file} is a regular file: the runtime directory must be a directory (it is created if missing)`);
  const long = path.join(dir, 'x'.repeat(100));
  const l = await run(long, ['ls']);
  t.equal(l.exitCode, 1);
  t.match(l.stderr, /^dmsetup-ts: cannot reach the emulated kernel: DMSETUP_TS_DIR=\S+: path too long for a Unix socket \(its sockets would need \d+ bytes, at most 107 fit\): choose a shorter DMSETUP_TS_DIR\nCommand failed\.$/);
  t.notOk(fs.existsSync(long), 'nothing created');
});

t.test('busy on the shared default kernel says which kernel and directory', async (t) => {
  const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-xdg-'));
  const env = { XDG_RUNTIME_DIR: xdg, LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const run = (args: string[], prog = 'dmsetup') =>
    execa(process.execPath, [MAIN, ...args], { env: { ...env, DMSETUP_TS_PROG: prog }, extendEnv: false, reject: false, cwd: xdg });
  t.teardown(async () => { await run(['kernel', 'stop'], 'dmsetup-ts'); fs.rmSync(xdg, { recursive: true, force: true }); });
  t.equal((await run(['create', 'job', '--table', '0 8 zero'])).exitCode, 0);
  const dir = path.join(xdg, 'dmsetup-ts');
  const r = await run(['create', 'job', '--table', '0 8 zero']);
  t.equal(r.exitCode, 1);
  t.equal(r.stderr, 'device-mapper: create ioctl on job  failed: Device or resource busy\n' +
    `dmsetup-ts: note: the kernel in use is pid ${pidOf(dir)} in ${dir} (the default runtime directory, shared by every command of this user without DMSETUP_TS_DIR); another job may be using it: set DMSETUP_TS_DIR=$(mktemp -d) for a kernel of your own\n` +
    'Command failed.');
  // With DMSETUP_TS_DIR set, dmsetup's output stays exactly dmsetup's.
  const sb = sandbox();
  t.teardown(() => sb.stop());
  await sb.dmsetup(['create', 'job', '--table', '0 8 zero']);
  t.equal((await sb.dmsetup(['create', 'job', '--table', '0 8 zero'])).stderr, 'device-mapper: create ioctl on job  failed: Device or resource busy\nCommand failed.\n');
});
