// dmsetup help: the usage text on stderr; with -c also the report fields; as
// dmsetup-ts, also the project's own commands.
import type { CommandFn } from '../command.js';
import { has } from '../switches.js';
import { usage } from './index.js';
import { fieldHelp } from '../report.js';
import { ownCommandsHelp } from '../own-commands.js';

export const run: CommandFn = async (ctx) => {
  process.stderr.write(usage());
  if (has(ctx.sw, 'columns')) process.stderr.write(fieldHelp());
  if (ctx.prog === 'dmsetup-ts') process.stderr.write(ownCommandsHelp());
  return true;
};
