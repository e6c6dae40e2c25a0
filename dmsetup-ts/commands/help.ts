// dmsetup help: the usage text on stderr; with -c also the report fields.
import type { CommandFn } from '../command.js';
import { has } from '../switches.js';
import { usage } from './index.js';
import { fieldHelp } from '../report.js';

export const run: CommandFn = async (ctx) => {
  process.stderr.write(usage());
  if (has(ctx.sw, 'columns')) process.stderr.write(fieldHelp());
  return true;
};
