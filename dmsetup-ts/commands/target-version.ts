// dmsetup target-version: the version of one target type.
import type { CommandFn } from '../command.js';

export const run: CommandFn = async (ctx, argv) => {
  const name = argv[0]!;
  const t = await ctx.dm.task<{ name: string; version: number[] }>('target-version', 'targetVersion', { name }, { name });
  if (!t) return false;
  ctx.out.print(`${t.name.padEnd(16)} v${t.version.join('.')}\n`);
  return true;
};
