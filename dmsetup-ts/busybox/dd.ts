// BusyBox 1.35's dd applet (coreutils/dd.c) where an operand names a block
// device of the emulated kernel: the same records, the same messages, the
// same failures, with the device opened in the kernel process as a file
// (kernel/blkdev-file.ts) and the rest of the world as it is. Without a
// device operand it is BusyBox's own dd (or this machine's) that runs.
//
// As the VM's busybox (no FEATURE_DD_THIRD_STATUS_LINE) it ends with
// "N+M records in" / "N+M records out" only. Its buffers come from malloc
// below a page and from mmap from a page on, so with iflag/oflag=direct a
// block under 4096 bytes is refused (EINVAL: the buffer is not 512-aligned)
// and dd goes on without O_DIRECT, through the page cache.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { KernelClient } from '../client.js';
import { KernelError } from '../../kernel/errno.js';
import { Applet, AppletExit, CWBKMG_SUFFIXES, xatoullRangeSfx, xatoullSfx } from './libbb.js';
import { isKernelDevicePath } from './devices.js';

const applet = new Applet('dd', `[if=FILE] [of=FILE] [ibs=N obs=N/bs=N] [count=N] [skip=N] [seek=N]
	[conv=notrunc|noerror|sync|fsync]
	[iflag=skip_bytes|count_bytes|fullblock|direct] [oflag=seek_bytes|append|direct]`, `

Copy a file with converting and formatting

	if=FILE		Read from FILE instead of stdin
	of=FILE		Write to FILE instead of stdout
	bs=N		Read and write N bytes at a time
	ibs=N		Read N bytes at a time
	obs=N		Write N bytes at a time
	count=N		Copy only N input blocks
	skip=N		Skip N input blocks
	seek=N		Skip N output blocks
	conv=notrunc	Don't truncate output file
	conv=noerror	Continue after read errors
	conv=sync	Pad blocks with zeros
	conv=fsync	Physically write data out before finishing
	conv=swab	Swap every pair of bytes
	iflag=skip_bytes	skip=N is in bytes
	iflag=count_bytes	count=N is in bytes
	oflag=seek_bytes	seek=N is in bytes
	iflag=direct	O_DIRECT input
	oflag=direct	O_DIRECT output
	iflag=fullblock	Read full blocks
	oflag=append	Open output in append mode
	status=noxfer	Suppress rate output
	status=none	Suppress all output

N may be suffixed by c (1), w (2), b (512), kB (1000), k (1024), MB, M, GB, G`);

const PAGE_SIZE = 4096;
const SSIZE_HALF = (1n << 63n) - 1n;
const KEYWORDS = ['bs', 'count', 'seek', 'skip', 'if', 'of', 'status', 'ibs', 'obs', 'conv', 'iflag', 'oflag'] as const;
const CONV = ['notrunc', 'sync', 'noerror', 'fsync', 'swab'] as const;
const IFLAG = ['skip_bytes', 'count_bytes', 'fullblock', 'direct'] as const;
const OFLAG = ['seek_bytes', 'append', 'direct'] as const;

interface Options {
  ibs: number; obs: number; count?: bigint; seek: bigint; skip: bigint;
  infile?: string; outfile?: string;
  conv: Set<string>; iflag: Set<string>; oflag: Set<string>; statusNone: boolean;
}

/** parse_comma_flags. */
function commaFlags(val: string, words: readonly string[], what: string): string[] {
  return val.split(',').map((w) => (words.includes(w) ? w : applet.invalidArgTo(w, what)));
}

function parse(argv: string[]): Options {
  const o: Options = { ibs: 512, obs: 512, seek: 0n, skip: 0n, conv: new Set(), iflag: new Set(), oflag: new Set(), statusNone: false };
  const size = (v: string) => Number(xatoullRangeSfx(applet, v, 1n, SSIZE_HALF, CWBKMG_SUFFIXES));
  for (const arg of argv) {
    if (arg === '--') continue;
    const eq = arg.indexOf('=');
    if (eq < 0) applet.showUsage();
    const key = arg.slice(0, eq) as (typeof KEYWORDS)[number];
    const val = arg.slice(eq + 1);
    if (!KEYWORDS.includes(key)) applet.showUsage();
    switch (key) {
      case 'ibs': o.ibs = size(val); break;
      case 'obs': o.obs = size(val); break;
      case 'conv': for (const f of commaFlags(val, CONV, 'conv')) o.conv.add(f); break;
      case 'iflag': for (const f of commaFlags(val, IFLAG, 'iflag')) o.iflag.add(f); break;
      case 'oflag': for (const f of commaFlags(val, OFLAG, 'oflag')) o.oflag.add(f); break;
      case 'bs': o.ibs = o.obs = size(val); break;
      case 'count': o.count = xatoullSfx(applet, val, CWBKMG_SUFFIXES); break;
      case 'seek': o.seek = xatoullSfx(applet, val, CWBKMG_SUFFIXES); break;
      case 'skip': o.skip = xatoullSfx(applet, val, CWBKMG_SUFFIXES); break;
      case 'if': o.infile = val; break;
      case 'of': o.outfile = val; break;
      case 'status':
        if (val === 'none') o.statusNone = true;
        else if (val !== 'noxfer') applet.invalidArgTo(val, 'status');
        break;
    }
  }
  return o;
}

/** A read: the bytes, or the errno of read(2). */
type ReadResult = Buffer | string;

/** One end of the copy: an open file as dd's fd 0 or fd 1. */
interface End {
  readonly name: string;
  read(len: number, aligned: boolean): Promise<ReadResult>;
  /** One write(2): bytes written, or an errno. */
  write(buf: Buffer, aligned: boolean): Promise<number | string>;
  /** lseek(fd, off, SEEK_CUR): undefined, or its errno. */
  seekBy(off: bigint): string | undefined;
  ftruncate(len: bigint): string | undefined;
  /** O_DIRECT is set (so clear_O_DIRECT applies). */
  direct: boolean;
  clearDirect(): Promise<void>;
  fsync(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** A block device of the emulated kernel, opened in the kernel process. */
class DeviceEnd implements End {
  private pos = 0;
  constructor(readonly name: string, private readonly client: KernelClient, private readonly fd: number, private readonly size: number, public direct: boolean) {}

  static async open(client: KernelClient, name: string, write: boolean, direct: boolean): Promise<DeviceEnd | string> {
    try {
      const { fd, size } = (await client.call<{ fd: number; size: number }>('bdevOpen', { path: name, write, direct })).result;
      return new DeviceEnd(name, client, fd, size, direct);
    } catch (e) {
      return (e as { errno?: string }).errno ?? 'EIO';
    }
  }

  async read(len: number, aligned: boolean): Promise<ReadResult> {
    const reply = await this.client.call<{ error?: string }>('bdevRead', { fd: this.fd, pos: this.pos, len, aligned });
    if (reply.result.error) return reply.result.error;
    const data = reply.payload ?? Buffer.alloc(0);
    this.pos += data.length;
    return data;
  }

  async write(buf: Buffer, aligned: boolean): Promise<number | string> {
    const res = (await this.client.call<{ bytes?: number; error?: string }>('bdevWrite', { fd: this.fd, pos: this.pos, aligned }, buf)).result;
    if (res.error) return res.error;
    this.pos += res.bytes!;
    return res.bytes!;
  }

  /** fixed_size_llseek: nowhere before the start or past the end. */
  seekBy(off: bigint): string | undefined {
    const to = BigInt(this.pos) + off;
    if (to < 0n || to > BigInt(this.size)) return 'EINVAL';
    this.pos = Number(to);
    return undefined;
  }

  ftruncate(): string | undefined { return 'EINVAL'; }

  async clearDirect(): Promise<void> {
    await this.client.call('bdevSetDirect', { fd: this.fd, direct: false });
    this.direct = false;
  }

  async fsync(): Promise<string | undefined> {
    return (await this.client.call<{ error?: string }>('bdevFsync', { fd: this.fd })).result.error ?? undefined;
  }

  async close(): Promise<void> { await this.client.call('bdevClose', { fd: this.fd }); }
}

/** A file of this machine (or dd's standard input or output). */
class HostEnd implements End {
  /**
   * The position dd reads or writes at: a file dd opened starts at 0; an
   * inherited descriptor, a pipe and a character device use their own (null).
   */
  private pos: number | null;
  /** lseek works: not on a pipe, a socket or a FIFO (ESPIPE). */
  private readonly seekable: boolean;

  constructor(readonly name: string, private readonly fd: number, public direct: boolean, append: boolean, private readonly owned: boolean) {
    const st = fs.fstatSync(fd);
    this.seekable = st.isFile() || st.isBlockDevice() || st.isCharacterDevice();
    this.pos = owned && !append && (st.isFile() || st.isBlockDevice()) ? 0 : null;
  }

  async read(len: number): Promise<ReadResult> {
    const buf = Buffer.alloc(len);
    for (;;) {
      try {
        const n = fs.readSync(this.fd, buf, 0, len, this.pos);
        if (this.pos !== null) this.pos += n;
        return buf.subarray(0, n);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
        if (code === 'EAGAIN') { await new Promise((r) => setTimeout(r, 1)); continue; }
        return code;
      }
    }
  }

  async write(buf: Buffer): Promise<number | string> {
    try {
      const n = fs.writeSync(this.fd, buf, 0, buf.length, this.pos);
      if (this.pos !== null) this.pos += n;
      return n;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'EIO';
    }
  }

  seekBy(off: bigint): string | undefined {
    if (!this.seekable) return 'ESPIPE';
    if (this.pos === null) return undefined; // /dev/zero, /dev/null, an inherited file: not followed
    const to = BigInt(this.pos) + off;
    if (to < 0n) return 'EINVAL';
    this.pos = Number(to);
    return undefined;
  }

  ftruncate(len: bigint): string | undefined {
    try {
      fs.ftruncateSync(this.fd, Number(len));
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'EIO';
    }
  }

  async clearDirect(): Promise<void> { this.direct = false; }

  async fsync(): Promise<string | undefined> {
    try { fs.fsyncSync(this.fd); return undefined; } catch (e) { return (e as NodeJS.ErrnoException).code ?? 'EIO'; }
  }

  async close(): Promise<void> { if (this.owned) fs.closeSync(this.fd); }
}

/**
 * A regular file in /dev/mapper (where /dev is the VM's devtmpfs), opened as
 * open(2) would: with O_CREAT one is made where no node is; O_DIRECT then
 * fails (tmpfs has no direct I/O in 6.1) after the file is made. Its
 * contents are copied to a scratch file and back at close. undefined: not a
 * /dev/mapper name, or no such file and no O_CREAT.
 */
async function devMapperFile(client: KernelClient, p: string, flags: number, direct: boolean, scratchFor: (name: string) => string): Promise<End | string | undefined> {
  const m = /^\/dev\/mapper\/([^/]+)$/.exec(p);
  if (!m) return undefined;
  const name = m[1]!;
  let data: string;
  try {
    data = (await client.call<string>(flags & O_CREAT ? 'devfsCreat' : 'devfsRead', { name })).result;
  } catch (e) {
    if (e instanceof KernelError) return flags & O_CREAT ? e.errno : undefined;
    throw e;
  }
  if (direct) return 'EINVAL';
  const scratch = scratchFor(p);
  fs.writeFileSync(scratch, flags & O_TRUNC ? Buffer.alloc(0) : Buffer.from(data, 'base64'));
  const h = openHost(scratch, flags & ~O_CREAT & ~O_TRUNC);
  if (typeof h === 'string') return h;
  if (!(flags & O_WRONLY)) return Object.assign(h, { name: p });
  const close = h.close.bind(h);
  return Object.assign(h, {
    name: p,
    close: async () => {
      await close();
      await client.call('devfsWrite', { name, data: fs.readFileSync(scratch).toString('base64') });
    },
  });
}

/** A file's O_ flags as open(2) takes them. */
const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_APPEND, O_DIRECT } = fs.constants;

function openHost(name: string, flags: number): HostEnd | string {
  try {
    return new HostEnd(name, fs.openSync(name, flags, 0o666), (flags & O_DIRECT) !== 0, (flags & O_APPEND) !== 0, true);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

/** Without a device operand: BusyBox's own dd as the scenario's userland has it, else this machine's dd. */
function runRealDd(argv: string[]): number {
  const busybox = process.env.DMSETUP_TS_BUSYBOX;
  const [cmd, args] = busybox ? [busybox, ['dd', ...argv]] : ['/bin/dd', argv];
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.error) applet.perrorDie(`can't execute '${cmd}'`, (r.error as NodeJS.ErrnoException).code ?? 'EIO');
  return r.status ?? 1;
}

export function main(argv: string[]): Promise<number> {
  return applet.run(async () => {
    const o = parse(argv);
    const devIn = o.infile !== undefined && isKernelDevicePath(o.infile);
    const devOut = o.outfile !== undefined && isKernelDevicePath(o.outfile);
    if (!devIn && !devOut) return runRealDd(argv);
    const client = await KernelClient.connect();
    let scratch: string | undefined;
    try {
      return await copy(o, client, (name) => {
        // No such device: in the VM, O_CREAT makes a regular file in /dev; here one of our own.
        scratch ??= fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-dd-'));
        return path.join(scratch, path.basename(name));
      });
    } finally {
      client.close();
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
}

async function copy(o: Options, client: KernelClient, scratchFor: (name: string) => string): Promise<number> {
  const twoBufs = o.ibs !== o.obs;
  // alloc_buf: mmap (page-aligned) from a page up, malloc below.
  const ibufAligned = o.ibs >= PAGE_SIZE;
  const obufAligned = twoBufs ? o.obs >= PAGE_SIZE : ibufAligned;
  let inFull = 0, inPart = 0, outFull = 0, outPart = 0;
  const status = () => { if (!o.statusNone) process.stderr.write(`${inFull}+${inPart} records in\n${outFull}+${outPart} records out\n`); };
  const dieOn = (end: End, errno: string): never => applet.perrorDie(end.name, errno);

  let input: End;
  if (o.infile === undefined) input = new HostEnd('standard input', 0, false, false, false);
  else {
    const direct = o.iflag.has('direct');
    let r: End | string = isKernelDevicePath(o.infile) ? await DeviceEnd.open(client, o.infile, false, direct) : openHost(o.infile, O_RDONLY | (direct ? O_DIRECT : 0));
    if (r === 'ENOENT') r = await devMapperFile(client, o.infile, O_RDONLY, direct, scratchFor) ?? r;
    if (typeof r === 'string') return applet.perrorDie(`can't open '${o.infile}'`, r);
    input = r;
  }
  let output: End;
  if (o.outfile === undefined) output = new HostEnd('standard output', 1, false, false, false);
  else {
    const direct = o.oflag.has('direct');
    let r: End | string;
    if (isKernelDevicePath(o.outfile)) {
      r = await DeviceEnd.open(client, o.outfile, true, direct);
      if (r === 'ENOENT') {
        const trunc = o.seek === 0n && !o.conv.has('notrunc') ? O_TRUNC : 0;
        r = await devMapperFile(client, o.outfile, O_WRONLY | O_CREAT | trunc, direct, scratchFor) ??
          (() => { const h = openHost(scratchFor(o.outfile!), O_WRONLY | O_CREAT); return typeof h === 'string' ? h : Object.assign(h, { name: o.outfile! }); })();
      }
    } else {
      let flags = O_WRONLY | O_CREAT | (direct ? O_DIRECT : 0) | (o.oflag.has('append') ? O_APPEND : 0);
      if (o.seek === 0n && !o.conv.has('notrunc')) flags |= O_TRUNC;
      r = openHost(o.outfile, flags);
    }
    if (typeof r === 'string') return applet.perrorDie(`can't open '${o.outfile}'`, r);
    output = r;
    if (o.seek !== 0n && !o.conv.has('notrunc')) {
      const blocksz = o.oflag.has('seek_bytes') ? 1n : BigInt(o.obs);
      const err = output.ftruncate(o.seek * blocksz);
      // Only a regular file (or a directory) makes a failed ftruncate fatal.
      if (err && output instanceof HostEnd && err !== 'EINVAL') dieOn(output, err);
    }
  }

  /** dd_read: safe_read (full_read with iflag=fullblock), once more without O_DIRECT after EINVAL. */
  const ddRead = async (len: number): Promise<ReadResult> => {
    for (;;) {
      let r: ReadResult;
      if (o.iflag.has('fullblock')) {
        const parts: Buffer[] = [];
        let have = 0;
        r = Buffer.alloc(0);
        while (have < len) {
          const p = await input.read(len - have, ibufAligned);
          if (typeof p === 'string') { r = have ? Buffer.concat(parts) : p; break; }
          if (p.length === 0) break;
          parts.push(p);
          have += p.length;
        }
        if (typeof r !== 'string') r = Buffer.concat(parts);
      } else r = await input.read(len, ibufAligned);
      if (typeof r === 'string' && r === 'EINVAL' && input.direct) { await input.clearDirect(); continue; }
      return r;
    }
  };

  /** write_and_stats: full_write, the counts, or "error writing" and true. */
  const writeAndStats = async (buf: Buffer, aligned: boolean): Promise<boolean> => {
    let n: number | string;
    for (;;) {
      n = await fullWrite(buf, aligned);
      if (typeof n === 'string' && n === 'EINVAL' && output.direct) { await output.clearDirect(); continue; }
      break;
    }
    if (n === o.obs) { outFull++; return false; }
    if (n === buf.length) { outPart++; return false; }
    applet.perror(`error writing '${output.name}'`, typeof n === 'string' ? n : lastWriteErrno);
    return true;
  };
  let lastWriteErrno = '';
  /** full_write: write until all is written; what was written, or the errno if nothing was. */
  const fullWrite = async (buf: Buffer, aligned: boolean): Promise<number | string> => {
    let total = 0;
    while (total < buf.length) {
      const w = await output.write(buf.subarray(total), aligned);
      if (typeof w === 'string') { lastWriteErrno = w; return total ? total : w; }
      total += w;
    }
    return total;
  };

  let count = o.count;
  let obuf = Buffer.alloc(0);
  try {
    if (o.skip !== 0n) {
      const blocksz = o.iflag.has('skip_bytes') ? 1 : o.ibs;
      if (input.seekBy(o.skip * BigInt(blocksz))) {
        let skip = o.skip;
        do {
          const n = await ddRead(blocksz);
          if (typeof n === 'string') dieOn(input, n);
          if (n.length === 0) break;
        } while (--skip !== 0n);
      }
    }
    if (o.seek !== 0n) {
      const blocksz = o.oflag.has('seek_bytes') ? 1 : o.obs;
      const err = output.seekBy(o.seek * BigInt(blocksz));
      if (err) dieOn(output, err);
    }
    for (;;) {
      let want = o.ibs;
      if (count !== undefined) {
        if (count === 0n) break;
        if (o.iflag.has('count_bytes') && count < BigInt(o.ibs)) want = Number(count);
      }
      const r = await ddRead(want);
      let data: Buffer;
      if (typeof r === 'string') {
        if (!o.conv.has('noerror')) dieOn(input, r);
        applet.perror(input.name, r);
        input.seekBy(BigInt(o.ibs));
        data = Buffer.alloc(0);
      } else {
        if (r.length === 0) break;
        data = r;
      }
      if (o.conv.has('swab')) data = swab(data);
      if (count !== undefined) count -= o.iflag.has('count_bytes') ? BigInt(data.length) : 1n;
      if (data.length === o.ibs) inFull++;
      else {
        inPart++;
        if (o.conv.has('sync')) data = Buffer.concat([data, Buffer.alloc(o.ibs - data.length)]);
      }
      if (twoBufs) {
        obuf = Buffer.concat([obuf, data]);
        while (obuf.length >= o.obs) {
          if (await writeAndStats(obuf.subarray(0, o.obs), obufAligned)) return fail();
          obuf = obuf.subarray(o.obs);
        }
      } else if (await writeAndStats(data, ibufAligned)) return fail();
    }
    if (o.conv.has('fsync')) {
      const err = await output.fsync();
      if (err) dieOn(output, err);
    }
    if (obuf.length && await writeAndStats(obuf, obufAligned)) return fail();
    await input.close();
    await output.close();
  } catch (e) {
    if (e instanceof AppletExit) { await closeQuietly(input, output); }
    throw e;
  }
  status();
  return 0;

  async function fail(): Promise<number> {
    status();
    await closeQuietly(input, output);
    return 1;
  }
}

/** The files a dying dd leaves behind are closed by the kernel at exit. */
async function closeQuietly(...ends: End[]): Promise<void> {
  for (const e of ends) await e.close().catch(() => undefined);
}

/** conv=swab: every pair of bytes swapped; an odd last byte stays. */
function swab(data: Buffer): Buffer {
  const out = Buffer.from(data);
  for (let i = 0; i + 1 < out.length; i += 2) { const t = out[i]!; out[i] = out[i + 1]!; out[i + 1] = t; }
  return out;
}
