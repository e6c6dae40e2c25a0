// For --real: checks that the machine's own device-mapper can run the scenarios
// as the oracle does (root, dm and loop present and unused), and puts it back
// to that state before each scenario, as a fresh boot would.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Modules the oracle loads at boot (shared/oracle/build). */
const MODULES = ['dm-mod', 'dm-log', 'dm-region-hash', 'dm-mirror', 'dm-zero', 'dm-flakey', 'dm-delay', 'dm-log-userspace', 'loop'];
const LOOPS = 16;

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', DM_DISABLE_UDEV: '1' } });
  return { status: r.error ? null : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Why --real cannot run here, or undefined when it can. Loads modules and makes /dev/loop0-15 as needed. */
export function realMachineProblem(): string | undefined {
  if (process.platform !== 'linux') return '--real needs Linux';
  if (process.getuid?.() !== 0) return '--real needs root (it creates device-mapper and loop devices)';
  for (const tool of ['dmsetup', 'losetup', 'dmesg']) {
    if (run(tool, ['--version']).status === null) return `--real needs the machine's ${tool} on PATH`;
  }
  run('modprobe', ['-a', ...MODULES]);
  const version = run('dmsetup', ['version']);
  if (!/^Driver version:/m.test(version.out)) return `--real needs a kernel with device-mapper; dmsetup version says:\n${version.out.trim()}`;
  const ls = run('dmsetup', ['ls']);
  if (ls.status !== 0 || ls.out.trim() !== 'No devices found') {
    return `--real needs a machine with no device-mapper devices (the scenarios expect minors from 0); dmsetup ls says:\n${ls.out.trim()}`;
  }
  const loops = run('losetup', ['-a']);
  if (loops.status !== 0 || loops.out.trim() !== '') {
    return `--real needs a machine with no loop devices in use (the scenarios use /dev/loop0-15); losetup -a says:\n${loops.out.trim()}`;
  }
  for (let n = 0; n < LOOPS; n++) {
    const dev = `/dev/loop${n}`;
    if (!fs.existsSync(dev) && run('mknod', ['-m', '660', dev, 'b', '7', String(n)]).status !== 0) return `--real cannot create ${dev}`;
  }
  return undefined;
}

/** Removes what a scenario left (its dm devices, its loop devices) and clears the kernel log. */
export function resetRealKernel(): void {
  run('dmsetup', ['remove_all', '--force']);
  run('losetup', ['-D']);
  run('dmesg', ['-c']);
}
