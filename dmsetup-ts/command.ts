// What every dmsetup command module gets, and the helpers they share.

import type { DeviceListEntry } from '../kernel/dm-ioctl.js';
import type { Libdm, TaskDevice } from './libdm.js';
import type { Output } from './output.js';
import { has, type Switches } from './switches.js';
import type { Report } from './report.js';
import type { DmOptions } from './options.js';

export interface CommandDef {
  name: string;
  help: string;
  minArgs: number;
  maxArgs: number;
  /** 0: once; 1: once per device argument; 2: also selectable with -S. */
  repeatable: 0 | 1 | 2;
  load: () => Promise<{ run: CommandFn }>;
}

export interface Ctx {
  prog: string;
  sw: Switches;
  dm: Libdm;
  out: Output;
  cmd: CommandDef;
  /** `dmsetup stats SUBCOMMAND`: the subcommand (has_subcommands). */
  subcommand?: string;
  /** -o as _process_options read it (device name type, tree switches). */
  options: DmOptions;
  /** Several devices may be shown: prefix lines with `NAME: `. */
  multipleDevices: boolean;
  /** All of standard input (read once). */
  stdin(): Promise<string>;
  /** The column report being filled (-c). */
  report?: Report;
  /** With -S on a command that selects devices: that command, run per selected device from `info -c`. */
  selectionCommand?: CommandDef;
}

/** One run of a command for one device argument (or, from processAll, one listed device). */
export type CommandFn = (ctx: Ctx, argv: string[], names?: DeviceListEntry) => Promise<boolean>;

/** taskDevice for a name that is no path (one from the device list): dm_task_set_name checks length and mangling before any ioctl. */
export function taskDeviceNamed(ctx: Ctx, name: string): TaskDevice | null {
  return ctx.dm.setName(name) === null ? null : { name };
}

/** _set_task_device: a name (a path with `/` is looked up), else -u, else -j/-m. */
export async function taskDevice(ctx: Ctx, name: string | undefined, optional = false): Promise<TaskDevice | null> {
  if (name !== undefined) {
    if (name.includes('/')) {
      const dmName = await ctx.dm.resolvePath(name);
      if (!dmName) {
        ctx.out.err(`Device ${name} not found`);
        return null;
      }
      return { name: ctx.dm.unmangle(dmName) };
    }
    return taskDeviceNamed(ctx, name);
  }
  if (has(ctx.sw, 'uuid')) return ctx.dm.setUuid(ctx.sw.value.uuid ?? '') === null ? null : { uuid: ctx.sw.value.uuid };
  if (has(ctx.sw, 'major') && has(ctx.sw, 'minor')) return { major: ctx.sw.major, minor: ctx.sw.minor };
  if (!optional) ctx.out.err('No device specified.');
  return null;
}

/** _process_all: run fn for every device in kernel order; "No devices found" if none. */
export async function processAll(ctx: Ctx, argv: string[], fn: CommandFn, silent = false,
  ahead?: (list: DeviceListEntry[]) => void): Promise<boolean> {
  const list = await ctx.dm.listDevices();
  if (!list) return false;
  if (list.length === 0) {
    if (!silent) ctx.out.print('No devices found\n');
    return true;
  }
  // What fn will ask for each device, asked for all of them at once.
  ahead?.(list);
  let r = true;
  for (const entry of list) if (!(await fn(ctx, argv, entry))) r = false;
  return r;
}

/** Whether a command with no device argument should walk every device. */
export function wantsAll(ctx: Ctx, argv: string[], names?: DeviceListEntry): boolean {
  return !names && argv.length === 0 && !has(ctx.sw, 'uuid') && !has(ctx.sw, 'major');
}
