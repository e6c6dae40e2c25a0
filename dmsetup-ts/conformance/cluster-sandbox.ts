// Runs one scenario against a fresh emulated cluster (`--nodes N`), as
// shared/cluster-oracle runs it on real nodes: with one node the script runs
// inside node 1 (run1); with more it is a host script in the run folder,
// where d0..d3 are the shared disks, driving the nodes with on/on_sh/
// node_kill/node_console (run2, lib2.sh). Each node has its own working
// folder holding d0..d3 (links to the run folder's).

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { preludePath } from './prelude.js';
import { runShell, type ScriptRun } from './run-script.js';
import type { Sandbox } from './sandbox.js';

/** Shared disks of a multi-node run: d0..d3, 16 MiB each (run2's RUN2_DISK_MB). */
export const SHARED_DISKS = 4;
export const SHARED_DISK_BYTES = 16 << 20;

export async function runClusterScript(sandbox: Sandbox, script: string, nodes: number, clusterOpts: readonly string[], timeoutMs: number): Promise<ScriptRun> {
  const started = Date.now();
  if (sandbox.cli === undefined) throw new Error('--nodes runs only against the emulation');
  const up = await cli(sandbox, ['cluster', 'up', String(nodes), ...clusterOpts]);
  if (up.status !== 0) {
    await cli(sandbox, ['cluster', 'down']);
    const output = Buffer.from(`dmsetup-ts conformance: cluster up ${nodes} failed (status ${up.status}):\n${up.output}`);
    return { output, status: up.status, timedOut: false, ms: Date.now() - started };
  }
  const down = ['cluster', 'down'];
  const prelude = preludePath('prelude.sh');
  const clusterPrelude = preludePath('cluster-prelude.sh');
  if (nodes === 1) {
    return runShell(sandbox, [prelude, clusterPrelude, script], timeoutMs, { DMSETUP_TS_NODE: '1' }, down);
  }
  const run = path.join(sandbox.root, 'nodes');
  fs.mkdirSync(run);
  for (let k = 0; k < SHARED_DISKS; k++) fs.writeFileSync(path.join(sandbox.work, `d${k}`), '');
  for (let k = 0; k < SHARED_DISKS; k++) fs.truncateSync(path.join(sandbox.work, `d${k}`), SHARED_DISK_BYTES);
  for (let n = 1; n <= nodes; n++) {
    const nd = path.join(run, `node${n}`);
    fs.mkdirSync(nd);
    for (let k = 0; k < SHARED_DISKS; k++) fs.symlinkSync(path.join(sandbox.work, `d${k}`), path.join(nd, `d${k}`));
  }
  const env = { DMSETUP_TS_NODES: String(nodes), DMSETUP_TS_CLUSTER_RUN: run, DMSETUP_TS_PRELUDE: prelude, DMSETUP_TS_CLUSTER_PRELUDE: clusterPrelude };
  return runShell(sandbox, [preludePath('cluster-host.sh'), script], timeoutMs, env, down);
}

/** `dmsetup-ts ARGS...` in the sandbox's environment: status and output. */
function cli(sandbox: Sandbox, args: readonly string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [sandbox.cli!, ...args], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (e) => resolve({ status: null, output: output + e.message }));
    child.on('close', (status) => resolve({ status, output }));
  });
}
