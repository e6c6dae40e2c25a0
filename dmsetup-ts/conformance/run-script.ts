// Runs one scenario script under sh in its sandbox, with a time limit; returns
// everything it printed (stdout and stderr through one file, so in order).

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { disposeSandbox, type Sandbox } from './sandbox.js';

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
 * working directory. sh leads its own process group; on timeout, and after it
 * exits (stray background jobs), the whole group is killed, then the
 * scenario's emulated kernel is stopped.
 */
export async function runScript(sandbox: Sandbox, script: string, prelude: string, timeoutMs: number): Promise<ScriptRun> {
  return runShell(sandbox, [prelude, script], timeoutMs, {}, ['kernel', 'stop']);
}

/**
 * `( . FILE1; . FILE2; ... ) 2>&1` under sh in the sandbox's working
 * directory with `env` added; afterwards (and on ^C) `dmsetup-ts STOP...`
 * stops what the scenario ran against (its kernel, its cluster).
 */
export async function runShell(sandbox: Sandbox, files: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv, stop: readonly string[]): Promise<ScriptRun> {
  const started = Date.now();
  const fd = fs.openSync(sandbox.output, 'w');
  let timedOut = false;
  let status: number | null;
  let pid: number | undefined;
  try {
    const child = spawn('sh', ['-c', `( ${files.map((f) => `. ${q(f)}`).join('; ')} ) 2>&1`], {
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
  return { output: fs.readFileSync(sandbox.output), status, timedOut, ms: Date.now() - started };
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
