// dmsetup setgeometry: DM_DEV_SET_GEOMETRY with the four values joined by spaces (dm_task_set_geometry); the kernel parses them.
import type { DmInfo } from '../../kernel/dm-ioctl.js';
import type { CommandFn } from '../command.js';
import { taskDevice } from '../command.js';
import { has } from '../switches.js';

export const run: CommandFn = async (ctx, argv) => {
  let args = argv;
  let name: string | undefined;
  if (!has(ctx.sw, 'uuid') && !has(ctx.sw, 'major')) {
    name = args[0];
    args = args.slice(1);
  }
  const dev = await taskDevice(ctx, name);
  if (!dev) return false;
  return (await ctx.dm.task<DmInfo>('setgeometry', 'devSetGeometry', dev, { geometry: `${args[0]} ${args[1]} ${args[2]} ${args[3]}` })) !== null;
};
