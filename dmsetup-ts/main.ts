#!/usr/bin/env node
// dmsetup-ts: dmsetup for the emulated kernel, plus the project's own
// commands (losetup, io, dmesg, kernel, cluster, conformance, ...). Each is
// loaded only when used, so `dmsetup-ts status NAME` starts fast.

import * as path from 'node:path';
import { OWN_COMMANDS, ownCommand, wantsHelp } from './own-commands.js';

// A reader that went away (`dmsetup version | head -1`): the real command dies
// of SIGPIPE there, silently (the shell sees 128 + 13).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const prog = process.env.DMSETUP_TS_PROG || path.basename(process.argv[1] ?? 'dmsetup-ts').replace(/\.c?js$/, '').replace(/^(main|bin|cli)$/, 'dmsetup-ts');
  if (process.env.DMSETUP_TS_DIR === '') {
    const { EMPTY_DIR_MESSAGE } = await import('../kernel/runtime-dir.js');
    process.stderr.write(`${prog}: ${EMPTY_DIR_MESSAGE}\n`);
    return 1;
  }
  if (prog === 'losetup' || prog === 'blockdev') return (await OWN_COMMANDS[prog]!.load()).main(argv);
  const own = ownCommand(argv[0]);
  if (own) {
    const rest = argv.slice(1);
    const mod = await own.load();
    if (!own.ownHelp && wantsHelp(rest)) {
      process.stdout.write(mod.usage ?? `Usage: dmsetup-ts ${argv[0]} ...\n`);
      return 0;
    }
    return mod.main(rest);
  }
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
