// dmsetup status / table / measure (_status): one line per target,
// `START LENGTH TYPE PARAMS`, prefixed `NAME: ` when several devices may show.

import type { DmInfo, TargetStatus } from '../../kernel/dm-ioctl.js';
import { processAll, taskDevice, wantsAll, type CommandFn } from '../command.js';
import { has } from '../switches.js';
import { displayInfo } from './info.js';

/** Print s with `,` `;` `\` backslash-quoted (the concise format). */
const quoted = (s: string) => s.replace(/[,;\\]/g, (c) => '\\' + c);

/** Whether a `--concise` line has been started (devices are joined by `;`). */
let conciseProduced = false;
export function conciseOutputProduced(): boolean { return conciseProduced; }

export const run: CommandFn = async (ctx, argv, names) => {
  if (wantsAll(ctx, argv, names)) return processAll(ctx, argv, run);
  let name = names ? ctx.dm.unmangle(names.name) : argv[0];
  const isTable = ctx.cmd.name === 'table';
  const useConcise = isTable && has(ctx.sw, 'concise');
  const dev = await taskDevice(ctx, name);
  if (!dev) return false;
  const st = await ctx.dm.task<{ info: DmInfo; targets: TargetStatus[] }>(isTable ? 'table' : 'status', 'tableStatus', dev,
    { type: isTable ? 'table' : ctx.cmd.name === 'measure' ? 'ima' : 'info', inactive: has(ctx.sw, 'inactive') },
    { quietErrno: isTable ? undefined : 'ENXIO', flags: { noFlush: has(ctx.sw, 'noflush') } });
  if (!st) {
    if (!isTable && !ctx.dm.lastFailed) ctx.out.err('Device does not exist.');
    return false;
  }
  name ??= ctx.dm.unmangle(st.info.name);
  const verbose = has(ctx.sw, 'verbose');
  const target = ctx.sw.value.target;
  let matched = false;
  let out = '';
  const targets: Array<TargetStatus | null> = st.targets.length ? st.targets : [null];
  for (const t of targets) {
    if (has(ctx.sw, 'target') && (!t || t.type !== target)) continue;
    if (!useConcise) {
      if (!matched && verbose) {
        ctx.out.print(out);
        out = '';
        await displayInfo(ctx, st.info);
      }
      if (ctx.multipleDevices && !verbose) out += `${name}: `;
    } else if (!matched) {
      if (conciseProduced) out += ';';
      conciseProduced = true;
      out += `${quoted(name)},${quoted(ctx.dm.unmangle(st.info.uuid))},${st.info.minor},${st.info.readOnly ? 'ro' : 'rw'}`;
    }
    if (t) {
      if (useConcise) out += ',';
      out += `${t.start} ${t.length} ${t.type} ${useConcise ? quoted(t.params) : t.params}`;
    }
    if (!useConcise) out += '\n';
    matched = true;
  }
  if (ctx.multipleDevices && verbose && matched && (!useConcise || (ctx.sw.count.verbose ?? 0) > 1)) out += '\n';
  ctx.out.print(out);
  return true;
};
