// dmsetup targets: every registered target type and its version.
import type { CommandFn } from '../command.js';

export const run: CommandFn = async (ctx) => {
  const list = await ctx.dm.task<Array<{ name: string; version: number[] }>>('versions', 'listVersions', null);
  if (!list) return false;
  ctx.out.print(list.map((t) => `${t.name.padEnd(16)} v${t.version.join('.')}\n`).join(''));
  return true;
};
