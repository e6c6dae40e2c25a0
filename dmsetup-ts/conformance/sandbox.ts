// Builds the world one scenario runs in: a temp folder holding an empty working
// directory, shims putting this project's dmsetup, losetup, blockdev and dd
// first on PATH, and the runtime directory of the scenario's own fresh
// emulated kernel. Behind the shims, the oracle VM's userland where this
// machine has it: BusyBox's applets (the VM has no other ls, cmp, od, ...),
// so that a scenario prints here what it printed there.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { firstExecutable } from '../executable.js';

export interface Sandbox {
  /** The temp folder holding everything below; removed by dispose(). */
  readonly root: string;
  /** The scenario's working directory, empty at start. */
  readonly work: string;
  /** Where the scenario's combined stdout and stderr go. */
  readonly output: string;
  /** DMSETUP_TS_DIR: the emulated kernel's runtime directory (undefined with --real). */
  readonly kernelDir: string | undefined;
  /** The project's CLI that the shims run, bin.cjs or main.js (undefined with --real). */
  readonly cli: string | undefined;
  /** This machine's busybox, when the scenario gets the oracle VM's userland (BusyBox's ash and applets). */
  readonly busybox: string | undefined;
  readonly env: NodeJS.ProcessEnv;
}

/** The project's CLI, dist/dmsetup-ts/bin.cjs (the one-file build when there is one, else main.js). */
export function defaultCli(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin.cjs');
}

/** Commands the emulation provides on PATH, and what each runs. */
const SHIMS: Record<string, { prog?: string; args: string[] }> = {
  dmsetup: { prog: 'dmsetup', args: [] },
  // The VM's losetup, blockdev and dd are BusyBox's (dd runs BusyBox's own on files).
  losetup: { args: ['busybox', 'losetup'] },
  blockdev: { args: ['busybox', 'blockdev'] },
  dd: { args: ['busybox', 'dd'] },
  sync: { args: ['busybox', 'sync'] },
  'dmsetup-ts': { args: [] },
  dmesg: { args: ['dmesg'] },
};

/**
 * BusyBox applets left to this machine's own commands: those that run other
 * commands, which BusyBox (built to prefer its applets) would run as applets,
 * past the shims.
 */
const EXEC_APPLETS = new Set([
  'sh', 'ash', 'hush', 'bash', 'busybox', 'env', 'xargs', 'nohup', 'timeout', 'nice', 'time', 'watch', 'chroot',
  'setsid', 'chpst', 'softlimit', 'envdir', 'envuidgid', 'setuidgid', 'run-parts', 'start-stop-daemon', 'flock',
  'ionice', 'taskset', 'su', 'script', 'find', 'linux32', 'linux64', 'setarch', 'unshare', 'nsenter', 'chrt',
  'inotifyd', 'crond', 'tcpsvd', 'udpsvd', 'svc', 'runsv', 'runsvdir', 'init', 'linuxrc', 'login', 'getty',
]);


/** This machine's busybox, if it has one. */
export function findBusybox(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/bin', '/usr/bin']).filter(Boolean);
  return firstExecutable(dirs.map((d) => path.join(d, 'busybox')));
}

const APPLETS = new Map<string, string[]>();

/** busybox --list (once per busybox). */
function appletList(busybox: string): string[] {
  let list = APPLETS.get(busybox);
  if (!list) {
    const r = spawnSync(busybox, ['--list'], { encoding: 'utf8' });
    list = r.status === 0 ? r.stdout.split('\n').filter((n) => /^[A-Za-z0-9._-]+$/.test(n)) : [];
    APPLETS.set(busybox, list);
  }
  return list;
}

/** A folder of BusyBox's applets (as symlinks), but those the shims provide and those that run commands. */
function busyboxApplets(busybox: string, dir: string): boolean {
  const list = appletList(busybox);
  if (!list.length) return false;
  fs.mkdirSync(dir);
  for (const name of list) {
    if (Object.hasOwn(SHIMS, name) || EXEC_APPLETS.has(name)) continue;
    fs.symlinkSync(busybox, path.join(dir, name));
  }
  return true;
}

/**
 * Applets that read the files named in their arguments: given a path of the
 * emulated kernel's /dev, /sys or /proc, they run through `dmsetup-ts
 * busybox vfs` (dmsetup-ts/busybox/vfs.ts).
 */
const READING_APPLETS = ['cat', 'head', 'tail', 'od', 'hexdump', 'xxd', 'md5sum', 'sha1sum', 'sha256sum', 'sha512sum', 'cmp', 'wc', 'ls', 'grep', 'egrep', 'fgrep', 'strings', 'stat', 'readlink', 'sort', 'cut', 'awk', 'sed', 'tr', 'diff', 'du'];
const VIRTUAL_PATTERNS = ['/dev/mapper', '/dev/dm-', '/dev/loop', '/sys/block', '/sys/dev/block', '/proc/partitions'].map((p) => `*${p}*`).join('|');

/** The file of shell functions the VM's ash runs the scenario with (ASH_FUNCTIONS in the sandbox root). */
export const ASH_FUNCTIONS = 'ash-functions.sh';

/**
 * BusyBox's ash runs an applet of its own before looking at PATH, so a
 * shimmed command (losetup, dd, ...) would never reach its shim, nor a
 * command run through env, xargs, timeout or a nested sh. Shell functions,
 * which ash looks up first, send those to the shims and to this machine's
 * env, xargs, ...; `sh` is a wrapper that is BusyBox's ash with the same
 * functions.
 */
function ashOverrides(busybox: string, root: string, bin: string): void {
  const applets = new Set(appletList(busybox));
  const lines = ['# Commands BusyBox ash would run as its own applets, sent to the shims and to this machine\'s commands.'];
  for (const name of Object.keys(SHIMS)) if (applets.has(name)) lines.push(`${name}() { ${q(path.join(bin, name))} "$@"; }`);
  for (const name of READING_APPLETS) {
    if (!applets.has(name)) continue;
    lines.push(`${name}() { case "$*" in ${VIRTUAL_PATTERNS}) ${q(path.join(bin, 'dmsetup-ts'))} busybox vfs ${name} "$@" ;; *) busybox ${name} "$@" ;; esac; }`);
  }
  for (const name of EXEC_APPLETS) {
    if (!applets.has(name) || !/^[a-z0-9_]+$/.test(name)) continue;
    if (name === 'sh' || name === 'ash') { lines.push(`${name}() { ${q(path.join(bin, 'sh'))} "$@"; }`); continue; }
    const host = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => path.join(d, name)).find((f) => isHostCommand(f, busybox));
    if (host) lines.push(`${name}() { ${q(host)} "$@"; }`);
  }
  const functions = path.join(root, ASH_FUNCTIONS);
  fs.writeFileSync(functions, `${lines.join('\n')}\n`);
  // sh [-eux...] [-c CMD [ARG0 [ARGS]] | SCRIPT [ARGS]]: BusyBox's ash, with the functions.
  const sh = `#!${busybox} sh
# sh as the oracle VM has it (BusyBox ash), keeping the shims first (made by dmsetup-ts conformance)
. ${q(functions)}
__dmsetup_ts_opts=
while [ $# -gt 0 ]; do
  case $1 in
    -c) __dmsetup_ts_cmd=$2; shift 2; export __dmsetup_ts_cmd
        exec ${busybox} sh $__dmsetup_ts_opts -c '. ${q(functions).replace(/'/g, `'"'"'`)}; __c=$__dmsetup_ts_cmd; unset __dmsetup_ts_cmd; eval "$__c"' "$@" ;;
    --) shift; break ;;
    -[euxvf]*) set "$1"; __dmsetup_ts_opts="$__dmsetup_ts_opts $1"; shift ;;
    -*) shift ;;
    *) break ;;
  esac
done
if [ $# -gt 0 ]; then exec ${busybox} sh $__dmsetup_ts_opts -c '. ${q(functions).replace(/'/g, `'"'"'`)}; case $0 in */*) . "$0" ;; *) . "./$0" ;; esac' "$@"; fi
eval "$(cat)"
`;
  fs.writeFileSync(path.join(bin, 'sh'), sh, { mode: 0o755 });
}

/** An executable of this machine that is not BusyBox. */
function isHostCommand(file: string, busybox: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.realpathSync(file) !== fs.realpathSync(busybox);
  } catch {
    return false;
  }
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `real`: the machine's own dmsetup and losetup, no shims. Otherwise `cli` is
 * the project's CLI (bin.cjs or main.js), run by this same node.
 */
/**
 * `utilLinux`: commands that are util-linux's (the project's losetup and
 * blockdev) rather than BusyBox's, as on the VM that recorded the scenario.
 * `hostUserland`: no BusyBox userland at all (the cluster's scenarios, whose
 * host scripts ran under the host's shell), util-linux's losetup and blockdev.
 */
export function makeSandbox(opts: { real: boolean; cli: string; utilLinux?: readonly string[]; hostUserland?: boolean }): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-conformance-'));
  const work = path.join(root, 'work');
  fs.mkdirSync(work);
  // As little as the oracle's init gives, so that a scenario sees the same on
  // every machine (and no NODE_OPTIONS of a test harness slows every command).
  // (TERM: what the VM's kernel gives init.)
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', LC_ALL: 'C', DM_DISABLE_UDEV: '1', TERM: 'linux' };
  if (process.env.TMPDIR !== undefined) env.TMPDIR = process.env.TMPDIR;
  // The kernel patches under test (targets/mirror/patches.ts) reach the scenario's kernel or cluster.
  if (!opts.real && process.env.DMSETUP_TS_PATCHES !== undefined) env.DMSETUP_TS_PATCHES = process.env.DMSETUP_TS_PATCHES;
  let kernelDir: string | undefined;
  let busybox: string | undefined;
  if (!opts.real) {
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    for (const [name, vmShim] of Object.entries(SHIMS)) {
      if (name === 'sync' && opts.hostUserland) continue; // the host's sync(1) there
      const shim = opts.hostUserland && (name === 'losetup' || name === 'blockdev') ? { prog: name, args: [] }
        : opts.utilLinux?.includes(name) ? { prog: name, args: [] } : vmShim;
      const prog = shim.prog ? `DMSETUP_TS_PROG=${shim.prog}; export DMSETUP_TS_PROG` : 'unset DMSETUP_TS_PROG';
      const argv = [process.execPath, opts.cli, ...shim.args].map(q).join(' ');
      const text = `#!/bin/sh\n# ${name} on this project's emulation (made by dmsetup-ts conformance)\n${prog}\nexec ${argv} "$@"\n`;
      fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
    }
    kernelDir = path.join(root, 'kernel');
    fs.mkdirSync(kernelDir, { mode: 0o700 });
    env.DMSETUP_TS_DIR = kernelDir;
    busybox = opts.hostUserland ? undefined : findBusybox();
    let userland = '';
    if (busybox && busyboxApplets(busybox, path.join(root, 'busybox'))) {
      userland = `${path.join(root, 'busybox')}${path.delimiter}`;
      env.DMSETUP_TS_BUSYBOX = busybox;
      ashOverrides(busybox, root, bin);
    } else busybox = undefined;
    env.PATH = `${bin}${path.delimiter}${userland}${process.env.PATH ?? ''}`;
  }
  return { root, work, output: path.join(root, 'output'), kernelDir, cli: opts.real ? undefined : opts.cli, busybox, env };
}

export function disposeSandbox(sandbox: Sandbox): void {
  fs.rmSync(sandbox.root, { recursive: true, force: true });
}
