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
import { spawn } from 'node:child_process';
import { KernelClient } from '../client.js';
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
    // On the VM's console ls lists in columns; through our pipe it would not.
    if (applet === 'ls' && process.stdout.isTTY) mapped.unshift('-C');
    const child = spawn(busybox, [applet, ...mapped], { stdio: ['inherit', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const status = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
    const unshadow = (b: Buffer[]) => Buffer.from(Buffer.concat(b).toString('latin1').split(shadow).join(''), 'latin1');
    process.stderr.write(unshadow(err));
    process.stdout.write(unshadow(out));
    return status;
  } finally {
    fs.rmSync(shadow, { recursive: true, force: true });
  }
}
