#!/usr/bin/env node
// dmsetup-ts: dmsetup for the emulated kernel, plus the project's own
// commands (losetup, io, nbd, dmesg, kernel, cluster, conformance). Each is loaded only
// when used, so `dmsetup-ts status NAME` starts fast.

import * as path from 'node:path';

const OWN_COMMANDS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  losetup: () => import('./losetup.js'),
  io: () => import('./io.js'),
  nbd: () => import('./nbd.js'),
  dmesg: () => import('./dmesg.js'),
  kernel: () => import('./kernel-cmd.js'),
  cluster: () => import('./cluster.js'),
  conformance: () => import('./conformance/index.js'),
};

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const prog = process.env.DMSETUP_TS_PROG || path.basename(process.argv[1] ?? 'dmsetup-ts').replace(/\.js$/, '').replace(/^main$/, 'dmsetup-ts');
  if (prog === 'losetup') return (await OWN_COMMANDS.losetup!()).main(argv);
  const own = argv[0] !== undefined ? OWN_COMMANDS[argv[0]] : undefined;
  if (own) return (await own()).main(argv.slice(1));
  const { dmsetupMain } = await import('./dmsetup.js');
  return dmsetupMain(prog, argv);
}

main().then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`dmsetup-ts: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
