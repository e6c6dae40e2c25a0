// dmsetup stats (dmsetup.c's _stats_subcommands over libdm-stats): create,
// delete, clear, print, list and report of the kernel's dm-stats regions,
// through the @stats_* messages; the stats usage for `stats`, `stats help`.

import type { DmInfo } from '../../kernel/dm-ioctl.js';
import { processAll, type CommandFn, type Ctx } from '../command.js';
import { has } from '../switches.js';
import { FIELD_HELP } from '../report-fields.js';
import { DM_STATS_PROGRAM_ID, StatsHandle, buildHistogramArg, histogramBoundsFromString, nrAreas, type StatsRegion } from '../stats-handle.js';

const INDENT = '\n\t    ';
const AREA_OPTS = '[--areas <nr_areas>] [--areasize <size>] ';
const REGION_OPTS = '[--start <start> [--length <len>]' + INDENT + AREA_OPTS;
const ID_OPTS = '[--programid <id>] [--userdata <data> ] ';
const SELECT_OPTS = '[--programid <id>] [--regionid <id>] ';
const EXTRA_OPTS = '[--bounds histogram_boundaries] [--precise] ';
const SEGMENTS_OPT = '[--segments] ';
const FILE_MONITOR_OPTS = '[--nomonitor] [--follow mode]';
const GROUP_ID_OPT = '--groupid <id> ';
const ALL_PROGS_OPT = '[--allprograms|--programid id] ';
const ALL_REGIONS_OPT = '[--allregions|--regionid id] ';
const ALL_DEVICES_OPT = '[--alldevices|<device>...] ';
const ALL_PROGS_REGIONS_DEVICES = ALL_PROGS_OPT + INDENT + ALL_REGIONS_OPT + INDENT + ALL_DEVICES_OPT;
const DM_REPORT_OPTS = '[-o <fields>] [-O|--sort <sort_fields>]' + INDENT + '[-S|--select <selection>] [--nameprefixes]' + INDENT + '[--noheadings] [--separator <separator>]';

/** _stats_subcommands[]: name and usage. */
const SUBCOMMANDS: Array<[string, string]> = [
  ['help', ''],
  ['clear', ALL_REGIONS_OPT + ALL_DEVICES_OPT],
  ['create', REGION_OPTS + INDENT + ID_OPTS + INDENT + EXTRA_OPTS + INDENT + SEGMENTS_OPT + ALL_DEVICES_OPT],
  ['create', '--filemap [--nogroup] ' + FILE_MONITOR_OPTS + INDENT + ID_OPTS + INDENT + EXTRA_OPTS + '<file_path>'],
  ['delete', ALL_PROGS_REGIONS_DEVICES],
  ['group', '[--alias NAME] --regions <regions>' + INDENT + ALL_PROGS_OPT + ALL_DEVICES_OPT],
  ['list', ALL_PROGS_OPT + ALL_REGIONS_OPT],
  ['print', '[--clear] ' + ALL_PROGS_REGIONS_DEVICES],
  ['report', '[--interval <seconds>] [--count <cnt>]' + INDENT + '[--units <u>] ' + SELECT_OPTS + INDENT + DM_REPORT_OPTS + INDENT + ALL_PROGS_OPT + '[<device>...]'],
  ['ungroup', GROUP_ID_OPT + ALL_PROGS_OPT + INDENT + ALL_DEVICES_OPT],
  ['update_filemap', GROUP_ID_OPT + INDENT + FILE_MONITOR_OPTS + ' <file_path>'],
  ['version', ''],
];

/** _stats_usage. */
export function statsUsage(): string {
  return 'Usage:\n\n' +
    'dmsetup stats\n' +
    '        [-h|--help]\n' +
    '        [-v|--verbose [-v|--verbose ...]]\n' +
    '        [--areas <nr_areas>] [--areasize <size>]\n' +
    '        [--userdata <data>] [--clear]\n' +
    '        [--count <count>] [--interval <seconds>]\n' +
    '        [-o <fields>] [-O|--sort <sort_fields>]\n' +
    '\t      [--programid <id>]\n' +
    '        [--start <start>] [--length <length>]\n' +
    '        [--segments] [--units <units>]\n\n' +
    SUBCOMMANDS.map(([name, help]) => `\t${name} ${help}\n`).join('') +
    '\n<device> may be device name or (if only one) -u <uuid> or -j <major> -m <minor>\n' +
    "<fields> are comma-separated.  Use 'help -c' for list.\n\n";
}

// Report field lists (dmsetup.c).
const STATS_DEV_INFO = 'statsname,group_id,region_id,obj_type';
const STATS_AREA_INFO = 'area_id,area_start,area_len';
const STATS_AREA_INFO_FULL = `${STATS_DEV_INFO},region_start,region_len,area_count,area_id,area_start,area_len`;
const STATS_REGION_INFO = `${STATS_DEV_INFO},region_start,region_len,area_count,area_len`;
export const COUNTERS = 'read_count,reads_merged_count,read_sector_count,read_time,read_ticks,' +
  'write_count,writes_merged_count,write_sector_count,write_time,write_ticks,in_progress_count,io_ticks,queue_ticks';

const METRICS = 'reads_merged_per_sec,writes_merged_per_sec,reads_per_sec,writes_per_sec,' +
  'read_size_per_sec,write_size_per_sec,avg_request_size,queue_size,util,await,read_await,write_await';

/** The default -o of a stats subcommand's report (_report_init): list's region fields, report's metrics. */
export function statsReportOptions(ctx: Ctx, subcommand: string | undefined): string {
  const hist = has(ctx.sw, 'histogram');
  if (subcommand === 'list') {
    const tail = hist ? ',hist_bins,hist_bounds' : ',program_id';
    return has(ctx.sw, 'verbose') ? `${STATS_AREA_INFO_FULL}${tail}` : `${STATS_REGION_INFO}${tail}`;
  }
  // STATS_HIST: the minimal set of fields of a histogram report.
  if (hist) return `${STATS_REGION_INFO},util,await,${has(ctx.sw, 'relative') ? 'hist_percent_bounds' : 'hist_count_bounds'}`;
  return has(ctx.sw, 'raw') ? `${STATS_DEV_INFO},${STATS_AREA_INFO},${COUNTERS}` : `${STATS_DEV_INFO},${STATS_AREA_INFO},${METRICS}`;
}

/** _stats_help: the usage, and with -c (always for stats) the field list. */
function statsHelp(ctx: Ctx): boolean {
  process.stderr.write(statsUsage());
  if (has(ctx.sw, 'columns')) process.stderr.write(FIELD_HELP);
  return true;
}

/** _size_from_string: a number of sectors (bytes with a unit suffix). */
function sizeFromString(ctx: Ctx, arg: string, name: string): bigint | null {
  const m = /^[ \t]*([+-]?[0-9]+)(.*)$/.exec(arg);
  if (!m) {
    ctx.out.err(`Invalid ${name} argument: "${arg}"`);
    return null;
  }
  const v = BigInt.asUintN(64, BigInt(m[1]!));
  if (m[2] === '') return v;
  const units: Record<string, bigint> = { b: 1n, s: 512n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n, p: 1n << 50n, e: 1n << 60n };
  const factor = units[m[2]!.toLowerCase()];
  return factor ? BigInt.asUintN(64, v * factor) / 512n : v;
}

/** The device a subcommand runs on: the listed one, argv[0], -u or -j/-m. */
function deviceOf(ctx: Ctx, argv: string[], names?: { name: string }) {
  if (names) return { name: ctx.dm.unmangle(names.name) };
  if (argv.length) return { name: argv[0]! };
  if (has(ctx.sw, 'uuid')) return { uuid: ctx.sw.value.uuid };
  return { major: ctx.sw.major, minor: ctx.sw.minor };
}

const noDeviceArgs = (ctx: Ctx, argv: string[]) => !argv.length && !has(ctx.sw, 'uuid') && !has(ctx.sw, 'major');

/** _stats_create: one region per device (no --segments, no --filemap). */
const create: CommandFn = async (ctx, argv, names) => {
  ctx.report = undefined;
  if (has(ctx.sw, 'allregions')) { ctx.out.err('Cannot use --allregions with create.'); return false; }
  if (has(ctx.sw, 'allprograms')) { ctx.out.err('Cannot use --allprograms with create.'); return false; }
  if (has(ctx.sw, 'areas') && has(ctx.sw, 'areasize')) { ctx.out.err('Please specify one of --areas and --areasize.'); return false; }
  const progArg = ctx.sw.value.programid;
  if (has(ctx.sw, 'programid') && !progArg && !has(ctx.sw, 'force')) { ctx.out.err('Creating a region with no program id requires --force.'); return false; }
  if (has(ctx.sw, 'filemap') || has(ctx.sw, 'segments')) { ctx.out.err('dmsetup-ts: stats create --filemap and --segments are not emulated.'); return false; }
  if (!names && noDeviceArgs(ctx, argv)) {
    if (!has(ctx.sw, 'alldevices')) { ctx.out.err('Please specify device(s) or use --alldevices.'); return false; }
    return processAll(ctx, argv, create);
  }
  let areas = has(ctx.sw, 'areas') ? BigInt.asUintN(64, BigInt(Math.trunc(Number(ctx.sw.value.areas)) || 0)) : 0n;
  let areaSize = 0n;
  if (has(ctx.sw, 'areasize')) {
    const v = sizeFromString(ctx, ctx.sw.value.areasize ?? '', 'areasize');
    if (v === null) return false;
    areaSize = v;
  }
  areas = areas || 1n;
  let start = 0n, len = 0n;
  if (has(ctx.sw, 'start')) { const v = sizeFromString(ctx, ctx.sw.value.start ?? '', 'start'); if (v === null) return false; start = v; }
  if (has(ctx.sw, 'length')) { const v = sizeFromString(ctx, ctx.sw.value.length ?? '', 'length'); if (v === null) return false; len = v; }
  const programId = progArg || DM_STATS_PROGRAM_ID;
  // _do_stats_create_regions parses --bounds before it asks for the table.
  let bounds: bigint[] | undefined;
  if (has(ctx.sw, 'bounds')) {
    const b = histogramBoundsFromString(ctx.sw.value.bounds ?? '');
    if ('error' in b) { ctx.out.err(b.error); return false; }
    bounds = b;
  }
  const userData = ctx.sw.value.userdata ?? '';
  // _do_stats_create_regions: DM_DEVICE_TABLE for the name and the whole size.
  const st = await ctx.dm.task<{ info: DmInfo; targets: Array<{ start: bigint | number; length: bigint | number }> }>('table', 'tableStatus', deviceOf(ctx, argv, names), { type: 'table' });
  if (!st) return false;
  const devname = ctx.dm.unmangle(st.info.name);
  if (!len) for (const t of st.targets) len += BigInt(t.length);
  const step = areaSize ? areaSize : -areas;
  // dm_stats_create_region: the histogram argument (which may turn precise on),
  // then _stats_create_region's optional arguments, "%d %s %s%s" as libdm prints them.
  let precise = has(ctx.sw, 'precise');
  let histArg = '';
  if (bounds) {
    const h = buildHistogramArg(bounds, precise);
    if ('error' in h) { ctx.out.err(h.error); ctx.out.err(`${devname}: Could not create statistics region.`); return false; }
    histArg = h.arg;
    precise = h.precise;
  }
  const nrOpt = Number(precise) + Number(histArg !== '');
  const opt = nrOpt ? `${nrOpt} ${precise ? 'precise_timestamps' : ''} ${histArg ? 'histogram:' : ''}${histArg}` : '';
  const range = start || len ? `${start}+${len}` : '-';
  const h = new StatsHandle(ctx.dm, { name: devname });
  const reply = await h.send(`@stats_create ${range} ${step < 0n ? '/' : ''}${step < 0n ? -step : step} ${opt} ${programId} ${userData}`);
  if (reply === null) {
    ctx.out.err(`${devname}: Could not create statistics region.`);
    return false;
  }
  const nr = !step || !len ? 1n : step < 0n ? -step : len / step + (len % step ? 1n : 0n);
  ctx.out.print(`${devname}: Created new region with ${nr} area(s) as region ID ${reply.trim()}\n`);
  return true;
};

/** _stats_delete. */
const del: CommandFn = async (ctx, argv, names) => {
  ctx.report = undefined;
  if (has(ctx.sw, 'regionid') && has(ctx.sw, 'groupid')) { ctx.out.err('Please use one of --regionid and --groupid.'); return false; }
  if (!has(ctx.sw, 'regionid') && !has(ctx.sw, 'allregions') && !has(ctx.sw, 'groupid')) {
    ctx.out.err('Please specify a --regionid or --groupid, or use --allregions.');
    return false;
  }
  if (!names && noDeviceArgs(ctx, argv)) {
    if (!has(ctx.sw, 'alldevices')) { ctx.out.err('Please specify device(s) or use --alldevices.'); return false; }
    return processAll(ctx, argv, del);
  }
  if (has(ctx.sw, 'groupid')) { ctx.out.err('dmsetup-ts: stats groups are not emulated.'); return false; }
  const program = has(ctx.sw, 'allprograms') ? '' : ctx.sw.value.programid ?? DM_STATS_PROGRAM_ID;
  const h = new StatsHandle(ctx.dm, deviceOf(ctx, argv, names), program);
  if (has(ctx.sw, 'allregions')) {
    if (!(await h.list(program))) return false;
    for (const r of [...h.regions]) {
      const e = await h.deleteRegion(BigInt(r.id), true);
      if (e !== null) { if (e) ctx.out.err(e); ctx.out.err('Could not delete statistics region.'); return false; }
    }
    return true;
  }
  const e = await h.deleteRegion(regionIdArg(ctx), false);
  if (e !== null) { if (e) ctx.out.err(e); ctx.out.err('Could not delete statistics region'); return false; }
  return true;
};

/** --regionid as dmsetup reads it (atoi into an int, then a uint64_t). */
function regionIdArg(ctx: Ctx): bigint {
  const m = /^[ \t]*([+-]?[0-9]+)/.exec(ctx.sw.value.regionid ?? '');
  return BigInt.asUintN(64, BigInt.asIntN(32, BigInt(m ? m[1]! : '0')));
}

/** _stats_clear. */
const clear: CommandFn = async (ctx, argv, names) => {
  ctx.report = undefined;
  if (!has(ctx.sw, 'regionid') && !has(ctx.sw, 'allregions')) { ctx.out.err('Please specify a --regionid or use --allregions.'); return false; }
  if (!names && noDeviceArgs(ctx, argv)) return processAll(ctx, argv, clear);
  const h = new StatsHandle(ctx.dm, deviceOf(ctx, argv, names));
  if (!(await h.list(''))) return false;
  if (!h.regions.length) return true;
  const ids = has(ctx.sw, 'allregions') ? h.regions.map((r) => BigInt(r.id)) : [regionIdArg(ctx)];
  for (const id of ids) {
    if (!h.regions.some((r) => BigInt(r.id) === id)) { ctx.out.err(`No such region: ${id}.`); return false; }
    if ((await h.send(`@stats_clear ${id}`)) === null) { ctx.out.err(`Clearing statistics region ${id} failed.`); return false; }
  }
  return true;
};

/** _stats_print: each region's @stats_print text (twice per region with --allregions, as dmsetup does). */
const print: CommandFn = async (ctx, argv, names) => {
  ctx.report = undefined;
  if (!has(ctx.sw, 'regionid') && !has(ctx.sw, 'allregions')) { ctx.out.err('Please specify a --regionid or use --allregions.'); return false; }
  if (!names && noDeviceArgs(ctx, argv)) return processAll(ctx, argv, print);
  const h = new StatsHandle(ctx.dm, deviceOf(ctx, argv, names));
  if (!(await h.list(''))) return false;
  const msg = has(ctx.sw, 'clear') ? '@stats_print_clear' : '@stats_print';
  const one = async (id: bigint): Promise<boolean> => {
    const text = h.regions.some((r) => BigInt(r.id) === id) ? await h.send(`${msg} ${id}`) : null;
    if (text === null) { ctx.out.err('Could not print statistics region.'); return false; }
    ctx.out.print(text);
    return true;
  };
  if (!has(ctx.sw, 'allregions')) return one(regionIdArg(ctx));
  for (const r of h.regions) if (!(await one(BigInt(r.id))) || !(await one(BigInt(r.id)))) return false;
  return true;
};

// The stats clock of a repeating report (_update_interval_times).
let cycleTimestamp: bigint | null = null;
let newInterval = false;
let lastInterval = 0n;

/** _do_report_wait's end: the next populate starts a new interval. */
export function newStatsInterval(): void { newInterval = true; }

/**
 * _update_interval_times: the interval the rates are over. The first one is
 * taken to be the configured one (--interval, 1 s); later ones are measured
 * from the start of the previous cycle.
 */
function updateIntervalTimes(ctx: Ctx): bigint {
  const now = process.hrtime.bigint();
  let delta: bigint;
  if (cycleTimestamp === null) {
    delta = BigInt(has(ctx.sw, 'interval') ? Math.max(1, Math.trunc(Number(ctx.sw.value.interval)) || 1) : 1) * 1000000000n;
    newInterval = true;
  } else delta = now - cycleTimestamp;
  if (newInterval) {
    cycleTimestamp = now;
    lastInterval = delta;
    newInterval = false;
  }
  return lastInterval;
}

/** _stats_report / list: report rows for each region (and area) of each device. */
const report: CommandFn = async (ctx, argv, names) => {
  if (!names && noDeviceArgs(ctx, argv)) return processAll(ctx, argv, report);
  const info = await ctx.dm.info(deviceOf(ctx, argv, names));
  if (!info) { ctx.out.err('Device does not exist.'); return false; }
  const rpt = ctx.report;
  if (!rpt) return true;
  const program = has(ctx.sw, 'allprograms') ? '' : ctx.sw.value.programid ?? DM_STATS_PROGRAM_ID;
  const h = new StatsHandle(ctx.dm, { name: ctx.dm.unmangle(info.name) }, program);
  const counters = rpt.statsNeeds === 'counters' || ctx.subcommand !== 'list';
  if (!(counters ? await h.populate(program) : await h.list(program))) return counters;
  // dm_stats_walk: areas, regions (groups are not emulated) as the walk flags say.
  const objtype = has(ctx.sw, 'area') || has(ctx.sw, 'region') || has(ctx.sw, 'group');
  let areas = has(ctx.sw, 'area');
  let regions = objtype ? has(ctx.sw, 'region') : true;
  let skipSingle = false;
  if (!objtype && ctx.subcommand === 'report') { areas = true; skipSingle = true; }
  if (ctx.subcommand === 'list' && has(ctx.sw, 'verbose')) { areas = true; skipSingle = true; }
  const name = ctx.dm.unmangle(info.name);
  const base = { info, name, uuid: ctx.dm.unmangle(info.uuid), mangledName: info.name, mangledUuid: info.uuid };
  const intervalNs = updateIntervalTimes(ctx);
  const rows: Array<{ region: StatsRegion; area: number | null; intervalNs: bigint }> = [];
  // The walk: every area of every region, then the regions' aggregate rows
  // (with DM_STATS_WALK_SKIP_SINGLE_AREA only those of regions of two areas or more).
  if (areas) for (const r of h.regions) for (let a = 0; a < nrAreas(r); a++) rows.push({ region: r, area: a, intervalNs });
  if (regions) for (const r of h.regions) if (!skipSingle || nrAreas(r) >= 2) rows.push({ region: r, area: null, intervalNs });
  for (const row of rows) if (!rpt.add({ ...base, stats: row })) return false;
  return true;
};

const SUBCOMMAND_FNS: Record<string, CommandFn> = {
  clear, create, delete: del, list: report, print, report,
};

export const run: CommandFn = async (ctx, argv, names) => {
  const sub = ctx.subcommand;
  if (sub === 'help') { ctx.report = undefined; return statsHelp(ctx); }
  if (sub === 'version') {
    ctx.report = undefined;
    const { run: version } = await import('./version.js');
    return version(ctx, argv, names);
  }
  const fn = sub !== undefined ? SUBCOMMAND_FNS[sub] : undefined;
  if (!fn) {
    if (sub === 'group' || sub === 'ungroup' || sub === 'update_filemap') {
      ctx.out.err(`dmsetup-ts: stats ${sub} is not emulated.`);
      return false;
    }
    ctx.report = undefined;
    ctx.out.err('Unknown stats command.');
    statsHelp(ctx);
    return false;
  }
  if (has(ctx.sw, 'allprograms') && has(ctx.sw, 'programid')) { ctx.out.err('Please supply one of --allprograms and --programid'); return false; }
  if (has(ctx.sw, 'allregions') && has(ctx.sw, 'regionid')) { ctx.out.err('Please supply one of --allregions and --regionid'); return false; }
  return fn(ctx, argv, names);
};
