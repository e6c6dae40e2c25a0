// dmsetup stats: I/O statistics regions are not emulated.
import type { CommandFn } from '../command.js';

export const run: CommandFn = async (ctx) => {
  ctx.out.err('dmsetup-ts: stats is not supported by this emulation.');
  return false;
};
