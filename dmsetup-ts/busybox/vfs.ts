// dmsetup-ts busybox vfs APPLET ARGS: a BusyBox applet that reads files (cat,
// ls, md5sum, cmp, od, ...) with the paths of the emulated kernel's /dev,
// /sys and /proc among its arguments. Those paths do not exist on this
// machine, so each is copied first into a private folder as the VM would show
// it (kernel/vfs.ts: a directory's entries, a sysfs attribute's text, a block
// device's bytes read through the page cache, a link), the applet runs on the
// copies, and the folder's name is taken back out of what it prints.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { KernelClient } from '../client.js';
import { scriptCommand } from '../executable.js';
import { isVirtualPath, type VfsNode } from '../../kernel/vfs.js';

/** Bytes of a block device per read request. */
const CHUNK = 8 << 20;

async function lookup(client: KernelClient, p: string): Promise<VfsNode | undefined> {
  try {
    return (await client.call<VfsNode>('vfsLookup', { path: p })).result;
  } catch {
    return undefined;
  }
}

/** A block device's whole content, read as cat reads it (through the page cache); null if it cannot be opened. */
async function deviceBytes(client: KernelClient, p: string, out: string): Promise<boolean> {
  let fd: number, size: number;
  try {
    ({ fd, size } = (await client.call<{ fd: number; size: number }>('bdevOpen', { path: p, write: false, direct: false })).result);
  } catch {
    return false;
  }
  const file = fs.openSync(out, 'w');
  try {
    for (let pos = 0; pos < size;) {
      const reply = await client.call<{ error?: string }>('bdevRead', { fd, pos, len: Math.min(CHUNK, size - pos), aligned: true });
      if (reply.result.error || !reply.payload?.length) break; // what was read before an error is what cat printed
      fs.writeSync(file, reply.payload);
      pos += reply.payload.length;
    }
  } finally {
    fs.closeSync(file);
    await client.call('bdevClose', { fd });
  }
  return true;
}

/** Makes shadow + p as the node at p is (a directory with its entries one level down). */
async function materialize(client: KernelClient, shadow: string, p: string, depth = 0): Promise<void> {
  const to = path.join(shadow, p);
  const node = await lookup(client, p);
  if (!node) {
    // An entry its directory lists but the emulation does not model: there, if empty.
    if (depth > 0) fs.writeFileSync(to, '');
    return;
  }
  fs.mkdirSync(path.dirname(to), { recursive: true });
  switch (node.kind) {
    case 'char': fs.writeFileSync(to, ''); break;
    case 'file': fs.writeFileSync(to, node.text); break;
    case 'link': fs.symlinkSync(node.target, to); break;
    case 'block':
      if (depth === 0) await deviceBytes(client, node.path, to);
      else fs.writeFileSync(to, '');
      break;
    case 'dir':
      fs.mkdirSync(to, { recursive: true });
      if (depth === 0) for (const e of node.entries) await materialize(client, shadow, path.posix.join(p, e), depth + 1);
      break;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [applet, ...args] = argv;
  const busybox = process.env.DMSETUP_TS_BUSYBOX;
  if (!applet || !busybox) {
    process.stderr.write('Usage: dmsetup-ts busybox vfs APPLET [ARGS]... (with DMSETUP_TS_BUSYBOX set)\n');
    return 1;
  }
  const shadow = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-vfs-'));
  try {
    const client = await KernelClient.connect();
    try {
      for (const a of args) if (a.startsWith('/') && isVirtualPath(a)) await materialize(client, shadow, path.posix.normalize(a));
    } finally {
      client.close();
    }
    const mapped = args.map((a) => (a.startsWith('/') && isVirtualPath(a) ? shadow + a : a));
    const child = spawnApplet(busybox, applet, args, mapped, shadow);
    const unshadow = (b: Buffer) => Buffer.from(b.toString('latin1').split(shadow).join(''), 'latin1');
    // What the applet writes goes out in the order it wrote it, the folder's
    // name taken out; a stream holds back only a tail that could begin that
    // name, until more comes or the other stream writes.
    const relays: Array<() => void> = [];
    const relay = (from: NodeJS.ReadableStream, to: NodeJS.WritableStream) => {
      let held: Buffer = Buffer.alloc(0);
      const flush = () => { if (held.length) to.write(unshadow(held)); held = Buffer.alloc(0); };
      from.on('data', (c: Buffer) => {
        for (const other of relays) if (other !== flush) other();
        held = held.length ? Buffer.concat([held, c]) : c;
        let keep = Math.min(held.length, shadow.length - 1);
        while (keep > 0 && !shadow.startsWith(held.subarray(held.length - keep).toString('latin1'))) keep--;
        const tail = Buffer.from(held.subarray(held.length - keep));
        held = held.subarray(0, held.length - keep);
        flush();
        held = tail;
      });
      relays.push(flush);
    };
    const err = (child.stdio[3] ?? child.stderr) as NodeJS.ReadableStream | null;
    const out: Buffer[] = [];
    // Apart from stderr and not on a terminal, stdout goes to a file or to a
    // pipe whose reader, on the VM's one CPU, runs once the applet is done.
    const atEnd = err !== null && !process.stdout.isTTY;
    if (atEnd) child.stdout!.on('data', (c: Buffer) => out.push(c));
    else relay(child.stdout!, process.stdout);
    if (err) relay(err, process.stderr);
    const status = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
    for (const flush of relays) flush();
    if (atEnd) process.stdout.write(unshadow(Buffer.concat(out)));
    return status;
  } finally {
    fs.rmSync(shadow, { recursive: true, force: true });
  }
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The applet on the copies. When our stdout is a terminal (the VM's console),
 * so is the applet's: under script(1), on a pseudo-terminal of its own, so
 * that stdio line-buffers its stdout as on the VM. When our stdout and stderr
 * are one file (a terminal, `2>&1`), so are the applet's, and what it writes
 * stays in its order; else its stderr comes apart (fd 3 under script).
 */
function spawnApplet(busybox: string, applet: string, args: readonly string[], mapped: readonly string[], shadow: string): ChildProcess {
  const merged = sameFile(1, 2);
  const script = process.stdout.isTTY && !args.includes('-') ? scriptCommand() : undefined;
  if (!script) {
    if (!merged) return spawn(busybox, [applet, ...mapped], { stdio: ['inherit', 'pipe', 'pipe'] });
    return spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', busybox, applet, ...mapped], { stdio: ['inherit', 'pipe', 'ignore'] });
  }
  const env = { ...process.env };
  const columns = lsColumns(applet, args, mapped, shadow);
  if (columns !== undefined) env.COLUMNS = String(columns);
  const cmd = `exec ${[busybox, applet, ...mapped].map(q).join(' ')}${merged ? '' : ' 2>&3'}`;
  return spawn(script, ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'inherit', merged ? 'ignore' : 'pipe'], env });
}

/** Whether two file descriptors are one open file (a terminal, a pipe, a file). */
function sameFile(a: number, b: number): boolean {
  try {
    const [x, y] = [fs.fstatSync(a), fs.fstatSync(b)];
    return x.dev === y.dev && x.ino === y.ino && x.rdev === y.rdev;
  } catch {
    return false;
  }
}

/**
 * ls lays files named on its command line out in columns of the longest
 * name's width; the copies' names are longer by the folder's. A terminal
 * width (COLUMNS) that gives as many columns for the longer names as the
 * VM's 80 gives for the real ones keeps the layout (only where every name is
 * a copy's: no directories, whose entries carry no folder name).
 */
function lsColumns(applet: string, args: readonly string[], mapped: readonly string[], shadow: string): number | undefined {
  if (applet !== 'ls') return undefined;
  // The names it lists: those that exist (a missing one is only an error).
  const listed = args.map((a, i) => [a, mapped[i]!] as const).filter(([a, m]) => !a.startsWith('-') && exists(m));
  const names = listed.map(([a]) => a);
  if (names.length < 2 || listed.some(([, m]) => !m.startsWith(shadow) || isDirectory(m))) return undefined;
  const width = Number(process.env.COLUMNS) > 1 ? Number(process.env.COLUMNS) : 80;
  const longest = Math.max(...names.map((n) => n.length));
  return Math.max(1, Math.floor(width / (longest + 2))) * (longest + shadow.length + 2);
}

function exists(f: string): boolean {
  return fs.existsSync(f) || isLink(f);
}

function isLink(f: string): boolean {
  try {
    return fs.lstatSync(f).isSymbolicLink();
  } catch {
    return false;
  }
}

function isDirectory(f: string): boolean {
  try {
    return fs.statSync(f).isDirectory();
  } catch {
    return false;
  }
}
