// Runs one scenario script under sh in its sandbox, with a time limit; returns
// everything it printed (stdout and stderr through one file, so in order).

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ASH_FUNCTIONS, disposeSandbox, type Sandbox } from './sandbox.js';
import { scriptCommand } from '../executable.js';

export interface ScriptRun {
  /** Combined stdout and stderr, in the order printed (so far, if it timed out). */
  readonly output: Buffer;
  /** sh's exit status, or null if killed. */
  readonly status: number | null;
  readonly timedOut: boolean;
  readonly ms: number;
}

/** Scenarios running now, by the pid of their sh (the process group). */
const running = new Map<number, { sandbox: Sandbox; stop: readonly string[] }>();

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Like the oracle's init: `( . prelude.sh; . scenario.sh ) 2>&1` in the empty
 * working directory, under the VM's shell on a terminal where this machine
 * can give both (see runShell). sh leads its own process group; on timeout,
 * and after it exits (stray background jobs), the whole group is killed, then
 * the scenario's emulated kernel is stopped.
 */
export async function runScript(sandbox: Sandbox, script: string, prelude: string, timeoutMs: number): Promise<ScriptRun> {
  return runShell(sandbox, [prelude, script], timeoutMs, {}, ['kernel', 'stop'], true);
}

/**
 * The command that runs the files. `vm`: as the oracle VM runs a scenario,
 * when this machine has BusyBox: under BusyBox's ash (with the sandbox's
 * functions, so the shims come first), and with stdin, stdout and stderr on a
 * terminal as the VM's console is (so C programs line-buffer and interleave
 * as they do there, and ls prints columns) when script(1) is here; the
 * console's CR LF line ends come back as LF, as the oracle's `tr -d '\r'`
 * gives them. Otherwise this machine's /bin/sh.
 */
function shellCommand(sandbox: Sandbox, files: readonly string[], vm: boolean): { cmd: string; args: string[]; pty: boolean } {
  const body = `( ${files.map((f) => `. ${q(f)}`).join('; ')} ) 2>&1`;
  if (!vm || sandbox.busybox === undefined) return { cmd: '/bin/sh', args: ['-c', body], pty: false };
  const launcher = path.join(sandbox.root, 'run.sh');
  fs.writeFileSync(launcher, `. ${q(path.join(sandbox.root, ASH_FUNCTIONS))}\n${body}\n`);
  // util-linux script(1): the command on a new pseudo-terminal.
  const script = scriptCommand();
  if (!script) return { cmd: sandbox.busybox, args: ['sh', launcher], pty: false };
  return { cmd: script, args: ['-qec', `${q(sandbox.busybox)} sh ${q(launcher)}`, '/dev/null'], pty: true };
}

/**
 * `( . FILE1; . FILE2; ... ) 2>&1` under sh in the sandbox's working
 * directory with `env` added; afterwards (and on ^C) `dmsetup-ts STOP...`
 * stops what the scenario ran against (its kernel, its cluster).
 */
export async function runShell(sandbox: Sandbox, files: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv, stop: readonly string[], vm = false): Promise<ScriptRun> {
  const started = Date.now();
  const fd = fs.openSync(sandbox.output, 'w');
  let timedOut = false;
  let status: number | null;
  let pid: number | undefined;
  let pty = false;
  try {
    const shell = shellCommand(sandbox, files, vm);
    pty = shell.pty;
    const child = spawn(shell.cmd, shell.args, {
      cwd: sandbox.work,
      env: { ...sandbox.env, ...env },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    pid = child.pid;
    if (pid !== undefined) running.set(pid, { sandbox, stop });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    status = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => resolve(code));
    }).finally(() => clearTimeout(timer));
  } finally {
    killGroup(pid);
    if (pid !== undefined) running.delete(pid);
    fs.closeSync(fd);
  }
  await stopKernel(sandbox, stop);
  let output: Buffer = fs.readFileSync(sandbox.output);
  if (pty) output = Buffer.from(output.toString('latin1').replace(/\r/g, ''), 'latin1');
  if (vm) output = asVmPaths(output, sandbox.work);
  return { output, status, timedOut, ms: Date.now() - started };
}

/** The working directory of a scenario on the oracle VM (its init's `cd /tmp`, a tmpfs). */
export const VM_WORKDIR = '/tmp';

/**
 * The sandbox's working directory is this machine's temporary folder, not
 * the VM's /tmp: what a scenario printed of it ($PWD, an absolute name of
 * one of its files, a loop device's backing file) is given back as the VM's.
 */
export function asVmPaths(output: Buffer, work: string): Buffer {
  const names = [...new Set([work, fs.realpathSync(work)])].sort((a, b) => b.length - a.length);
  let text = output.toString('latin1');
  if (!names.some((n) => text.includes(n))) return output;
  for (const n of names) text = text.split(n).join(VM_WORKDIR);
  return Buffer.from(text, 'latin1');
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** `dmsetup-ts kernel stop` (or `cluster down`) for what the scenario started, if anything. */
async function stopKernel(sandbox: Sandbox, args: readonly string[]): Promise<void> {
  if (sandbox.kernelDir === undefined || sandbox.cli === undefined) return;
  if (fs.readdirSync(sandbox.kernelDir).length === 0) return;
  const stop = spawn(process.execPath, [sandbox.cli, ...args], { env: sandbox.env, stdio: 'ignore', timeout: 10_000 });
  await new Promise<void>((resolve) => {
    stop.on('error', () => resolve());
    stop.on('exit', () => resolve());
  });
}

/**
 * For an interrupted runner (^C): kills every running scenario, stops its
 * kernel and removes its sandbox, synchronously, before the process exits.
 */
export function abortRunning(): void {
  for (const [pid, { sandbox, stop }] of running) {
    killGroup(pid);
    if (sandbox.kernelDir !== undefined && sandbox.cli !== undefined && fs.readdirSync(sandbox.kernelDir).length > 0) {
      spawnSync(process.execPath, [sandbox.cli, ...stop], { env: sandbox.env, stdio: 'ignore', timeout: 10_000 });
    }
    disposeSandbox(sandbox);
  }
  running.clear();
}
