// dmsetup mknodes: make /dev/mapper match the kernel's devices.
import type { CommandFn, Ctx } from '../command.js';

/** dm_mknodes: nodes for the devices that lack one; with no name, stale nodes go too. */
export async function mknodes(ctx: Ctx, name?: string): Promise<boolean> {
  const list = await ctx.dm.listDevices();
  if (!list) return false;
  const nodes = (await ctx.dm.call<string[]>('nodeList')).result;
  const names = new Set(list.map((d) => d.name));
  const wanted = name !== undefined ? list.filter((d) => d.name === ctx.dm.mangle(name)) : list;
  for (const d of wanted) if (!nodes.includes(d.name)) await ctx.dm.addNode(d.name, d.major, d.minor);
  if (name === undefined) for (const n of nodes) if (!names.has(n)) await ctx.dm.removeNode(n);
  await ctx.dm.processNodeOps(); // update_devs
  return true;
}

export const run: CommandFn = (ctx, argv) => mknodes(ctx, argv[0]);
