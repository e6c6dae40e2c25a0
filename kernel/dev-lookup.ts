// How dm_get_device (dm-table.c, 6.1) turns a table argument into a dev_t:
// `%u:%u` first, else lookup_bdev on the path (the emulated /dev), else
// name_to_dev_t (init/do_mounts.c): `maj:min`, `maj:min:offset`, a hex
// new_encode_dev number such as 700 or 0x700, or /dev/<disk name>.

import * as path from 'node:path';
import { KernelError } from './errno.js';
import { DM_MAJOR, LOOP_MAJOR } from './block.js';
import type { Kernel } from './kernel.js';

export interface DevT { major: number; minor: number }

/** MINORBITS: dev_t holds a 12-bit major and a 20-bit minor. */
const MINORBITS = 20;

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * vsscanf's `%u` conversions separated by ':' at the start of s: the values
 * (mod 2^32) converted before the first mismatch, and whether the input was
 * used up right after the last one.
 */
function scanColonU32(s: string, max: number): { values: number[]; rest: string } {
  const values: number[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isSpace(s.charCodeAt(i))) i++;
    if (i >= s.length || !isDigit(s.charCodeAt(i))) break;
    const from = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    values.push(Number(BigInt.asUintN(32, BigInt(s.slice(from, i)))));
    if (values.length === max || s[i] !== ':') break;
    i++;
  }
  return { values, rest: s.slice(i) };
}

/** sscanf(path, "%u:%u%c", &major, &minor, &dummy) == 2. */
export function scanMajorMinor(s: string): DevT | undefined {
  const r = scanColonU32(s, 2);
  return r.values.length === 2 && r.rest === '' ? { major: r.values[0]!, minor: r.values[1]! } : undefined;
}

/** MKDEV with the check that nothing was lost (EOVERFLOW in dm_get_device). */
function mkdev(major: number, minor: number): DevT | null {
  return major < 1 << (32 - MINORBITS) && minor < 1 << MINORBITS ? { major, minor } : null;
}

/** simple_strtoul(s, &p, 16): optional 0x, hex digits; the value and what follows. */
function strtoul16(s: string): { v: bigint; rest: string } {
  let i = 0;
  if (s[0] === '0' && (s[1] === 'x' || s[1] === 'X') && /[0-9a-fA-F]/.test(s[2] ?? '')) i = 2;
  const m = /^[0-9a-fA-F]*/.exec(s.slice(i))![0];
  return { v: m ? BigInt.asUintN(64, BigInt('0x' + m)) : 0n, rest: s.slice(i + m.length) };
}

/** new_decode_dev of a u32. */
function newDecodeDev(dev: number): DevT {
  return { major: (dev & 0xfff00) >>> 8, minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00) };
}

export class DevLookup {
  constructor(private readonly kernel: Kernel) {}

  /** The gendisk named name (blk_lookup_devt with partno 0): loopN, dm-N. */
  private diskByName(name: string): DevT | undefined {
    let m = /^loop([0-9]+)$/.exec(name);
    if (m && !(m[1]!.length > 1 && m[1]![0] === '0')) {
      const l = this.kernel.loop(Number(m[1]));
      if (l) return { major: LOOP_MAJOR, minor: l.minor };
    }
    m = /^dm-([0-9]+)$/.exec(name);
    if (m && !(m[1]!.length > 1 && m[1]![0] === '0')) {
      const md = this.kernel.dmIoctl.deviceByMinor(Number(m[1]));
      if (md?.hasDisk) return { major: DM_MAJOR, minor: md.minor };
    }
    return undefined;
  }

  /** lookup_bdev: the block device node a path names in the emulated /dev, if any. */
  lookupBdev(p: string): DevT | undefined {
    if (!p.startsWith('/')) return undefined;
    const abs = path.posix.resolve('/', p);
    if (abs.startsWith('/dev/mapper/')) {
      const name = abs.slice('/dev/mapper/'.length);
      // libdm makes the node when the device is resumed with its first table,
      // i.e. once it has a gendisk (library users of the kernel make none).
      const md = this.kernel.dmIoctl.deviceByName(name);
      return md?.hasDisk ? { major: DM_MAJOR, minor: md.minor } : undefined;
    }
    if (abs.startsWith('/dev/') && !abs.slice(5).includes('/')) return this.diskByName(abs.slice(5));
    return undefined;
  }

  /** name_to_dev_t: 0:0 when nothing matches. */
  nameToDevT(name: string): DevT {
    const none = { major: 0, minor: 0 };
    if (!name.startsWith('/dev/')) {
      const a = scanColonU32(name, 2);
      const b = scanColonU32(name, 3);
      let mm: number[] | undefined;
      if (a.values.length === 2 && a.rest === '') mm = a.values;
      // "%u:%u:%u:%c" == 3: a fourth conversion (':' and one more character) fails it.
      else if (b.values.length === 3 && !(b.rest[0] === ':' && b.rest.length > 1)) mm = b.values;
      if (mm) return mkdev(mm[0]!, mm[1]!) ?? none;
      const r = strtoul16(name);
      if (r.rest !== '') return none;
      return newDecodeDev(Number(BigInt.asUintN(32, r.v)));
    }
    const s = name.slice(5).replace(/\//g, '!');
    if (s.length > 31) return none;
    const whole = this.diskByName(s);
    if (whole) return whole;
    // A partition of a disk: loop and dm disks have none.
    return none;
  }

  /**
   * dm_get_device up to blkdev_get_by_dev: the dev_t, or EOVERFLOW / ENODEV.
   */
  devT(p: string): DevT {
    const mm = scanMajorMinor(p);
    if (mm) {
      const dev = mkdev(mm.major, mm.minor);
      if (!dev) throw new KernelError('EOVERFLOW');
      return dev;
    }
    const dev = this.lookupBdev(p) ?? this.nameToDevT(p);
    if (!dev.major && !dev.minor) throw new KernelError('ENODEV');
    return dev;
  }
}
