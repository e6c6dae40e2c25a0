// dmsetup remove_all: remove every device nobody holds open; --force wipes the rest to error and retries.

import { processAll, type CommandFn, type Ctx } from '../command.js';
import { has } from '../switches.js';
import { errorDevice } from './wipe-table.js';

async function removeAllOnce(ctx: Ctx): Promise<boolean> {
  const r = (await ctx.dm.task('remove_all', 'removeAll', null)) !== null;
  // dm_mknodes(NULL): make /dev/mapper match again.
  const nodes = (await ctx.dm.call<string[]>('nodeList')).result;
  const names = new Set(((await ctx.dm.listDevices()) ?? []).map((d) => d.name));
  for (const n of nodes) if (!names.has(n)) await ctx.dm.removeNode(n);
  return r;
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
