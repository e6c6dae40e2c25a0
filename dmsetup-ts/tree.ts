// dmsetup ls --tree: devices as a dependency tree, roots being the devices
// no other device uses, children in deps order, other block devices as leaves.

import type { DeviceListEntry, DmInfo } from '../kernel/dm-ioctl.js';
import { DM_MAJOR } from '../kernel/block.js';
import type { Ctx } from './command.js';
import { has } from './switches.js';

interface Node { major: number; minor: number; entry?: DeviceListEntry; info?: DmInfo; children: Node[]; parents: number }

const TREE_OPTIONS = ['ascii', 'utf', 'vt100', 'compact', 'inverted', 'notrunc', 'blkdevname', 'device', 'nodevice', 'active', 'open', 'rw', 'uuid'];

export async function displayTree(ctx: Ctx): Promise<boolean> {
  const opts = new Set<string>();
  if (has(ctx.sw, 'options') && ctx.sw.value.options) {
    for (const o of ctx.sw.value.options.split(',')) {
      if (!TREE_OPTIONS.includes(o)) {
        ctx.out.err(`Tree options not recognised: ${o}.`);
        ctx.out.err("Couldn't process command line.");
        return false;
      }
      opts.add(o);
    }
  }
  if (opts.has('compact') || opts.has('inverted')) {
    ctx.out.err('dmsetup-ts: ls --tree -o compact and inverted are not supported by this emulation.');
    return false;
  }
  const list = await ctx.dm.listDevices();
  if (!list) return false;
  if (list.length === 0) {
    ctx.out.print('No devices found\n');
    return true;
  }
  const nodes = new Map<string, Node>();
  const node = (major: number, minor: number): Node => {
    const key = `${major}:${minor}`;
    let n = nodes.get(key);
    if (!n) nodes.set(key, (n = { major, minor, children: [], parents: 0 }));
    return n;
  };
  for (const e of list) {
    const n = node(e.major, e.minor);
    n.entry = e;
    const r = await ctx.dm.task<{ info: DmInfo; deps: Array<{ major: number; minor: number }> }>('deps', 'tableDeps', { name: ctx.dm.unmangle(e.name) });
    if (!r) return false;
    n.info = r.info;
    for (const d of r.deps) {
      const child = node(d.major, d.minor);
      n.children.push(child);
      child.parents++;
    }
  }
  const locale = process.env.LC_ALL || process.env.LC_CTYPE || process.env.LANG || '';
  const utf = opts.has('utf') || (!opts.has('ascii') && !opts.has('vt100') && /utf-?8/i.test(locale));
  const [tee, last, bar] = utf ? ['├─', '└─', '│ '] : ['|-', '`-', '| '];
  const showDevice = !opts.has('nodevice');
  let out = '';
  const label = async (n: Node): Promise<string> => {
    const name = n.entry ? ctx.dm.unmangle(n.entry.name) : '';
    let dev = '';
    if (showDevice) {
      if (opts.has('blkdevname')) {
        const kname = n.major === DM_MAJOR ? `dm-${n.minor}` : (await ctx.dm.call<string | null>('devName', { major: n.major, minor: n.minor })).result;
        dev = ` <${kname ?? `${n.major}:${n.minor}`}>`;
      } else dev = ` (${n.major}:${n.minor})`;
    }
    const extra: string[] = [];
    if (n.info) {
      if (opts.has('active')) extra.push(n.info.suspended ? 'SUSPENDED' : 'ACTIVE');
      if (opts.has('rw')) extra.push(n.info.readOnly ? 'RO' : 'RW');
      if (opts.has('open')) extra.push(String(n.info.openCount));
      if (opts.has('uuid')) extra.push(ctx.dm.unmangle(n.info.uuid));
    }
    return name + dev + (extra.length ? ` [${extra.join(', ')}]` : '');
  };
  const walk = async (n: Node, prefix: string): Promise<void> => {
    for (let i = 0; i < n.children.length; i++) {
      const c = n.children[i]!;
      const isLast = i === n.children.length - 1;
      out += `${prefix} ${isLast ? last : tee}${await label(c)}\n`;
      await walk(c, `${prefix} ${isLast ? '  ' : bar}`);
    }
  };
  for (const e of list) {
    const n = nodes.get(`${e.major}:${e.minor}`)!;
    if (n.parents) continue;
    out += `${await label(n)}\n`;
    await walk(n, '');
  }
  ctx.out.print(out);
  return true;
}
