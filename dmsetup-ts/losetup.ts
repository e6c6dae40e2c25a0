// The losetup stand-in: loop devices of the emulated kernel over files, with
// util-linux 2.38's command line (sys-utils/losetup.c main: its options,
// mutually exclusive groups, size parsing, which action a command line means,
// and its messages): `losetup /dev/loopN FILE`, `-f [--show] FILE`, `-d DEV...`,
// `-D`, `-a`, `-l`, `-j FILE`, `-c DEV`, `losetup DEV`, `-V`; setup with
// --offset, --sizelimit, -b, -P, --direct-io (LOOP_CONFIGURE, and util-linux's
// fallback to LOOP_SET_FD when the kernel refuses it with EINVAL); devices are
// walked in /sys/block's readdir order. Partitions themselves are not emulated
// (-P sets the flag).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { strerror, KernelError } from '../kernel/errno.js';
import { canDirectIo } from '../kernel/loop.js';
import { getoptLong, type LongOption } from './getopt.js';
import { KernelClient, KernelUnreachable, sharedKernelNote } from './client.js';

interface LoopInfo {
  number: number; file: string; sizeSectors: number; readOnly: boolean; autoclear: boolean;
  offset: number; sizelimit: number; partscan: boolean; directIo: boolean; logicalBlockSize: number;
}

/** longopts[] of losetup 2.38, with the short option each stands for. */
const LONG: Array<LongOption & { c: string }> = [
  { name: 'all', hasArg: false, c: 'a' }, { name: 'set-capacity', hasArg: true, c: 'c' }, { name: 'detach', hasArg: true, c: 'd' },
  { name: 'detach-all', hasArg: false, c: 'D' }, { name: 'find', hasArg: false, c: 'f' }, { name: 'nooverlap', hasArg: false, c: 'L' },
  { name: 'help', hasArg: false, c: 'h' }, { name: 'associated', hasArg: true, c: 'j' }, { name: 'json', hasArg: false, c: 'J' },
  { name: 'list', hasArg: false, c: 'l' }, { name: 'sector-size', hasArg: true, c: 'b' }, { name: 'noheadings', hasArg: false, c: 'n' },
  { name: 'offset', hasArg: true, c: 'o' }, { name: 'output', hasArg: true, c: 'O' }, { name: 'output-all', hasArg: false, c: 'output-all' },
  { name: 'sizelimit', hasArg: true, c: 'sizelimit' }, { name: 'partscan', hasArg: false, c: 'P' }, { name: 'read-only', hasArg: false, c: 'r' },
  { name: 'direct-io', hasArg: 'optional', c: 'direct-io' }, { name: 'raw', hasArg: false, c: 'raw' }, { name: 'show', hasArg: false, c: 'show' },
  { name: 'verbose', hasArg: false, c: 'v' }, { name: 'version', hasArg: false, c: 'V' },
];

/** excl[]: options that exclude each other, by row (err_exclusive_options). */
const EXCL: string[][] = [['D', 'a', 'c', 'd', 'f', 'j'], ['D', 'c', 'd', 'f', 'l'], ['D', 'c', 'd', 'f', 'O'], ['J', 'raw']];

/** An option's value as getopt_long returns it: its character, or the enum after CHAR_MAX for long-only ones. */
const LONG_ONLY = ['sizelimit', 'show', 'raw', 'direct-io', 'output-all'];
const code = (c: string) => (c.length === 1 ? c.charCodeAt(0) : 128 + LONG_ONLY.indexOf(c));

const COLUMNS = ['NAME', 'AUTOCLEAR', 'BACK-FILE', 'BACK-INO', 'BACK-MAJ:MIN', 'MAJ:MIN', 'OFFSET', 'PARTSCAN', 'RO', 'SIZELIMIT', 'DIO', 'LOG-SEC'];

const VERSION = 'losetup from util-linux 2.38.1';

/** The usage losetup 2.38.1 prints for --help (recorded: fixtures/losetup-args). */
const USAGE = "\nUsage:\n losetup [options] [<loopdev>]\n losetup [options] -f | <loopdev> <file>\n\nSet up and control loop devices.\n\nOptions:\n -a, --all                     list all used devices\n -d, --detach <loopdev>...     detach one or more devices\n -D, --detach-all              detach all used devices\n -f, --find                    find first unused device\n -c, --set-capacity <loopdev>  resize the device\n -j, --associated <file>       list all devices associated with <file>\n -L, --nooverlap               avoid possible conflict between devices\n\n -o, --offset <num>            start at offset <num> into file\n     --sizelimit <num>         device is limited to <num> bytes of the file\n -b, --sector-size <num>       set the logical sector size to <num>\n -P, --partscan                create a partitioned loop device\n -r, --read-only               set up a read-only loop device\n     --direct-io[=<on|off>]    open backing file with O_DIRECT\n     --show                    print device name after setup (with -f)\n -v, --verbose                 verbose mode\n\n -J, --json                    use JSON --list output format\n -l, --list                    list info about all or specified (default)\n -n, --noheadings              don't print headings for --list output\n -O, --output <cols>           specify columns to output for --list\n     --output-all              output all columns\n     --raw                     use raw --list output format\n\n -h, --help                    display this help\n -V, --version                 display version\n\nAvailable output columns:\n         NAME  loop device name\n    AUTOCLEAR  autoclear flag set\n    BACK-FILE  device backing file\n     BACK-INO  backing file inode number\n BACK-MAJ:MIN  backing file major:minor device number\n      MAJ:MIN  loop device major:minor number\n       OFFSET  offset from the beginning\n     PARTSCAN  partscan flag set\n           RO  read-only device\n    SIZELIMIT  size limit of the file in bytes\n          DIO  access backing file with direct-io\n      LOG-SEC  logical sector size in bytes\n\nFor more details see losetup(8).\n";

class Exit extends Error { constructor(readonly code: number) { super(''); } }

const warnx = (s: string) => process.stderr.write(`losetup: ${s}\n`);
function errx(s: string): never { warnx(s); throw new Exit(1); }

/** strtosize_or_err: a non-negative number with an optional K/M/G... suffix (KiB-based; KB for 1000s). */
function strtosize(s: string, what: string): number {
  const m = /^\s*([0-9]+)(?:([KMGTPEZY])(iB|B)?)?$/i.exec(s);
  if (!m) errx(`${what}: '${s}': Invalid argument`);
  const base = m[3] === 'B' ? 1000 : 1024;
  const exp = m[2] ? 'KMGTPEZY'.indexOf(m[2].toUpperCase()) + 1 : 0;
  return Number(m[1]) * base ** exp;
}

function loopNumber(dev: string): number | null {
  const m = /^\/dev\/loop([0-9]+)$/.exec(dev);
  return m ? Number(m[1]) : null;
}

/** printinfo: device, backing file, and the offset and size limit when set. */
function describe(l: LoopInfo): string {
  let st: fs.Stats | null = null;
  try { st = fs.statSync(l.file); } catch { /* deleted */ }
  return `/dev/loop${l.number}: [${st ? st.dev.toString().padStart(4, '0') : '0000'}]:${st?.ino ?? 0} (${l.file}${st ? '' : ' (deleted)'})` +
    (l.offset ? `, offset ${l.offset}` : '') + (l.sizelimit ? `, sizelimit ${l.sizelimit}` : '');
}

function column(l: LoopInfo, name: string): string {
  let st: fs.Stats | null = null;
  if (name.startsWith('BACK-')) { try { st = fs.statSync(l.file); } catch { /* deleted */ } }
  switch (name) {
    case 'NAME': return `/dev/loop${l.number}`;
    case 'AUTOCLEAR': return l.autoclear ? '1' : '0';
    case 'BACK-FILE': return l.file;
    case 'BACK-INO': return st ? String(st.ino) : '';
    case 'BACK-MAJ:MIN': return st ? `${Math.floor(st.dev / 256)}:${st.dev % 256}` : '';
    case 'MAJ:MIN': return `7:${l.number}`;
    case 'RO': return l.readOnly ? '1' : '0';
    case 'OFFSET': return String(l.offset);
    case 'SIZELIMIT': return String(l.sizelimit);
    case 'PARTSCAN': return l.partscan ? '1' : '0';
    case 'DIO': return l.directIo ? '1' : '0';
    case 'LOG-SEC': return String(l.logicalBlockSize);
    default: return '0';
  }
}

const RIGHT = new Set(['AUTOCLEAR', 'BACK-INO', 'OFFSET', 'PARTSCAN', 'RO', 'SIZELIMIT', 'DIO', 'LOG-SEC']);

function table(loops: LoopInfo[], cols: string[], noHeadings: boolean, raw: boolean, json: boolean): string {
  const rows = loops.map((l) => cols.map((c) => column(l, c)));
  if (json) {
    const num = new Set(['BACK-INO', 'OFFSET', 'SIZELIMIT', 'LOG-SEC']), bool = new Set(['AUTOCLEAR', 'PARTSCAN', 'RO', 'DIO']);
    const cell = (c: string, v: string) => (num.has(c) ? v || 'null' : bool.has(c) ? (v === '1' ? 'true' : 'false') : JSON.stringify(v));
    return `{\n   "loopdevices": [\n${rows.map((r) => `      {\n${r.map((v, i) => `         "${cols[i]!.toLowerCase()}": ${cell(cols[i]!, v)}`).join(',\n')}\n      }`).join(',').replace(/\},\s*\{/g, '},{')}\n   ]\n}\n`; // libsmartcols: '},{' between objects
  }
  const all = noHeadings ? rows : [cols, ...rows];
  if (raw) return all.map((r) => r.join(' ') + '\n').join('');
  if (!rows.length) return '';
  const w = cols.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 && !RIGHT.has(cols[i]!) ? c : RIGHT.has(cols[i]!) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' ').trimEnd() + '\n').join('');
}

/** warn_size: after a setup, a device (the size limit, else the file less the offset) that is not whole 512-byte sectors. */
function warnSize(name: string, file: string, sizelimit: number, offset: number): void {
  let size = sizelimit;
  if (!size) {
    let st: fs.Stats;
    try { st = fs.statSync(file); } catch { return; }
    if (st.isBlockDevice()) return;
    size = st.size - offset;
  }
  if (size < 512) warnx(`${name}: Warning: file is smaller than 512 bytes; the loop device may be useless or invisible for system tools.`);
  else if (size % 512) warnx(`${name}: Warning: file does not fit into a 512-byte sector; the end of the file will be ignored.`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await losetup(argv);
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof KernelUnreachable) { warnx(`cannot reach the emulated kernel: ${e.message}`); return 1; }
    throw e;
  }
}

async function losetup(argv: string[]): Promise<number> {
  const p = getoptLong('losetup', argv, 'ab:c:d:Dfhj:JlLno:O:PrvV', LONG);
  const seen = new Map<number, string>(); // excl row -> the option that took it
  let act: '' | 'create' | 'delete' | 'delete-all' | 'find' | 'show' | 'show-one' | 'capacity' | 'dio' | 'blocksize' = '';
  let file: string | undefined, outarg: string | undefined, list = false, json = false, raw = false, noHeadings = false;
  let offset = false, sizelimit = 0, showdev = false, readOnly = false, partscan = false, setDio = false, useDio = false, setBlocksize = false, noOverlap = false;
  let outputAll = false, offsetBytes = 0, blocksize = 0, dioArg = false;
  const devices: string[] = [];
  const longName = (c: string) => LONG.find((o) => o.c === c)!.name;
  for (const o of p.options) {
    const c = LONG.find((x) => x.name === o.key)?.c ?? o.key;
    // err_exclusive_options: rows and their entries are scanned only while <= c
    // (they are meant to be in ASCII order; 'O' after 'f' is never reached).
    for (let e = 0; e < EXCL.length && code(EXCL[e]![0]!) <= code(c); e++) {
      for (const x of EXCL[e]!) {
        if (code(x) > code(c)) break;
        if (x !== c) continue;
        const first = seen.get(e);
        if (first === undefined) seen.set(e, c);
        else if (first !== c) errx(`mutually exclusive arguments: ${EXCL[e]!.map((y) => `--${longName(y)}`).join(' ')}`);
        break;
      }
    }
    const v = o.value ?? '';
    switch (c) {
      case 'a': act = 'show'; break;
      case 'b': setBlocksize = true; blocksize = strtosize(v, 'failed to parse logical block size'); break;
      case 'c': act = 'capacity'; devices.push(await useDevice(v)); break;
      case 'd': act = 'delete'; devices.push(await useDevice(v)); break;
      case 'D': act = 'delete-all'; break;
      case 'f': act = 'find'; break;
      case 'J': json = true; break;
      case 'j': act = 'show'; file = v; break;
      case 'l': list = true; break;
      case 'L': noOverlap = true; break;
      case 'n': noHeadings = true; break;
      case 'raw': raw = true; break;
      case 'o': offsetBytes = strtosize(v, 'failed to parse offset'); offset = true; break;
      case 'O': outarg = v; list = true; break;
      case 'output-all': outputAll = true; break;
      case 'P': partscan = true; break;
      case 'r': readOnly = true; break;
      case 'show': showdev = true; break;
      case 'direct-io':
        setDio = useDio = true;
        if (o.value !== undefined) {
          if (v !== 'on' && v !== 'off') errx(`argument error: '${v}'`);
          useDio = v === 'on';
        }
        break;
      case 'v': break;
      case 'sizelimit': sizelimit = strtosize(v, 'failed to parse size'); break;
      case 'h': process.stdout.write(USAGE); return 0;
      case 'V': process.stdout.write(VERSION + '\n'); return 0;
    }
  }
  if (p.error) {
    process.stderr.write(p.error + "Try 'losetup --help' for more information.\n");
    return 1;
  }
  const args = p.args;
  let i = 0;
  if (argv.length === 0) { act = 'show'; list = true; }
  if (!act && argv.length === 1 && (raw || json)) { act = 'show'; list = true; }
  if (act === 'find' && i < args.length) {
    act = 'create';
    file = args[i++];
    if (i < args.length) errx('unexpected arguments');
  }
  if (list && !act && i === args.length) act = 'show';
  if (!act && i + 1 === args.length) {
    act = setDio ? 'dio' : setBlocksize ? 'blocksize' : 'show-one';
    // A_SET_DIRECT_IO: use_dio is what LOOP_SET_DIRECT_IO gets; lo_flags &= ~LO_FLAGS_DIRECT_IO (not a setup flag here).
    if (setDio) { dioArg = useDio; useDio = false; }
    devices.push(await useDevice(args[i++]!));
  }
  let setupDevice: string | undefined;
  if (!act) {
    act = 'create';
    if (i >= args.length) errx('no loop device specified');
    setupDevice = args[i++]!;
    if (i >= args.length) errx('no file specified');
    file = args[i++];
  }
  if (act !== 'create' && (sizelimit || readOnly || partscan || useDio || showdev)) errx('the options --{sizelimit,partscan,read-only,show} are allowed during loop device setup only');
  if (offset && act !== 'create' && (act !== 'show' || !file)) errx('the option --offset is not allowed in this context');
  const cols = outputAll ? COLUMNS : outarg !== undefined ? [] : ['NAME', 'SIZELIMIT', 'OFFSET', 'AUTOCLEAR', 'RO', 'BACK-FILE', 'DIO', 'LOG-SEC'];
  if (outarg !== undefined) {
    for (const name of outarg.split(',')) {
      const col = COLUMNS.find((x) => x === name.toUpperCase());
      if (!col) { warnx(`unknown column: ${name}`); return 1; }
      cols.push(col);
    }
  }

  const client = await KernelClient.connect();
  try {
    // loopcxt_next_from_sysfs: the used loop devices, in /sys/block's readdir order.
    const loops = async () => {
      const used = (await client.call<LoopInfo[]>('loopList')).result;
      const order = (await client.call<string[]>('sysBlock')).result;
      return order.flatMap((name) => used.filter((l) => `loop${l.number}` === name));
    };
    const fail = (what: string, e: unknown): number => {
      if (!(e instanceof KernelError)) throw e;
      warnx(`${what}: ${strerror(e.errno)}`);
      const note = e.errno === 'EBUSY' ? sharedKernelNote() : undefined;
      if (note) process.stderr.write(note + '\n');
      return 1;
    };
    switch (act) {
      case 'create': {
        const abs = path.resolve(file!);
        // errpre: the device when it could not be opened, else the file.
        const n0 = setupDevice === undefined ? undefined : loopNumber(setupDevice);
        if (setupDevice !== undefined && n0 === null) { warnx(`${setupDevice}: failed to set up loop device: No such file or directory`); return 1; }
        if (file === '') {
          // canonicalize_path("") fails without an errno of its own: warn() prints the one left
          // behind, EEXIST from LOOP_CTL_ADD of a device that exists, else a failed locale lookup's ENOENT.
          const exists = n0 !== undefined && n0 !== null && (await client.call<boolean>('loopExists', { number: n0 })).result;
          warnx(`: failed to use backing file: ${exists ? 'File exists' : 'No such file or directory'}`);
          return 1;
        }
        if (!fs.existsSync(abs)) { warnx(`${file}: failed to set up loop device: No such file or directory`); return 1; }
        if (noOverlap) {
          const same = (await loops()).find((l) => l.file === abs);
          if (same) {
            if (same.readOnly !== readOnly) errx(`${file}: overlapping ${same.readOnly ? 'read-only ' : ''}loop device exists`);
            if (setupDevice === undefined || loopNumber(setupDevice) === same.number) {
              if (showdev) process.stdout.write(`/dev/loop${same.number}\n`);
              return 0;
            }
            errx(`${file}: overlapping loop device exists`);
          }
        }
        const n = setupDevice === undefined ? undefined : loopNumber(setupDevice);
        if (setupDevice !== undefined && n === null) { warnx(`${setupDevice}: failed to set up loop device: No such file or directory`); return 1; }
        // loopcxt_setup_device: the backing file is opened here, with O_DIRECT for --direct-io (a file system without it refuses).
        if (useDio && !canDirectIo(abs, readOnly)) { warnx(`${file}: failed to set up loop device: Invalid argument`); return 1; }
        try {
          let number: number;
          try {
            number = (await client.call<{ number: number }>('loopAttach', { number: n ?? undefined, file: abs, readOnly, offset: offsetBytes, sizelimit, blockSize: blocksize, directIo: useDio, partscan })).result.number;
          } catch (e) {
            // LOOP_CONFIGURE refused with EINVAL (as by a kernel without it): LOOP_SET_FD, then the block size and status one by one.
            if (!(e instanceof KernelError) || e.errno !== 'EINVAL') throw e;
            number = (await client.call<{ number: number }>('loopAttach', { number: n ?? undefined, file: abs, readOnly })).result.number;
            try {
              if (blocksize) await client.call('loopSetBlockSize', { number, blockSize: blocksize });
            } catch (e2) {
              await client.call('loopDetach', { number }).catch(() => undefined);
              throw e2;
            }
          }
          if (showdev) process.stdout.write(`/dev/loop${number}\n`);
        } catch (e) {
          return fail(`${file}: failed to set up loop device`, e);
        }
        warnSize(file!, abs, sizelimit, offsetBytes);
        return 0;
      }
      case 'delete': {
        let rc = 0;
        for (const dev of [...devices, ...args.slice(i)]) {
          const n = loopNumber(dev);
          try {
            if (n === null || !(await client.call<boolean>('loopExists', { number: n })).result) { warnx(`${dev}: failed to use device: No such device`); rc = 1; continue; }
            await client.call('loopDetach', { number: n });
          } catch (e) {
            rc = fail(`${dev}: detach failed`, e);
          }
        }
        return rc;
      }
      case 'delete-all':
        for (const l of await loops()) await client.call('loopDetach', { number: l.number }).catch(() => undefined);
        return 0;
      case 'find': {
        const all = await loops();
        let n = 0;
        while (all.some((l) => l.number === n)) n++;
        process.stdout.write(`/dev/loop${n}\n`);
        return 0;
      }
      case 'show': {
        let ls = await loops();
        if (file !== undefined) {
          let st: fs.Stats | undefined;
          try { st = fs.statSync(file); } catch { /* none */ }
          // loopcxt_is_used: the same file, and with -o the same offset.
          ls = ls.filter((l) => { try { const b = fs.statSync(l.file); return st !== undefined && b.ino === st.ino && b.dev === st.dev && (!offset || l.offset === offsetBytes); } catch { return false; } });
        }
        process.stdout.write(list ? table(ls, cols, noHeadings, raw, json) : ls.map((l) => describe(l) + '\n').join(''));
        return 0;
      }
      case 'show-one': case 'capacity': case 'dio': case 'blocksize': {
        const dev = devices[0]!;
        const l = (await loops()).find((x) => x.number === loopNumber(dev));
        if (!l) {
          const what = { 'show-one': dev, capacity: `${dev}: set capacity failed`, dio: `${dev}: set direct io failed`, blocksize: `${dev}: set logical block size failed` }[act];
          warnx(`${what}: No such device or address`);
          return 1;
        }
        if (act === 'show-one') process.stdout.write(list ? table([l], cols, noHeadings, raw, json) : describe(l) + '\n');
        try {
          if (act === 'capacity') await client.call('loopSetCapacity', { number: l.number });
          if (act === 'dio') await client.call('loopSetDirectIo', { number: l.number, on: dioArg });
          if (act === 'blocksize') await client.call('loopSetBlockSize', { number: l.number, blockSize: blocksize });
        } catch (e) {
          return fail(act === 'capacity' ? `${dev}: set capacity failed` : act === 'dio' ? `${dev}: set direct io failed` : `${dev}: set logical block size failed`, e);
        }
        return 0;
      }
    }
    warnx('bad usage');
    process.stderr.write("Try 'losetup --help' for more information.\n");
    return 1;
  } finally {
    client.close();
  }

  /** is_loopdev: a /dev/loopN the kernel has; else "failed to use device: No such device". */
  async function useDevice(dev: string): Promise<string> {
    const n = loopNumber(dev);
    let ok = false;
    if (n !== null) {
      const c = await KernelClient.connect();
      try { ok = (await c.call<boolean>('loopExists', { number: n })).result; } finally { c.close(); }
    }
    if (!ok) errx(`${dev}: failed to use device: No such device`);
    return dev;
  }
}
