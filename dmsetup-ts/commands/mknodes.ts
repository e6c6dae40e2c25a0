// dmsetup mknodes: make /dev/mapper match the kernel's devices.
import type { CommandFn, Ctx } from '../command.js';

/**
 * dm_mknodes. With a name, one DM_DEVICE_MKNODES task: a node if the device
 * exists (add_dev_node), else rm_dev_node. With none (_mknodes_v4), the same
 * for each entry of /dev/mapper in readdir order (_process_mapper_dir), then
 * add_dev_node for each device (_process_all_v4). add_dev_node leaves a right
 * node alone, and fails over a regular file: once per pass.
 */
export async function mknodes(ctx: Ctx, name?: string): Promise<boolean> {
  const list = await ctx.dm.listDevices();
  if (!list) return false;
  const byName = new Map(list.map((d) => [d.name, d]));
  if (name !== undefined) {
    const d = byName.get(ctx.dm.mangle(name));
    if (d) await ctx.dm.addNode(d.name, d.major, d.minor);
    else await ctx.dm.removeNode(ctx.dm.mangle(name));
  } else {
    for (const n of (await ctx.dm.call<string[]>('nodeList')).result) {
      const d = byName.get(n);
      if (d) await ctx.dm.addNode(d.name, d.major, d.minor);
      else await ctx.dm.removeNode(n);
    }
    for (const d of list) await ctx.dm.addNode(d.name, d.major, d.minor);
  }
  await ctx.dm.processNodeOps(); // update_devs
  return true;
}

export const run: CommandFn = (ctx, argv) => mknodes(ctx, argv[0]);
