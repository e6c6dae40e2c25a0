// dmsetup ls: every device as `NAME\t(MAJ:MIN)`; --target, --exec, -o, --tree.

import type { DeviceListEntry, DmInfo, TargetStatus } from '../../kernel/dm-ioctl.js';
import { processAll, type CommandFn, type Ctx } from '../command.js';
import { has } from '../switches.js';
import { deviceName } from './deps.js';

/** `--target` / `--exec`: devices having a target of that type. */
async function lsTargets(ctx: Ctx): Promise<boolean> {
  const exec = ctx.sw.value.exec;
  return processAll(ctx, [], async (c, _argv, entry) => {
    const st = await c.dm.task<{ info: DmInfo; targets: TargetStatus[] }>('status', 'tableStatus', { name: c.dm.unmangle(entry!.name) }, { type: 'info' }, 'ENXIO');
    if (!st) return false;
    // _status with ls_only: without --target a device matches even with no table.
    const matches = !has(c.sw, 'target') || st.targets.some((t) => t.type === c.sw.value.target);
    if (!matches) return true;
    const name = c.dm.unmangle(entry!.name);
    if (!exec || has(c.sw, 'verbose')) c.out.print(`${name}\t(${st.info.major}, ${st.info.minor})\n`);
    if (exec) {
      const { spawnSync } = await import('node:child_process');
      const words = exec.trim().split(/\s+/);
      spawnSync(words[0]!, [...words.slice(1), `/dev/mapper/${name}`], { stdio: 'inherit' });
    }
    return true;
  });
}

export const run: CommandFn = async (ctx) => {
  if ((has(ctx.sw, 'target') && ctx.sw.value.target !== undefined) || (has(ctx.sw, 'exec') && ctx.sw.value.exec !== undefined)) return lsTargets(ctx);
  if (has(ctx.sw, 'tree')) {
    const { displayTree } = await import('../tree.js');
    return displayTree(ctx);
  }
  const type = ctx.options.devNameType;
  if (type === 'devno') {
    // _display_name for every device, printed in one write.
    const list = await ctx.dm.listDevices();
    if (!list) return false;
    ctx.out.print(list.length ? list.map((e) => `${ctx.dm.unmangle(e.name)}\t(${e.major}:${e.minor})\n`).join('') : 'No devices found\n');
    return true;
  }
  return processAll(ctx, [], async (c, _argv, entry?: DeviceListEntry) => {
    const e = entry!;
    const name = await deviceName(c, type, e.major, e.minor);
    c.out.print(name !== null ? `${c.dm.unmangle(e.name)}\t(${name})\n` : `${c.dm.unmangle(e.name)}\t(${e.major}:${e.minor})\n`);
    return true;
  });
};
