// BusyBox 1.35's blockdev applet (util-linux/blockdev.c) over the emulated
// kernel's block devices: one OPTION, its argument if it takes one, one
// BLOCKDEV; the device is opened read-only and the option's ioctl issued.

import * as fs from 'node:fs';
import type { BlkIoctl } from '../../kernel/blkdev-ioctl.js';
import { KernelClient } from '../client.js';
import { Applet, xatoiPositive } from './libbb.js';
import { isKernelDevicePath } from './devices.js';

const applet = new Applet('blockdev', 'OPTION BLOCKDEV', `

	--setro		Set ro
	--setrw		Set rw
	--getro		Get ro
	--getss		Get sector size
	--getbsz	Get block size
	--setbsz BYTES	Set block size
	--getsz		Get device size in 512-byte sectors
	--getsize64	Get device size in bytes
	--getra		Get readahead in 512-byte sectors
	--setra SECTORS	Set readahead
	--flushbufs	Flush buffers
	--rereadpt	Reread partition table`);

interface Bdc { name: string; ioc: BlkIoctl; argval?: number; userArg?: boolean; noResult?: boolean; scale512?: boolean }

/** bdcommands[]: --getsize is there without a usage line. */
const COMMANDS: readonly Bdc[] = [
  { name: 'setro', ioc: 'BLKROSET', argval: 1, noResult: true },
  { name: 'setrw', ioc: 'BLKROSET', argval: 0, noResult: true },
  { name: 'getro', ioc: 'BLKROGET' },
  { name: 'getss', ioc: 'BLKSSZGET' },
  { name: 'getbsz', ioc: 'BLKBSZGET' },
  { name: 'setbsz', ioc: 'BLKBSZSET', userArg: true, noResult: true },
  { name: 'getsz', ioc: 'BLKGETSIZE64', scale512: true },
  { name: 'getsize', ioc: 'BLKGETSIZE' },
  { name: 'getsize64', ioc: 'BLKGETSIZE64' },
  { name: 'getra', ioc: 'BLKRAGET' },
  { name: 'setra', ioc: 'BLKRASET', userArg: true, noResult: true },
  { name: 'flushbufs', ioc: 'BLKFLSBUF', noResult: true },
  { name: 'rereadpt', ioc: 'BLKRRPART', noResult: true },
];

/** find_cmd: "--NAME" of a command, else the usage. */
function findCmd(s: string | undefined): Bdc {
  const cmd = s?.startsWith('--') ? COMMANDS.find((c) => c.name === s.slice(2)) : undefined;
  return cmd ?? applet.showUsage();
}

export function main(argv: string[]): Promise<number> {
  return applet.run(async () => {
    if (argv.length !== 2 && argv.length !== 3) applet.showUsage();
    const cmd = findCmd(argv[0]);
    let arg = cmd.argval ?? 0;
    let i = 1;
    if (cmd.userArg) arg = xatoiPositive(applet, argv[i++]!);
    const dev = argv[i];
    if (dev === undefined || argv.length !== i + 1) applet.showUsage();
    if (!isKernelDevicePath(dev)) {
      // A file of this machine: open it as xopen does; no block ioctl works on it.
      try {
        fs.closeSync(fs.openSync(dev, 'r'));
      } catch (e) {
        applet.perrorDie(`can't open '${dev}'`, (e as NodeJS.ErrnoException).code ?? 'EIO');
      }
      applet.perrorDie(dev, 'ENOTTY');
    }
    const client = await KernelClient.connect();
    try {
      let res: { results: (string | null)[]; errno?: string };
      try {
        res = (await client.call<{ results: (string | null)[]; errno?: string }>('blkdevIoctls', { path: dev, cmds: [{ cmd: cmd.ioc, arg }] })).result;
      } catch (e) {
        const errno = (e as { errno?: string }).errno;
        return applet.perrorDie(`can't open '${dev}'`, errno ?? 'EIO');
      }
      if (res.errno) applet.perrorDie(dev, res.errno);
      if (!cmd.noResult) {
        const v = BigInt(res.results[0] ?? '0');
        process.stdout.write(`${cmd.scale512 ? v >> 9n : v}\n`);
      }
      return 0;
    } finally {
      client.close();
    }
  });
}

