// dmsetup mangle: rename devices whose kernel names are not in mangled form.

import type { DmInfo } from '../../kernel/dm-ioctl.js';
import { processAll, taskDevice, wantsAll, type CommandFn } from '../command.js';

export const run: CommandFn = async (ctx, argv, names) => {
  if (wantsAll(ctx, argv, names)) return processAll(ctx, argv, run);
  const dev = await taskDevice(ctx, names ? names.name : argv[0]);
  if (!dev) return false;
  const info = await ctx.dm.task<DmInfo>('status', 'devStatus', dev, {}, 'ENXIO');
  if (!info) return false; // no such device: only "Command failed."
  // The target form: --manglename, else the build's default (auto).
  const target = ctx.sw.manglename;
  if (target === 'auto') {
    if (info.name.includes('\\x5cx')) {
      ctx.out.err(`The name "${info.name}" seems to be mangled more than once. Manual intervention required to rename the device.`);
      return false;
    }
    if (info.uuid.includes('\\x5cx')) {
      ctx.out.err(`The UUID "${info.uuid}" seems to be mangled more than once. Manual intervention required to correct the device UUID.`);
      return false;
    }
  }
  const { Libdm } = await import('../libdm.js');
  // dmsetup runs mangle with the library's mode set to none: the names and uuid come back as the kernel has
  // them, and dm_task_get_{name,uuid}_mangled mangle in that mode, which mangle_string takes as auto.
  const form = (s: string) => (target === 'none' ? new Libdm(ctx.out, 'auto').unmangle(s) : new Libdm(ctx.out, 'auto').mangle(s));
  const wanted = form(info.name);
  // A UUID cannot be renamed: the device must be reactivated by hand.
  if (form(info.uuid) !== info.uuid) {
    ctx.out.err(`${info.name}: ${info.uuid}: UUID in incorrect form. `);
    ctx.out.err('Unable to change device UUID. The device must be deactivated first.');
    return false;
  }
  if (wanted === info.name) {
    ctx.out.print(info.uuid ? `${info.name}: ${info.uuid}: name and UUID already in correct form\n` : `${info.name}: [no UUID]: name already in correct form\n`);
    return true;
  }
  ctx.out.print(`${info.name}: renaming to ${wanted}\n`);
  return (await ctx.dm.task<DmInfo>('rename', 'devRename', { name: info.name }, { newValue: wanted })) !== null;
};
