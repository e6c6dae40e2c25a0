// dmsetup load / reload: a table into the device's inactive slot.

import type { DmInfo } from '../../kernel/dm-ioctl.js';
import { taskDevice, type CommandFn } from '../command.js';
import { has } from '../switches.js';
import { readTable } from './table-source.js';
import { displayInfo } from './info.js';

export const run: CommandFn = async (ctx, argv) => {
  if (has(ctx.sw, 'notable')) {
    ctx.out.err('--notable only available when creating new device.');
    return false;
  }
  let name: string | undefined;
  let args = argv;
  if (!has(ctx.sw, 'uuid') && !has(ctx.sw, 'major')) {
    if (!args.length) {
      ctx.out.err('Please specify device.');
      return false;
    }
    name = args[0];
    args = args.slice(1);
  } else if (args.length > 1) {
    ctx.out.err('Too many command line arguments.');
    return false;
  }
  const dev = await taskDevice(ctx, name);
  if (!dev) return false;
  const targets = await readTable(ctx, args[0]);
  if (!targets) return false;
  const info = await ctx.dm.task<DmInfo>('reload', 'tableLoad', dev, { targets, readOnly: has(ctx.sw, 'readonly') });
  if (!info) return false;
  return has(ctx.sw, 'verbose') ? displayInfo(ctx, info) : true;
};
