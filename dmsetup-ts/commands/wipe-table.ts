// dmsetup wipe_table: replace the table by one error target of the same size and resume.
import type { DmInfo, TargetStatus } from '../../kernel/dm-ioctl.js';
import { taskDevice, type CommandFn, type Ctx } from '../command.js';
import { has } from '../switches.js';
import { simple } from './simple.js';

/** _error_device. */
export async function errorDevice(ctx: Ctx, name: string | undefined): Promise<boolean> {
  if (!name) {
    ctx.out.err('No device specified.');
    return false;
  }
  const dev = await taskDevice(ctx, name);
  if (!dev) return false;
  const st = await ctx.dm.task<{ info: DmInfo; targets: TargetStatus[] }>('table', 'tableStatus', dev, { type: 'table' });
  const size = st ? st.targets.reduce((n, t) => n + t.length, 0n) : 0n;
  const loaded = await ctx.dm.task<DmInfo>('reload', 'tableLoad', dev, { targets: [{ start: 0, length: size, type: 'error', params: '' }], readOnly: has(ctx.sw, 'readonly') });
  if (!loaded) return false;
  if (has(ctx.sw, 'force')) {
    // Avoid a hang on flushing with --force.
    ctx.sw.count.nolockfs = 1;
    ctx.sw.count.noflush = 1;
  }
  if (!(await simple(ctx, 'resume', name, 0, false))) {
    await simple(ctx, 'clear', name, 0, false);
    return false;
  }
  return true;
}

export const run: CommandFn = (ctx, argv, names) => errorDevice(ctx, names ? ctx.dm.unmangle(names.name) : argv[0]);
