// dmsetup-ts nbd NAME [--tcp PORT]: the NBD URI of a block device of the
// emulated kernel, for nbdinfo, nbdcopy, qemu-img, fio, nbd-client. The kernel
// process serves it (kernel/nbd.ts) on nbd.sock in the runtime directory; with
// --tcp it also listens on 127.0.0.1:PORT (0: a free port) and prints that URI.

import { KernelError } from '../kernel/errno.js';
import { KernelClient } from './client.js';

export const usage = `Usage: dmsetup-ts nbd DEVICE [--tcp PORT]
Prints the NBD URI of DEVICE (a device-mapper name, or /dev/loopN), served by the
emulated kernel process on nbd.sock in its runtime directory:
  nbd+unix:///DEVICE?socket=RUNTIME_DIR/nbd.sock
--tcp PORT  also listen on 127.0.0.1:PORT (0: a free port) and print nbd://127.0.0.1:PORT/DEVICE
Read-only tables are exported read-only; a suspended device holds requests as it holds bios.
`;
const USAGE = 'Usage: dmsetup-ts nbd DEVICE [--tcp PORT]\n';

/** The path part of an NBD URI: the export name, percent-encoded. */
function exportPath(name: string): string {
  return '/' + encodeURIComponent(name).replace(/%2F/gi, '/');
}

export async function main(argv: string[]): Promise<number> {
  let tcp: number | undefined;
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a === '--tcp' ? argv[++i] : a.startsWith('--tcp=') ? a.slice(6) : undefined;
    if (a === '--tcp' || a.startsWith('--tcp=')) {
      if (v === undefined || !/^[0-9]+$/.test(v) || Number(v) > 65535) { process.stderr.write(USAGE); return 1; }
      tcp = Number(v);
    } else if (a.startsWith('-')) { process.stderr.write(USAGE); return 1; }
    else pos.push(a);
  }
  if (pos.length !== 1) { process.stderr.write(USAGE); return 1; }
  const name = pos[0]!;
  const client = await KernelClient.connect().catch((e: Error) => e);
  if (client instanceof Error) {
    process.stderr.write(`dmsetup-ts nbd: cannot reach the emulated kernel: ${client.message}\n`);
    return 1;
  }
  try {
    const r = (await client.call<{ socket: string | null; port?: number }>('nbdExport', { name, tcp })).result;
    if (tcp !== undefined) process.stdout.write(`nbd://127.0.0.1:${r.port}${exportPath(name)}\n`);
    else if (r.socket) process.stdout.write(`nbd+unix://${exportPath(name)}?socket=${encodeURIComponent(r.socket).replace(/%2F/gi, '/')}\n`);
    else { process.stderr.write('dmsetup-ts nbd: the kernel process has no NBD socket (see its stderr); try --tcp 0\n'); return 1; }
    return 0;
  } catch (e) {
    if (e instanceof KernelError) {
      const why = e.errno === 'ENOENT' ? 'No such device' : e.errno === 'ENXIO' ? 'the device has no table' : e.message;
      process.stderr.write(`dmsetup-ts nbd: ${name}: ${why}\n`);
    } else process.stderr.write(`dmsetup-ts nbd: ${(e as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
