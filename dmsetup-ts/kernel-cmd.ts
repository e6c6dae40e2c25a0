// dmsetup-ts kernel start|stop|status: the emulated kernel process of this
// runtime directory ($DMSETUP_TS_DIR). stop is a reboot: mapped devices,
// loop devices and core logs are gone; files (and disk logs in them) remain.

import { KernelClient } from './client.js';
import { runtimeDir } from '../kernel/runtime-dir.js';

export async function main(argv: string[]): Promise<number> {
  const verb = argv[0];
  if (argv.length !== 1 || !['start', 'stop', 'status'].includes(verb!)) {
    process.stderr.write('Usage: dmsetup-ts kernel start|stop|status\n');
    return 1;
  }
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
