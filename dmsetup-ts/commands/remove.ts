// dmsetup remove: with --force, first load an error table and resume (_error_device).
import type { CommandFn } from '../command.js';
import { has } from '../switches.js';
import { simple } from './simple.js';
import { errorDevice } from './wipe-table.js';

export const run: CommandFn = async (ctx, argv) => {
  if (has(ctx.sw, 'force') && argv.length) await errorDevice(ctx, argv[0]!);
  return simple(ctx, 'remove', argv[0], 0, false);
};
