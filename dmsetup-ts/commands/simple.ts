// _simple: one ioctl on one device (suspend, resume, clear, remove, wait),
// with libdm's node handling, then the info block under -v.

import type { DmInfo } from '../../kernel/dm-ioctl.js';
import { taskDevice, type Ctx } from '../command.js';
import { has } from '../switches.js';
import { displayInfo } from './info.js';

export type SimpleTask = 'suspend' | 'resume' | 'clear' | 'remove' | 'waitevent';

const OPS: Record<SimpleTask, string> = { suspend: 'devSuspend', resume: 'devResume', clear: 'tableClear', remove: 'devRemove', waitevent: 'devWait' };

export async function simple(ctx: Ctx, task: SimpleTask, name: string | undefined, eventNr: number, display: boolean): Promise<boolean> {
  const dev = await taskDevice(ctx, name);
  if (!dev) return false;
  const args: Record<string, unknown> = { noflush: has(ctx.sw, 'noflush'), nolockfs: has(ctx.sw, 'nolockfs') };
  if (task === 'waitevent') args.eventNr = eventNr;
  if (task === 'remove') args.deferred = has(ctx.sw, 'deferred');
  // _simple does not goto_out after its task (no backtrace); dm_task_run stacks the node operations.
  const info = await ctx.dm.task<DmInfo>(task, OPS[task], dev, args, {
    flags: { skipLockfs: has(ctx.sw, 'nolockfs'), retryRemove: task === 'remove' && has(ctx.sw, 'retry') }, noStack: true,
  });
  // dm_udev_wait (for resume and remove, failed or not): the stacked node operations are done.
  if (task === 'resume' || task === 'remove') await ctx.dm.processNodeOps();
  if (!info) return false;
  if (display && has(ctx.sw, 'verbose')) return displayInfo(ctx, info);
  return true;
}
