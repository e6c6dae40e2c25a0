// dmsetup deps: the devices a table uses, most recently referenced first.

import type { DmInfo } from '../../kernel/dm-ioctl.js';
import { processAll, taskDevice, wantsAll, type CommandFn, type Ctx } from '../command.js';
import { has } from '../switches.js';
import { displayInfo } from './info.js';
import type { DevNameType } from '../options.js';

/**
 * dm_device_get_name: the dm name (devname) or kernel name (blkdevname, loopN)
 * as sysfs gives them; null for devno or when sysfs has nothing (no gendisk).
 */
export async function deviceName(ctx: Ctx, type: DevNameType, major: number, minor: number): Promise<string | null> {
  if (type === 'devno') return null;
  const n = (await ctx.dm.call<{ diskName: string; dmName?: string } | null>('devName', { major, minor })).result;
  if (!n) return null;
  return type === 'devname' && n.dmName !== undefined ? ctx.dm.unmangle(n.dmName) : n.diskName;
}

export const run: CommandFn = async (ctx, argv, names) => {
  if (wantsAll(ctx, argv, names)) return processAll(ctx, argv, run);
  const type = ctx.options.devNameType;
  const name = names ? ctx.dm.unmangle(names.name) : argv[0];
  const dev = await taskDevice(ctx, name);
  if (!dev) return false;
  const r = await ctx.dm.task<{ info: DmInfo; deps: Array<{ major: number; minor: number }> }>('deps', 'tableDeps', dev, { inactive: has(ctx.sw, 'inactive') });
  if (!r) return false;
  const verbose = has(ctx.sw, 'verbose');
  if (verbose) await displayInfo(ctx, r.info);
  let out = ctx.multipleDevices && !verbose ? `${name ?? ctx.dm.unmangle(r.info.name)}: ` : '';
  out += `${r.deps.length} dependencies\t:`;
  for (const d of r.deps) {
    const n = await deviceName(ctx, type, d.major, d.minor);
    out += n !== null ? ` (${n})` : ` (${d.major}, ${d.minor})`;
  }
  out += '\n';
  if (ctx.multipleDevices && verbose) out += '\n';
  ctx.out.print(out);
  return true;
};
