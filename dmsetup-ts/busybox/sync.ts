// BusyBox 1.35's sync applet (coreutils/sync.c) without options: sync(2)
// writes back the emulated kernel's block devices' page caches (this
// machine's files need nothing: its page cache is what every reader sees).
// With options (-d, -f FILE) it is BusyBox's own, on this machine's files.

import { spawnSync } from 'node:child_process';
import { KernelClient } from '../client.js';

export async function main(argv: string[]): Promise<number> {
  const busybox = process.env.DMSETUP_TS_BUSYBOX;
  if (argv.length > 0 && busybox) return spawnSync(busybox, ['sync', ...argv], { stdio: 'inherit' }).status ?? 1;
  // (No kernel running: nothing of it to write back.)
  const client = await KernelClient.connect({ start: false }).catch(() => undefined);
  if (!client) return 0;
  try {
    await client.call('sync', {});
  } finally {
    client.close();
  }
  return 0;
}
