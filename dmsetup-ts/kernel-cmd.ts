// dmsetup-ts kernel start|stop|status|patches: the emulated kernel process of
// this runtime directory ($DMSETUP_TS_DIR). stop is a reboot: mapped devices,
// loop devices and core logs are gone; files (and disk logs in them) remain.
// patches lists the kernel patches under test, with the running kernel's
// state of each (or, with none running, what DMSETUP_TS_PATCHES gives one).

import { KernelClient } from './client.js';
import { runtimeDir } from '../kernel/runtime-dir.js';
import { parsePatches, PATCHES, PATCHES_ENV, PatchError, resolvePatches, type PatchSelection } from '../targets/mirror/patches.js';

async function patches(): Promise<number> {
  let sel: PatchSelection, from: string;
  const client = await KernelClient.connect({ start: false }).catch(() => null);
  if (client) {
    try {
      sel = (await client.call<PatchSelection>('patches')).result;
    } finally {
      client.close();
    }
    from = `the running kernel${process.env.DMSETUP_TS_NODE ? ` of node ${process.env.DMSETUP_TS_NODE}` : ''}`;
  } else {
    try {
      sel = resolvePatches(parsePatches(process.env[PATCHES_ENV] ?? ''));
    } catch (e) {
      if (!(e instanceof PatchError)) throw e;
      process.stderr.write(`dmsetup-ts kernel: ${PATCHES_ENV}: ${e.message}\n`);
      return 1;
    }
    from = `a kernel started now${process.env[PATCHES_ENV] ? ` (${PATCHES_ENV}=${process.env[PATCHES_ENV]})` : ''}`;
  }
  const w = Math.max(...PATCHES.map((p) => p.name.length));
  const lines = [`kernel patches (state: ${from}):`];
  for (const p of PATCHES) {
    lines.push(`${p.name.padEnd(w)}  ${sel[p.name] ? 'on ' : 'off'}  (default ${p.default ? 'on' : 'off'})  ${p.summary}`);
    for (const site of p.sites) lines.push(`  ${site.at}: ${site.what}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

export const usage = 'Usage: dmsetup-ts kernel start|stop|status|patches\n' +
  '  start    start the emulated kernel of the runtime directory (if none runs)\n' +
  '  stop     stop it (a reboot: devices and core logs are gone, files remain)\n' +
  '  status   say whether one runs, where, its pid and clock (exit 3 if none)\n' +
  '  patches  list the kernel patches under test and which are on\n' +
  'The runtime directory is $DMSETUP_TS_DIR, else $XDG_RUNTIME_DIR/dmsetup-ts, else /tmp/dmsetup-ts-$UID.\n';

export async function main(argv: string[]): Promise<number> {
  const verb = argv[0];
  if (argv.length !== 1 || !['start', 'stop', 'status', 'patches'].includes(verb!)) {
    process.stderr.write(usage);
    return 1;
  }
  if (verb === 'patches') return patches();
  const client = await KernelClient.connect({ start: verb === 'start' }).catch((e: Error) => e);
  if (client instanceof Error) {
    if (verb === 'stop') return 0;
    process.stdout.write(`no kernel running in ${runtimeDir()}\n`);
    return verb === 'status' ? 3 : 1;
  }
  try {
    if (verb === 'stop') {
      await client.call('stop').catch(() => undefined);
      return 0;
    }
    const info = (await client.call<{ pid: number; virtualClock: boolean; uptimeMs: number }>('ping')).result;
    if (verb === 'status') process.stdout.write(`kernel running in ${runtimeDir()} (pid ${info.pid}, ${info.virtualClock ? 'virtual' : 'real'} clock, up ${(info.uptimeMs / 1000).toFixed(1)} s)\n`);
    return 0;
  } finally {
    client.close();
  }
}
