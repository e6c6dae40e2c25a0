// The losetup stand-in: loop devices of the emulated kernel over files, in
// the forms scripts use: `losetup /dev/loopN FILE`, `-f [--show] FILE`,
// `-d DEV...`, `-a`, `-l`, `losetup DEV`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { strerror, KernelError } from '../kernel/errno.js';
import { getoptLong } from './getopt.js';
import { KernelClient, KernelUnreachable } from './client.js';

interface LoopInfo { number: number; file: string; sizeSectors: number; readOnly: boolean; autoclear: boolean }

const LONG = [
  { name: 'all', hasArg: false }, { name: 'detach', hasArg: true }, { name: 'detach-all', hasArg: false },
  { name: 'find', hasArg: false }, { name: 'list', hasArg: false }, { name: 'show', hasArg: false },
  { name: 'read-only', hasArg: false }, { name: 'help', hasArg: false },
];

const USAGE = `
Usage:
 losetup [options] [<loopdev>]
 losetup [options] -f | <loopdev> <file>

Set up and control loop devices.

Options:
 -a, --all                     list all used devices
 -d, --detach <loopdev>...     detach one or more devices
 -D, --detach-all              detach all used devices
 -f, --find                    find first unused device
 -l, --list                    list info about all or specified (default)
 -r, --read-only               set up a read-only loop device
     --show                    print device name after setup (with -f)
 -h, --help                    display this help
`;

function loopNumber(dev: string): number | null {
  const m = /^\/dev\/loop([0-9]+)$/.exec(dev);
  return m ? Number(m[1]) : null;
}

function describe(l: LoopInfo): string {
  let st: fs.Stats | null = null;
  try { st = fs.statSync(l.file); } catch { /* deleted */ }
  return `/dev/loop${l.number}: [${st ? st.dev.toString().padStart(4, '0') : '0000'}]:${st?.ino ?? 0} (${l.file}${st ? '' : ' (deleted)'})`;
}

export async function main(argv: string[]): Promise<number> {
  const p = getoptLong('losetup', argv, 'ad:Dfhlr', LONG);
  const err = (s: string) => process.stderr.write(`losetup: ${s}\n`);
  if (p.error) {
    process.stderr.write(p.error + "Try 'losetup --help' for more information.\n");
    return 1;
  }
  const flag = (k: string, long: string) => p.options.some((o) => o.key === k || o.key === long);
  if (flag('h', 'help')) { process.stdout.write(USAGE); return 0; }
  let client: KernelClient;
  try {
    client = await KernelClient.connect();
  } catch (e) {
    err(`cannot reach the emulated kernel: ${(e as Error).message}`);
    return 1;
  }
  try {
    const list = async () => (await client.call<LoopInfo[]>('loopList')).result;
    const detach = p.options.filter((o) => o.key === 'd' || o.key === 'detach').map((o) => o.value!);
    if (detach.length) {
      let rc = 0;
      for (const dev of [...detach, ...p.args]) {
        const n = loopNumber(dev);
        try {
          if (n === null) throw new KernelError('ENXIO');
          await client.call('loopDetach', { number: n });
        } catch (e) {
          if (!(e instanceof KernelError)) throw e;
          err(`${dev}: detach failed: ${strerror(e.errno)}`);
          rc = 1;
        }
      }
      return rc;
    }
    if (flag('D', 'detach-all')) {
      for (const l of await list()) await client.call('loopDetach', { number: l.number }).catch(() => undefined);
      return 0;
    }
    if (flag('a', 'all') || (flag('l', 'list') && !p.args.length)) {
      const loops = await list();
      if (flag('l', 'list')) {
        const rows = loops.map((l) => [`/dev/loop${l.number}`, '0', '0', l.autoclear ? '1' : '0', l.readOnly ? '1' : '0', l.file, '0', '512']);
        const head = ['NAME', 'SIZELIMIT', 'OFFSET', 'AUTOCLEAR', 'RO', 'BACK-FILE', 'DIO', 'LOG-SEC'];
        const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        const num = [false, true, true, true, true, false, true, true];
        const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c.padStart(w[i]!) : num[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' ').trimEnd() + '\n';
        if (rows.length) process.stdout.write(line(head) + rows.map(line).join(''));
      } else {
        process.stdout.write(loops.map((l) => describe(l) + '\n').join(''));
      }
      return 0;
    }
    const readOnly = flag('r', 'read-only');
    if (flag('f', 'find')) {
      if (!p.args.length) {
        const all = await list();
        let n = 0;
        while (all.some((l) => l.number === n)) n++;
        process.stdout.write(`/dev/loop${n}\n`);
        return 0;
      }
      const file = path.resolve(p.args[0]!);
      if (!fs.existsSync(file)) { err(`${p.args[0]}: failed to set up loop device: No such file or directory`); return 1; }
      const r = (await client.call<{ number: number }>('loopAttach', { file, readOnly })).result;
      if (flag('show', 'show')) process.stdout.write(`/dev/loop${r.number}\n`);
      return 0;
    }
    if (p.args.length === 1) {
      const n = loopNumber(p.args[0]!);
      const l = (await list()).find((x) => x.number === n);
      if (!l) { err(`${p.args[0]}: No such device or address`); return 1; }
      process.stdout.write(describe(l) + '\n');
      return 0;
    }
    if (p.args.length === 2) {
      const [dev, fileArg] = p.args as [string, string];
      const n = loopNumber(dev);
      const file = path.resolve(fileArg);
      if (n === null) { err(`${dev}: failed to set up loop device: No such file or directory`); return 1; }
      if (!fs.existsSync(file)) { err(`${fileArg}: failed to set up loop device: No such file or directory`); return 1; }
      try {
        await client.call('loopAttach', { number: n, file, readOnly });
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        err(`${dev}: failed to set up loop device: ${strerror(e.errno)}`);
        return 1;
      }
      return 0;
    }
    if (!p.args.length) {
      process.stdout.write((await list()).map((l) => describe(l) + '\n').join(''));
      return 0;
    }
    err('bad usage');
    process.stderr.write("Try 'losetup --help' for more information.\n");
    return 1;
  } catch (e) {
    if (e instanceof KernelUnreachable) { err(e.message); return 1; }
    throw e;
  } finally {
    client.close();
  }
}
