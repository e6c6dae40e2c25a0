// dmsetup ls --tree: libdm's dependency tree and dmsetup's drawing of it
// (_display_tree_node, _out_prefix, pstree's symbols), compact, inverted,
// attributes, and truncation at the terminal width (80 when not a tty).

import type { DmInfo } from '../kernel/dm-ioctl.js';
import type { Ctx } from './command.js';
import { TREE_VT100 } from './options.js';

/** A dm_tree node: uses = its dependencies, usedBy = devices using it. */
interface TreeNode { major: number; minor: number; name: string; info?: DmInfo; uses: TreeNode[]; usedBy: TreeNode[] }

/** Build the tree as libdm's dm_tree_add_dev does, device by device in list order. */
async function buildTree(ctx: Ctx): Promise<TreeNode | null> {
  const root: TreeNode = { major: 0, minor: 0, name: '', uses: [], usedBy: [] };
  const nodes = new Map<string, TreeNode>();
  const link = (parent: TreeNode, child: TreeNode) => {
    if (parent.uses.includes(child)) return;
    if (parent === root) {
      if (child.usedBy.length) return; // already has a parent
    } else {
      const i = root.uses.indexOf(child);
      if (i >= 0) { root.uses.splice(i, 1); child.usedBy.splice(child.usedBy.indexOf(root), 1); }
    }
    if (child === root) {
      if (parent.uses.length) return;
    } else {
      const i = root.usedBy.indexOf(parent);
      if (i >= 0) { root.usedBy.splice(i, 1); parent.uses.splice(parent.uses.indexOf(root), 1); }
    }
    parent.uses.push(child);
    child.usedBy.push(parent);
  };
  const list = await ctx.dm.listDevices();
  if (!list) return null;
  if (!list.length) ctx.out.print('No devices found\n');
  const byNumber = new Map(list.map((e) => [`${e.major}:${e.minor}`, e]));
  const add = async (parent: TreeNode, major: number, minor: number): Promise<boolean> => {
    const key = `${major}:${minor}`;
    let node = nodes.get(key);
    const isNew = !node;
    if (!node) {
      const e = byNumber.get(key);
      node = { major, minor, name: e ? ctx.dm.unmangle(e.name) : '', uses: [], usedBy: [] };
      nodes.set(key, node);
    }
    link(parent, node);
    if (!isNew) return true;
    const e = byNumber.get(key);
    let deps: Array<{ major: number; minor: number }> = [];
    if (e) {
      const r = await ctx.dm.task<{ info: DmInfo; deps: Array<{ major: number; minor: number }> }>('deps', 'tableDeps', { name: ctx.dm.unmangle(e.name) });
      if (!r) return false;
      node.info = r.info;
      deps = r.deps;
    }
    if (!deps.length) link(node, root);
    for (const d of deps) if (!(await add(node, d.major, d.minor))) return false;
    return true;
  };
  for (const e of list) if (!(await add(root, e.major, e.minor))) return null;
  return root;
}

export async function displayTree(ctx: Ctx): Promise<boolean> {
  const sw = ctx.options.tree!;
  const root = await buildTree(ctx);
  if (!root) return false;
  const termwidth = sw.sym !== TREE_VT100 && process.stdout.isTTY && process.stdout.columns > 3 ? process.stdout.columns - 3 : 80;
  const printAttribute = sw.active || sw.rw || sw.open || sw.uuid;
  const compact = sw.compact && !printAttribute;
  const width: number[] = [];
  const more: boolean[] = [];
  let out = '';
  let curX = 1;
  let lastChar = '';

  const outChar = (c: string) => {
    curX++;
    if (!sw.truncate) { out += c; return; }
    if (curX <= termwidth) out += c;
    if (curX === termwidth + 1) {
      if (lastChar || c.charCodeAt(0) > 0x7f) out += '...';
      else { lastChar = c; curX--; }
    }
  };
  const outString = (s: string) => { for (const c of s) outChar(c); };
  const outNewline = () => {
    if (lastChar && curX === termwidth) out += lastChar;
    lastChar = '';
    out += '\n';
    curX = 1;
  };
  const outPrefix = (depth: number) => {
    for (let d = 0; d < depth; d++) {
      for (let x = (width[d] ?? 0) + 1; x > 0; x--) outChar(' ');
      outString(d === depth - 1 ? (!more[depth] ? sw.sym.last2 : sw.sym.branch2) : more[d + 1] ? sw.sym.vert2 : sw.sym.empty2);
    }
  };
  const children = (n: TreeNode) => (sw.bottomUp ? n.usedBy : n.uses);
  const displayNode = async (node: TreeNode, depth: number, lastChild: boolean, hasChildren: boolean) => {
    if (!node.name && !sw.device && !sw.blkdevname) return;
    more[depth] = !lastChild;
    width[depth] = 0;
    const firstOnLine = curX === 1;
    if (!compact || firstOnLine) outPrefix(depth);
    const offset = curX;
    if (compact && !firstOnLine) outString(more[depth] ? sw.sym.first3 : sw.sym.single3);
    outString(node.name);
    if (sw.blkdevname) {
      const n = (await ctx.dm.call<{ diskName: string } | null>('devName', { major: node.major, minor: node.minor })).result;
      if (n) outString(` <${n.diskName}>`);
    }
    if (sw.device) outString(` (${node.major}:${node.minor})`);
    if (printAttribute && node.info) {
      const attrs: string[] = [];
      if (sw.active) attrs.push(node.info.suspended ? 'SUSPENDED' : 'ACTIVE');
      if (sw.rw) attrs.push(node.info.readOnly ? 'RO' : 'RW');
      if (sw.open) attrs.push(String(node.info.openCount));
      if (sw.uuid) attrs.push(ctx.dm.unmangle(node.info.uuid));
      outString(` [${attrs.join(', ')}]`);
    }
    if (compact) width[depth] = curX - offset;
    if (!compact || !hasChildren) outNewline();
  };
  const walk = async (node: TreeNode, depth: number) => {
    const kids = children(node).filter((c) => c !== root);
    for (let i = 0; i < kids.length; i++) {
      const child = kids[i]!;
      const hasChildren = children(child).some((c) => c !== root);
      await displayNode(child, depth, i === kids.length - 1, hasChildren);
      if (hasChildren) await walk(child, depth + 1);
    }
  };
  await walk(root, 0);
  ctx.out.print(out);
  return true;
}
