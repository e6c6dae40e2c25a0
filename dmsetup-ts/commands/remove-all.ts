// dmsetup remove_all: remove every device nobody holds open; --force wipes the rest to error and retries.

import { processAll, type CommandFn, type Ctx } from '../command.js';
import { has } from '../switches.js';
import { errorDevice } from './wipe-table.js';
import { mknodes } from './mknodes.js';

/** _simple(DM_DEVICE_REMOVE_ALL) | dm_mknodes(NULL). */
async function removeAllOnce(ctx: Ctx): Promise<boolean> {
  const r = (await ctx.dm.task('remove_all', 'removeAll', null)) !== null;
  return (await mknodes(ctx)) || r;
}

export const run: CommandFn = async (ctx) => {
  let r = await removeAllOnce(ctx);
  if (!has(ctx.sw, 'force')) return r;
  let left = (await ctx.dm.listDevices())?.length ?? 0;
  if (!left) return r;
  r = (await processAll(ctx, [], async (c, _a, e) => errorDevice(c, c.dm.unmangle(e!.name)), true)) || r;
  r = (await removeAllOnce(ctx)) || r;
  left = (await ctx.dm.listDevices())?.length ?? 0;
  if (left) ctx.out.err(`Unable to remove ${left} device(s).`);
  return r;
};
