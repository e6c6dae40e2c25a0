// dmsetup splitname: an LVM name split into VG, LV and layer (no kernel needed).
import type { CommandFn } from '../command.js';
import { has } from '../switches.js';

export const run: CommandFn = async (ctx, argv) => {
  const [name, subsystem = 'LVM'] = argv as [string, string?];
  const parts = ['', '', ''];
  if (subsystem === 'LVM') {
    let p = 0;
    for (let i = 0; i < name.length; i++) {
      if (name[i] === '-' && name[i + 1] === '-') { parts[p] += '-'; i++; } else if (name[i] === '-' && p < 2) p++;
      else parts[p] += name[i];
    }
  }
  if (has(ctx.sw, 'noheadings')) {
    ctx.out.print(parts.join(has(ctx.sw, 'separator') ? ctx.sw.value.separator! : ':') + '\n');
    return true;
  }
  const w = [Math.max(4, parts[0]!.length), Math.max(4, parts[1]!.length), Math.max(7, parts[2]!.length)];
  ctx.out.print(`${'VG'.padEnd(w[0]!)} ${'LV'.padEnd(w[1]!)} ${'LVLayer'.padEnd(w[2]!)}\n${parts.map((s, i) => s.padEnd(w[i]!)).join(' ')}\n`);
  return true;
};
