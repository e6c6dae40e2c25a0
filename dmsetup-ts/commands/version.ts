// dmsetup version: library and driver versions.
import type { CommandFn } from '../command.js';
import { LIBRARY_VERSION } from '../libdm.js';

export const run: CommandFn = async (ctx) => {
  ctx.out.print(`Library version:   ${LIBRARY_VERSION}\n`);
  // dm_driver_version: a task of libdm's own.
  const v = await ctx.dm.task<number[]>('version', 'version', null, {}, { internal: true });
  if (!v) return false;
  ctx.out.print(`Driver version:    ${v.join('.')}\n`);
  return true;
};
