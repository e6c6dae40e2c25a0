// dmsetup rename: a new name, or with --setuuid a uuid.

import type { DmInfo } from '../../kernel/dm-ioctl.js';
import { taskDevice, type CommandFn } from '../command.js';
import { has } from '../switches.js';

export const run: CommandFn = async (ctx, argv) => {
  const name = argv.length === 2 ? argv[0] : undefined;
  const newValue = argv[argv.length - 1]!;
  const setUuid = has(ctx.sw, 'setuuid');
  const dev = await taskDevice(ctx, name);
  if (!dev) return false;
  // _set_task_device's name first, then dm_task_set_newname / newuuid.
  if (dev.name !== undefined && ctx.dm.setName(dev.name) === null) return false;
  const kernelValue = ctx.dm.setNewValue(newValue, setUuid);
  if (kernelValue === null) return false;
  // dm_task_run renames the node (by the task's name) after the ioctl; dm_udev_wait does it.
  const info = await ctx.dm.task<DmInfo>('rename', 'devRename', dev, { newValue: kernelValue, setUuid });
  await ctx.dm.processNodeOps();
  return info !== null;
};
