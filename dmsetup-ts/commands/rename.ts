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
  // The kernel renames by name only: uuid and number addressing fail there.
  const before = dev.name ? await ctx.dm.info(dev) : null;
  const info = await ctx.dm.task<DmInfo>('rename', 'devRename', dev, { newValue: kernelValue, setUuid });
  if (!info) return false;
  if (!setUuid && before) await ctx.dm.renameNode(before.name, info.name);
  return true;
};
