// BusyBox 1.35's losetup applet (util-linux/losetup.c, libbb/loop.c) over the
// emulated kernel's loop devices, as the oracle VM's scenarios run it:
//   losetup [-rP] [-o OFS] {-f|LOOPDEV} FILE, -c LOOPDEV, -d LOOPDEV, -a, -f, LOOPDEV
// A loop shows as "LOOPDEV: OFFSET NAME", NAME being lo_file_name: the file
// name as the attaching program gave it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { getoptLong } from '../getopt.js';
import { KernelClient } from '../client.js';
import { Applet, xatoullSfx } from './libbb.js';

const applet = new Applet('losetup', `[-rP] [-o OFS] {-f|LOOPDEV} FILE: associate loop devices
	losetup -c LOOPDEV: reread file size
	losetup -d LOOPDEV: disassociate
	losetup -a: show status
	losetup -f: show next free loop device`, `

	-o OFS	Start OFS bytes into FILE
	-P	Scan for partitions
	-r	Read-only
	-f	Show/use next free loop device`);

/** MAX_LOOP_NUM: the devices -a and -f look at. */
const MAX_LOOP_NUM = 1023;

interface LoopInfo { number: number; offset: number; fileName: string }

const OPT = { c: 1, d: 2, P: 4, o: 8, f: 16, a: 32, r: 64 } as const;

/** The loop number of a /dev/loopN path, or undefined for any other path. */
function loopNumber(dev: string): number | undefined {
  const m = /^\/dev\/loop([0-9]+)$/.exec(dev);
  return m ? Number(m[1]) : undefined;
}

class Loops {
  constructor(private readonly client: KernelClient) {}

  private async info(): Promise<Map<number, LoopInfo>> {
    const list = (await this.client.call<LoopInfo[]>('loopList')).result;
    return new Map(list.map((l) => [l.number, l]));
  }

  /** open(dev): the loop behind a path, or the errno of the open (ENOENT: no such node). */
  async open(dev: string): Promise<number | string> {
    const n = loopNumber(dev);
    if (n === undefined) {
      // A path of this machine: present or not, it is no loop device.
      return fs.existsSync(dev) ? 'ENOTTY' : 'ENOENT';
    }
    return (await this.client.call<boolean>('loopExists', { number: n })).result ? n : 'ENOENT';
  }

  /** query_loop: "OFFSET NAME" of an attached device, else the errno. */
  async query(dev: string): Promise<string | { errno: string }> {
    const n = await this.open(dev);
    if (typeof n === 'string') return { errno: n };
    const l = (await this.info()).get(n);
    return l ? `${l.offset} ${l.fileName}` : { errno: 'ENXIO' };
  }

  /** LOOP_CTL_GET_FREE, then query_loop until a device answers ENXIO: the next free /dev/loopN. */
  async free(): Promise<string> {
    const used = await this.info();
    for (let n = 0; n <= MAX_LOOP_NUM; n++) if (!used.has(n)) return `/dev/loop${n}`;
    return applet.die('no free loop devices');
  }

  async all(): Promise<Array<[string, string]>> {
    return [...(await this.info()).values()].sort((a, b) => a.number - b.number).filter((l) => l.number <= MAX_LOOP_NUM)
      .map((l) => [`/dev/loop${l.number}`, `${l.offset} ${l.fileName}`]);
  }

  /**
   * set_loop: open FILE (O_RDWR, else O_RDONLY), open the device, claim it if
   * LOOP_GET_STATUS says it is free. The errno of a failure (0: the device
   * was busy, which sets none).
   */
  async set(dev: string, file: string, offset: number, readOnly: boolean, partscan: boolean): Promise<string | 0 | undefined> {
    const abs = path.resolve(file);
    let writable = !readOnly;
    try {
      fs.closeSync(fs.openSync(abs, writable ? 'r+' : 'r'));
    } catch (e) {
      try {
        if (!writable) throw e;
        fs.closeSync(fs.openSync(abs, 'r'));
        writable = false;
      } catch (e2) {
        return (e2 as NodeJS.ErrnoException).code ?? 'EIO';
      }
    }
    const n = await this.open(dev);
    if (typeof n === 'string') return n;
    if ((await this.info()).has(n)) return 0;
    try {
      await this.client.call('loopAttach', { number: n, file: abs, fileName: file, readOnly: !writable, offset, partscan });
    } catch (e) {
      return (e as { errno?: string }).errno ?? 'EIO';
    }
    return undefined;
  }
}

export function main(argv: string[]): Promise<number> {
  return applet.run(async () => {
    const parsed = getoptLong('losetup', argv, 'cdPo:far', []);
    if (parsed.error) {
      process.stderr.write(parsed.error);
      applet.showUsage();
    }
    let opt = 0;
    let optO = '';
    for (const o of parsed.options) {
      opt |= OPT[o.key as keyof typeof OPT];
      if (o.key === 'o') optO = o.value!;
    }
    const args = parsed.args;
    // getopt32's "?2:d--Pofar:a--Pofr": at most two arguments; -d and -a go alone.
    if (args.length > 2) applet.showUsage();
    if ((opt & OPT.d && opt & (OPT.P | OPT.o | OPT.f | OPT.a | OPT.r)) || (opt & OPT.a && opt & (OPT.P | OPT.o | OPT.f | OPT.r))) applet.showUsage();

    const client = await KernelClient.connect();
    try {
      const loops = new Loops(client);
      // LOOPDEV
      if (!opt && args[0] !== undefined && args[1] === undefined) {
        const s = await loops.query(args[0]);
        if (typeof s !== 'string') applet.perrorDie(args[0], s.errno);
        process.stdout.write(`${args[0]}: ${s}\n`);
        return 0;
      }
      // -c LOOPDEV
      if (opt === OPT.c && args[0] !== undefined) {
        const n = await loops.open(args[0]);
        if (typeof n === 'string') applet.perrorDie(`can't open '${args[0]}'`, n);
        try {
          await client.call('loopSetCapacity', { number: n });
        } catch (e) {
          applet.perrorDie('LOOP_SET_CAPACITY', (e as { errno?: string }).errno ?? 'EIO');
        }
        return 0;
      }
      // -d LOOPDEV
      if (opt === OPT.d && args[0] !== undefined) {
        const n = await loops.open(args[0]);
        if (typeof n === 'string') applet.perrorDie(args[0], n);
        try {
          await client.call('loopDetach', { number: n });
        } catch (e) {
          applet.perrorDie(args[0], (e as { errno?: string }).errno ?? 'EIO');
        }
        return 0;
      }
      // -a
      if (opt === OPT.a) {
        for (const [dev, s] of await loops.all()) process.stdout.write(`${dev}: ${s}\n`);
        return 0;
      }
      // contains -f
      let dev = '';
      if (opt & OPT.f) {
        dev = await loops.free();
        if (opt === OPT.f && args[0] === undefined) {
          process.stdout.write(`${dev}\n`);
          return 0;
        }
      }
      // [-rP] [-o OFS] {-f|LOOPDEV} FILE
      if (args[0] !== undefined && (opt & OPT.f || args[1] !== undefined)) {
        const offset = opt & OPT.o ? Number(xatoullSfx(applet, optO)) : 0;
        const rest = [...args];
        if (!(opt & OPT.f)) dev = rest.shift()!;
        const file = rest[0];
        if (file !== undefined) {
          const err = await loops.set(dev, file, offset, Boolean(opt & OPT.r), Boolean(opt & OPT.P));
          if (err !== undefined) applet.perrorDie(file, err);
          return 0;
        }
      }
      return applet.showUsage();
    } finally {
      client.close();
    }
  });
}
