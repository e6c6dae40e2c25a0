// dmsetup mknodes: make /dev/mapper match the kernel's devices.
import type { CommandFn } from '../command.js';

export const run: CommandFn = async (ctx, argv) => {
  const list = await ctx.dm.listDevices();
  if (!list) return false;
  const nodes = (await ctx.dm.call<string[]>('nodeList')).result;
  const names = new Set(list.map((d) => d.name));
  const wanted = argv.length ? list.filter((d) => d.name === ctx.dm.mangle(argv[0]!)) : list;
  for (const d of wanted) if (!nodes.includes(d.name)) await ctx.dm.addNode(d.name);
  if (!argv.length) for (const n of nodes) if (!names.has(n)) await ctx.dm.removeNode(n);
  return true;
};
