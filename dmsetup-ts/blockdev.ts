// blockdev: util-linux 2.38's blockdev(8) over the emulated kernel's block
// devices (/dev/loopN, /dev/dm-N, /dev/mapper/NAME): each device is opened
// once and the commands run on it in order, as ioctls; a regular file answers
// only the size queries, from its length, as blkdev_get_size falls back to fstat.

import * as fs from 'node:fs';
import { KernelError, isErrno, strerror } from '../kernel/errno.js';
import type { BlkIoctl } from '../kernel/blkdev-ioctl.js';
import { KernelClient } from './client.js';

const PROG = 'blockdev';
const REPORT_HEADER = 'RO    RA   SSZ   BSZ        StartSec            Size   Device\n';

type ArgType = 'none' | 'int' | 'uint' | 'ushort' | 'long' | 'ulong' | 'ullong';
interface Command { name: string; ioc: BlkIoctl; help: string; type: ArgType; argval?: number; argname?: string; noResult?: boolean }

/** bdcms[]: each command, its ioctl and how its result is printed. */
const COMMANDS: Command[] = [
  { name: '--setro', ioc: 'BLKROSET', type: 'int', argval: 1, noResult: true, help: 'set read-only' },
  { name: '--setrw', ioc: 'BLKROSET', type: 'int', argval: 0, noResult: true, help: 'set read-write' },
  { name: '--getro', ioc: 'BLKROGET', type: 'int', help: 'get read-only' },
  { name: '--getdiscardzeroes', ioc: 'BLKDISCARDZEROES', type: 'uint', help: 'get discard zeroes support status' },
  { name: '--getss', ioc: 'BLKSSZGET', type: 'int', help: 'get logical block (sector) size' },
  { name: '--getpbsz', ioc: 'BLKPBSZGET', type: 'uint', help: 'get physical block (sector) size' },
  { name: '--getiomin', ioc: 'BLKIOMIN', type: 'uint', help: 'get minimum I/O size' },
  { name: '--getioopt', ioc: 'BLKIOOPT', type: 'uint', help: 'get optimal I/O size' },
  { name: '--getalignoff', ioc: 'BLKALIGNOFF', type: 'int', help: 'get alignment offset in bytes' },
  { name: '--getmaxsect', ioc: 'BLKSECTGET', type: 'ushort', help: 'get max sectors per request' },
  { name: '--getbsz', ioc: 'BLKBSZGET', type: 'int', help: 'get blocksize' },
  { name: '--setbsz', ioc: 'BLKBSZSET', type: 'int', argname: '<bytes>', noResult: true, help: 'set blocksize on file descriptor opening the block device' },
  { name: '--getsize', ioc: 'BLKGETSIZE', type: 'ulong', help: 'get 32-bit sector count (deprecated, use --getsz)' },
  { name: '--getsize64', ioc: 'BLKGETSIZE64', type: 'ullong', help: 'get size in bytes' },
  { name: '--setra', ioc: 'BLKRASET', type: 'int', argname: '<sectors>', noResult: true, help: 'set readahead' },
  { name: '--getra', ioc: 'BLKRAGET', type: 'long', help: 'get readahead' },
  { name: '--setfra', ioc: 'BLKFRASET', type: 'int', argname: '<sectors>', noResult: true, help: 'set filesystem readahead' },
  { name: '--getfra', ioc: 'BLKFRAGET', type: 'long', help: 'get filesystem readahead' },
  { name: '--flushbufs', ioc: 'BLKFLSBUF', type: 'none', help: 'flush buffers' },
  { name: '--rereadpt', ioc: 'BLKRRPART', type: 'none', help: 'reread partition table' },
];

export const usage = `
Usage:
 ${PROG} [-v|-q] commands devices
 ${PROG} --report [devices]
 ${PROG} -h|-V

Call block device ioctls from the command line.

Options:
 -q             quiet mode
 -v             verbose mode
     --report   print report for specified (or all) devices

 -h, --help     display this help
 -V, --version  display version

Available commands:
 ${'--getsz'.padEnd(25)} get size in 512-byte sectors
${COMMANDS.map((c) => c.argname ? ` ${c.name} ${c.argname.padEnd(24 - c.name.length)} ${c.help}\n` : ` ${c.name.padEnd(25)} ${c.help}\n`).join('')}
For more details see blockdev(8).
`;

class Exit extends Error { constructor(readonly code: number) { super(`exit ${code}`); } }

const warnx = (msg: string) => process.stderr.write(`${PROG}: ${msg}\n`);
const tryHelp = (): never => { process.stderr.write(`Try '${PROG} --help' for more information.\n`); throw new Exit(1); };
const errnoText = (e: string) => (isErrno(e) ? strerror(e) : e);

/** atoi: leading blanks, a sign, digits; anything else ends the number. */
function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(s);
  return m ? Number(BigInt.asIntN(32, BigInt(m[1]!))) : 0;
}

/** The C type's printf of a result the kernel sent as a decimal string. */
function format(type: ArgType, v: string): string {
  const n = BigInt(v);
  switch (type) {
    case 'ushort': return String(BigInt.asUintN(16, n));
    case 'int': return String(BigInt.asIntN(32, n));
    case 'uint': return String(BigInt.asUintN(32, n));
    case 'long': return String(BigInt.asIntN(64, n));
    default: return String(BigInt.asUintN(64, n));
  }
}

/** The emulated kernel's devices: everything else is a file of this machine. */
const isKernelDevice = (p: string) => /^\/dev\/(loop[0-9]+|dm-[0-9]+|mapper\/.+)$/.test(p);

interface Step { verbose: boolean; getsz?: true; cmd?: Command; arg?: number }

/**
 * Commands of argv[0..d) as do_commands walks them, with -v/-q as they come;
 * `fail` is the message of the first bad one, printed after the good ones before it have run.
 */
function parseSteps(argv: string[], d: number): { steps: Step[]; fail?: string } {
  const steps: Step[] = [];
  let verbose = false;
  for (let i = 0; i < d; i++) {
    const a = argv[i]!;
    if (a === '-v') { verbose = true; continue; }
    if (a === '-q') { verbose = false; continue; }
    if (a === '--getsz') { steps.push({ verbose, getsz: true }); continue; }
    const cmd = COMMANDS.find((c) => c.name === a);
    if (!cmd) return { steps, fail: `Unknown command: ${a}` };
    let arg = cmd.argval;
    if (cmd.argname) {
      if (i === d - 1) return { steps, fail: `${cmd.name} requires an argument` };
      arg = atoi(argv[++i]!);
    }
    steps.push({ verbose, cmd, arg });
  }
  return { steps };
}

async function ioctls(client: KernelClient, dev: string, cmds: { cmd: BlkIoctl; arg?: number }[]) {
  return (await client.call<{ results: (string | null)[]; errno?: string }>('blkdevIoctls', { path: dev, cmds })).result;
}

/** One device: open it, run every step on it in order. */
async function doCommands(client: KernelClient | undefined, dev: string, commandArgs: string[], out: string[]): Promise<void> {
  const cannotOpen = (why: string): never => { flush(out); warnx(`cannot open ${dev}: ${why}`); throw new Exit(1); };
  const { steps, fail } = parseSteps(commandArgs, commandArgs.length);
  const cmds = steps.map((s) => (s.getsz ? { cmd: 'BLKGETSIZE64' as BlkIoctl } : { cmd: s.cmd!.ioc, arg: s.arg }));
  let results: (string | null)[] = [];
  let errno: string | undefined;
  if (client !== undefined) {
    // The open and all the ioctls in one request; their printing follows.
    const r = await ioctls(client, dev, cmds).catch((e: unknown) => e as Error);
    if (r instanceof Error) {
      if (r instanceof KernelError) cannotOpen(strerror(r.errno));
      throw r;
    }
    ({ results, errno } = r);
  } else {
    let file: fs.Stats | undefined;
    try { file = fs.statSync(dev); } catch (e) { cannotOpen(strerror(((e as NodeJS.ErrnoException).code ?? 'ENOENT') as never)); }
    // Not a block device: every ioctl fails with ENOTTY; --getsz alone falls back to fstat's size of a regular file.
    for (let i = 0; i < cmds.length; i++) {
      if (steps[i]!.getsz && file!.isFile()) results.push(String(file!.size));
      else { errno = 'ENOTTY'; break; }
    }
  }
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    const v = results[i];
    if (s.getsz) {
      if (v === undefined) { flush(out); warnx('could not get device size'); throw new Exit(1); }
      out.push(`${BigInt(v!) / 512n}\n`);
      continue;
    }
    const cmd = s.cmd!;
    if (v === undefined) {
      flush(out);
      warnx(`ioctl error on ${cmd.ioc}: ${errnoText(errno ?? 'EIO')}`);
      if (s.verbose) out.push(`${cmd.help} failed.\n`);
      flush(out);
      throw new Exit(1);
    }
    if (cmd.type === 'none' || cmd.noResult) {
      if (s.verbose) out.push(`${cmd.help} succeeded.\n`);
      continue;
    }
    out.push(`${s.verbose ? `${cmd.help}: ` : ''}${format(cmd.type, v!)}\n`);
  }
  if (fail !== undefined) { flush(out); warnx(fail); tryHelp(); }
}

function flush(out: string[]): void {
  if (out.length) process.stdout.write(out.splice(0).join(''));
}

async function report(client: KernelClient | undefined, devices: string[], out: string[]): Promise<void> {
  out.push(REPORT_HEADER);
  for (const dev of devices) {
    if (client === undefined || !isKernelDevice(dev)) {
      if (!fs.existsSync(dev)) { flush(out); warnx(`cannot open ${dev}: No such file or directory`); } else { flush(out); warnx(`ioctl error on ${dev}`); }
      continue;
    }
    const r = await ioctls(client, dev, ['BLKROGET', 'BLKRAGET', 'BLKSSZGET', 'BLKBSZGET', 'BLKGETSIZE64'].map((cmd) => ({ cmd: cmd as BlkIoctl }))).catch((e: unknown) => e);
    if (r instanceof KernelError) { flush(out); warnx(`cannot open ${dev}: ${strerror(r.errno)}`); continue; }
    if (r instanceof Error) throw r;
    const [ro, ra, ssz, bsz, bytes] = (r as { results: string[] }).results;
    out.push(`${ro === '1' ? 'ro' : 'rw'} ${ra!.padStart(5)} ${ssz!.padStart(5)} ${bsz!.padStart(5)} ${'0'.padStart(15)} ${bytes!.padStart(15)}   ${dev}\n`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const out: string[] = [];
  let client: KernelClient | undefined;
  try {
    if (argv.length < 1) { warnx('not enough arguments'); tryHelp(); }
    if (argv[0] === '-V' || argv[0] === '--version') { process.stdout.write('blockdev from util-linux 2.38.1\n'); return 0; }
    if (argv[0] === '-h' || argv[0] === '--help') { process.stdout.write(usage); return 0; }
    const needsKernel = (devs: string[]) => devs.some(isKernelDevice);
    if (argv[0] === '--report') {
      const devices = argv.slice(1);
      if (devices.length === 0) { process.stdout.write(REPORT_HEADER); return 0; }
      if (needsKernel(devices)) client = await KernelClient.connect();
      await report(client, devices, out);
      flush(out);
      return 0;
    }
    // Devices start after the last command.
    let d = 0;
    for (; d < argv.length; d++) {
      const a = argv[d]!;
      const cmd = COMMANDS.find((c) => c.name === a);
      if (cmd) { if (cmd.argname) d++; continue; }
      if (a === '--getsz') continue;
      if (a === '--') { d++; break; }
      if (!a.startsWith('-')) break;
    }
    if (d >= argv.length) { warnx('no device specified'); tryHelp(); }
    // As do_commands, a `--` among them is taken for a command (and is unknown).
    const commandArgs = argv.slice(0, d);
    const devices = argv.slice(d);
    if (needsKernel(devices)) client = await KernelClient.connect();
    for (const dev of devices) await doCommands(isKernelDevice(dev) ? client : undefined, dev, commandArgs, out);
    flush(out);
    return 0;
  } catch (e) {
    flush(out);
    if (e instanceof Exit) return e.code;
    process.stderr.write(`${PROG}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
