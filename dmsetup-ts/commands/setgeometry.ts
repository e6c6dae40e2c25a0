// dmsetup setgeometry: the emulated disks have no geometry to set.
import type { CommandFn } from '../command.js';
import { taskDevice } from '../command.js';

export const run: CommandFn = async (ctx, argv) => {
  const dev = await taskDevice(ctx, argv[0]);
  if (!dev) return false;
  const info = await ctx.dm.info(dev);
  if (!info) {
    ctx.out.err(`device-mapper: setgeometry ioctl on ${argv[0]}  failed: No such device or address`);
    return false;
  }
  const nums = argv.slice(1);
  if (nums.some((n) => !/^[0-9]+$/.test(n))) {
    ctx.out.err(`device-mapper: setgeometry ioctl on ${argv[0]}  failed: Invalid argument`);
    return false;
  }
  return true;
};
