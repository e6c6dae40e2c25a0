// dmsetup splitname: a name split into VG, LV and layer under a subsystem
// (LVM by default), as one object of the column report (-o, -O, -S,
// --separator, --rows... apply as to any report); no kernel needed.
import type { CommandFn } from '../command.js';
import { splitName } from '../report.js';

export const run: CommandFn = async (ctx, argv) => {
  const [name, subsystem = 'LVM'] = argv as [string, string?];
  // _get_split_name(subsystem, name, '\0'): the whole argument is the subsystem.
  return ctx.report!.add({ name, uuid: subsystem, mangledName: name, mangledUuid: subsystem, split: splitName(subsystem, name, '') });
};
