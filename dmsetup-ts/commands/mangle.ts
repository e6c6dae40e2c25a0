// dmsetup mangle: rename devices whose kernel names are not in mangled form.

import type { DmInfo } from '../../kernel/dm-ioctl.js';
import { processAll, taskDevice, wantsAll, type CommandFn } from '../command.js';

export const run: CommandFn = async (ctx, argv, names) => {
  if (wantsAll(ctx, argv, names)) return processAll(ctx, argv, run);
  const dev = await taskDevice(ctx, names ? names.name : argv[0]);
  if (!dev) return false;
  const info = await ctx.dm.task<DmInfo>('status', 'devStatus', dev, {}, 'ENXIO');
  if (!info) return false; // no such device: only "Command failed."
  const wanted = new (await import('../libdm.js')).Libdm(ctx.out, 'auto').mangle(info.name);
  if (wanted === info.name) {
    ctx.out.print(info.uuid ? `${info.name}: ${info.uuid}: name and UUID already in correct form\n` : `${info.name}: [no UUID]: name already in correct form\n`);
    return true;
  }
  ctx.out.print(`${info.name}: renaming to ${wanted}\n`);
  return (await ctx.dm.task<DmInfo>('rename', 'devRename', { name: info.name }, { newValue: wanted })) !== null;
};
