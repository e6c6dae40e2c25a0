// dmsetup info: the long form per device, or a report row with -c.

import type { DeviceListEntry, DmInfo } from '../../kernel/dm-ioctl.js';
import { processAll, taskDevice, taskDeviceNamed, wantsAll, type CommandFn, type Ctx } from '../command.js';
import { has } from '../switches.js';
import type { Report, ReportObject } from '../report.js';

/** _display_info_long. */
async function displayInfoLong(ctx: Ctx, info: DmInfo): Promise<void> {
  const name = ctx.dm.unmangle(info.name);
  ctx.out.print(`Name:              ${name}\n` +
    `State:             ${info.suspended ? 'SUSPENDED' : 'ACTIVE'}${info.readOnly ? ' (READ-ONLY)' : ''}${info.deferredRemove ? ' (DEFERRED REMOVE)' : ''}\n`);
  const ra = await ctx.dm.readAhead(info.name, info.major, info.minor);
  let out = ra !== null ? `Read Ahead:        ${ra}\n` : '';
  out += !info.livePresent && !info.inactivePresent
    ? 'Tables present:    None\n'
    : `Tables present:    ${info.livePresent ? 'LIVE' : ''}${info.livePresent && info.inactivePresent ? ' & ' : ''}${info.inactivePresent ? 'INACTIVE' : ''}\n`;
  out += `Open count:        ${info.openCount}\n`;
  out += `Event number:      ${info.eventNr}\n`;
  out += `Major, minor:      ${info.major}, ${info.minor}\n`;
  out += `Number of targets: ${info.targetCount}\n`;
  if (info.uuid) out += `UUID: ${ctx.dm.unmangle(info.uuid)}\n`;
  ctx.out.print(out + '\n');
}

type Deps = Array<{ major: number; minor: number; diskName: string }>;

/**
 * The device list and each device's deps, read once per report (dmsetup builds
 * its dependency tree once), not again for every row.
 */
const relations = new WeakMap<Report, { list: DeviceListEntry[]; deps: Map<string, Promise<Deps>> }>();

/**
 * A report row for one device, with its dependencies if a field needs them
 * (a promise then; else the row itself, without a turn of the event loop per device).
 */
function reportObject(ctx: Ctx, info: DmInfo): ReportObject | Promise<ReportObject> {
  const o: ReportObject = { info, name: ctx.dm.unmangle(info.name), uuid: ctx.dm.unmangle(info.uuid), mangledName: info.name, mangledUuid: info.uuid };
  const report = ctx.report!;
  return report.needsDeps || report.needsUsers ? withRelations(ctx, report, info, o) : o;
}

async function withRelations(ctx: Ctx, report: Report, info: DmInfo, o: ReportObject): Promise<ReportObject> {
  let rel = relations.get(report);
  if (!rel) relations.set(report, (rel = { list: (await ctx.dm.listDevices()) ?? [], deps: new Map() }));
  const { list, deps } = rel;
  const depsOf = (name: string): Promise<Deps> => {
    let d = deps.get(name);
    if (!d) {
      d = ctx.dm.task<{ deps: Deps }>('deps', 'tableDeps', { name: ctx.dm.unmangle(name) }, {}).then((r) => r?.deps ?? []);
      deps.set(name, d);
    }
    return d;
  };
  const named = (major: number, minor: number) => list.find((d) => d.major === major && d.minor === minor);
  if (report.needsDeps) {
    const withNames = (ds: Deps) => ds.map((d) => {
      const dm = named(d.major, d.minor);
      return { major: d.major, minor: d.minor, name: dm ? ctx.dm.unmangle(dm.name) : null, blkName: d.diskName };
    });
    // The dependency tree (devs_used) is built from live tables; the row's own deps task (DR_DEPS) honours --inactive.
    o.treeDeps = withNames(await depsOf(info.name));
    o.deps = has(ctx.sw, 'inactive')
      ? withNames((await ctx.dm.task<{ deps: Deps }>('deps', 'tableDeps', { name: ctx.dm.unmangle(info.name) }, { inactive: true }))?.deps ?? [])
      : o.treeDeps;
  }
  if (report.needsUsers) {
    o.users = [];
    for (const d of list) {
      if ((await depsOf(d.name)).some((x) => x.major === info.major && x.minor === info.minor)) o.users.push({ major: d.major, minor: d.minor, name: ctx.dm.unmangle(d.name) });
    }
  }
  return o;
}

/** _display_info: the long form, or a report row with -c. */
export async function displayInfo(ctx: Ctx, info: DmInfo): Promise<boolean> {
  if (!has(ctx.sw, 'columns') || !ctx.report) {
    await displayInfoLong(ctx, info);
    return true;
  }
  const row = reportObject(ctx, info);
  const o = row instanceof Promise ? await row : row;
  if (ctx.selectionCommand) {
    // -S applied to another command: run it for each selected device, print no row.
    if (ctx.report.needsReadAhead) o.readAhead = (await ctx.dm.readAhead(info.name)) ?? 0;
    const selected = ctx.report.isSelected(o);
    if (selected === null) return false;
    if (!selected) return true;
    const { run } = await ctx.selectionCommand.load();
    return run({ ...ctx, cmd: ctx.selectionCommand, multipleDevices: true, report: undefined }, [o.name]);
  }
  if (ctx.report.needsReadAhead) o.readAhead = (await ctx.dm.readAhead(info.name)) ?? 0;
  return ctx.report.add(o);
}

export const run: CommandFn = async (ctx, argv, names) => {
  if (wantsAll(ctx, argv, names)) {
    // A report prints its rows at the end: the devices' info can be fetched ahead.
    const ahead = has(ctx.sw, 'columns') && ctx.report && !ctx.selectionCommand
      ? (list: DeviceListEntry[]) => ctx.dm.prefetchInfo(list.map((e) => ctx.dm.unmangle(e.name)), has(ctx.sw, 'inactive'))
      : undefined;
    return processAll(ctx, argv, run, false, ahead);
  }
  const name = names ? ctx.dm.unmangle(names.name) : argv[0];
  // A listed device's name is set at once (unless, unmangled, it reads as a path).
  const dev = names && !name!.includes('/') ? taskDeviceNamed(ctx, name!) : await taskDevice(ctx, name);
  if (!dev) return false;
  const info = await ctx.dm.info(dev, has(ctx.sw, 'inactive'));
  if (!info) {
    if (!ctx.dm.lastFailed) ctx.out.err('Device does not exist.');
    return false;
  }
  return displayInfo(ctx, info);
};
