// dmsetup's column reports (libdm-report as `info -c` uses it): fields as
// data, widths from the longest value, numbers right-aligned, the header and
// last column padded; --noheadings, --separator, --nameprefixes, --rows, -O.

import type { DmInfo } from '../kernel/dm-ioctl.js';
import { FIELD_HELP_TYPED, SELECTION_HELP } from './selection-help.js';
import { FIELD_HELP } from './report-fields.js';
import type { Ctx } from './command.js';
import { has } from './switches.js';
import { parseSelection, SelectionError, type Selection, type SelectionField } from './selection.js';
import { nrAreas, sizeToString, type StatsRegion } from './stats-handle.js';

/** A `dmsetup stats` row: one area of a region, or the region as a whole. */
export interface StatsRow {
  region: StatsRegion;
  area: number | null;
  /** dm_stats_set_sampling_interval_ns: the interval the rates are over (0: none measured). */
  intervalNs: bigint;
}

/** What a row knows about one device. */
export interface ReportObject {
  /** The device's info (absent for splitname's object, which is a split name only). */
  info?: DmInfo;
  name: string;
  uuid: string;
  mangledName: string;
  mangledUuid: string;
  /** Dependencies; name is the dm name, or null for other block devices. */
  deps?: Array<{ major: number; minor: number; name: string | null; blkName: string }>;
  /** The live dependencies the dependency tree holds (devs_used), when they differ from deps (--inactive). */
  treeDeps?: Array<{ major: number; minor: number; name: string | null; blkName: string }>;
  users?: Array<{ major: number; minor: number; name: string }>;
  /** The read-ahead as read from the device (0 when it has no table). */
  readAhead?: number;
  /** For `dmsetup stats` rows: the region and area reported. */
  stats?: StatsRow;
  /** struct dm_split_name: the uuid's subsystem and an LVM name's parts (made when a field needs it). */
  split?: SplitName;
}

export interface SplitName { subsystem: string; vg: string; lv: string; layer: string }

/** _extract_uuid_prefix: the text before the first separator, or '' without one ('\0': all of it). */
function uuidPrefix(uuid: string, separator: string): string {
  if (separator === '') return uuid;
  const i = uuid.indexOf(separator);
  return i < 0 ? '' : uuid.slice(0, i);
}

/**
 * _unquote: a component up to the first dash that is followed by a character
 * other than a dash (`--` is an escaped `-`, a dash at the very end is kept),
 * and where the next component starts.
 */
function unquote(n: string, start: number): [string, number] {
  let o = '';
  let c = start;
  while (c < n.length) {
    if (c + 1 < n.length && n[c] === '-') {
      if (n[c + 1] === '-') c++;
      else break;
    }
    o += n[c];
    c++;
  }
  return [o, c < n.length ? c + 1 : c];
}

/** dm_split_lvm_name: VG, LV and layer, each unquoted in turn (the layer ends at its own first separator). */
function splitLvmName(n: string): [string, string, string] {
  const [vg, i] = unquote(n, 0);
  const [lv, j] = unquote(n, i);
  const [layer] = unquote(n, j);
  return [vg, lv, layer];
}

/** _get_split_name: the subsystem from a uuid (up to separator); an LVM name is split into its parts. */
export function splitName(uuid: string, name: string, separator: string): SplitName {
  const subsystem = uuidPrefix(uuid, separator);
  const [vg, lv, layer] = subsystem === 'LVM' ? splitLvmName(name) : ['', '', ''];
  return { subsystem, vg, lv, layer };
}

/** The object's split name, made from its uuid and name the first time a field asks (_display_info_cols). */
const split = (o: ReportObject) => (o.split ??= splitName(o.uuid, o.name, '-'));

/**
 * The report types of dmsetup's _report_types[], with their prefixes:
 * `<prefix>all` names every field of the type, and a field may be named with
 * or without its type's prefix.
 */
export type FieldType = 'task' | 'info' | 'deps' | 'tree' | 'name' | 'stats' | 'meta';
const TYPE_PREFIX: Record<FieldType, string> = { task: 'name_', info: 'info_', deps: 'deps_', tree: 'tree_', name: 'splitname_', stats: 'stats_', meta: 'region_' };

interface Field {
  id: string;
  heading: string;
  width: number;
  num: boolean;
  type: FieldType;
  needs?: 'deps' | 'users';
  value(o: ReportObject, noHeadings: boolean): string | number;
  /** What -O sorts by when it is not the value shown (sizes shown with units). */
  sortValue?(o: ReportObject): number;
  /** DM_REPORT_FIELD_TYPE_SIZE: -S compares it in sectors, with units. */
  size?: true;
}

/** A field's report function failed (after logging why): the row is not reported. */
export class FieldFailed extends Error {}

let fieldType: FieldType = 'task';
const f = (id: string, heading: string, width: number, num: boolean, value: Field['value'], needs?: Field['needs']): Field => ({ id, heading, width, num, type: fieldType, value, needs });
const typed = (type: FieldType, fields: () => Field[]): Field[] => { fieldType = type; return fields(); };

const attr = (i: DmInfo) => `${i.livePresent ? 'L' : '-'}${i.inactivePresent ? 'I' : '-'}${i.suspended ? 's' : '-'}${i.readOnly ? 'r' : 'w'}`;

/** A counter of the row (the area's, or the sum over the region's areas). */
function counter(o: ReportObject, i: number): bigint {
  const st = o.stats!;
  const areas = st.region.areas ?? [];
  if (st.area !== null) return areas[st.area]?.[i] ?? 0n;
  return areas.reduce((sum, a) => sum + (a[i] ?? 0n), 0n);
}

/** A time counter in ns: the kernel counts ms unless the region is precise. */
const nsCounter = (o: ReportObject, i: number) => (o.stats!.region.precise ? counter(o, i) : counter(o, i) * 1000000n);

const HIST_BOUNDS_LOWER = 0x10, HIST_BOUNDS_RANGE = 0x30;
const U64_MAX = 0xffffffffffffffffn;

/** The row's histogram bin counts (the area's, or the sum over the region's areas). */
function histCounts(o: ReportObject, bins: number): bigint[] {
  const st = o.stats!;
  const hs = st.region.areaHistograms ?? [];
  const rows = st.area !== null ? [hs[st.area] ?? []] : hs;
  return Array.from({ length: bins }, (_, b) => rows.reduce((sum, h) => sum + (h[b] ?? 0n), 0n));
}

/** _scale_bound_value_to_suffix: the largest whole unit of a bound in ns. */
function scaleBound(v: bigint): string {
  if (!(v % 1000000000n)) return `${v / 1000000000n}s`;
  if (!(v % 1000000n)) return `${v / 1000000n}ms`;
  if (!(v % 1000n)) return `${v / 1000n}us`;
  return `${v}ns`;
}

/** dm_percent_to_float(dm_make_percent(count, total)) printed with %.2f. */
function percent(count: bigint, total: bigint): string {
  if (!total) return '0.00';
  // dm_make_percent: DM_PERCENT_1 (1e6) parts of 100%, rounded down; as a float, two decimals.
  const p = Number((count * 100000000n) / total) / 1000000;
  return p.toFixed(2);
}

/**
 * _get_histogram_string / dm_histogram_to_string (libdm-stats): the bins of
 * the row's region (bounds in ns: the kernel's ms unless precise), with
 * their counts or percentages, lower bounds or ranges, time suffixes; padded
 * to libdm's widths unless --noheadings. '' when the region has no histogram.
 */
function histogramString(o: ReportObject, noHeadings: boolean, rel: boolean, values: boolean, bounds: number): string {
  const r = o.stats!.region;
  if (!r.histogram.length) return '';
  const upper = [...r.histogram.map((b) => (r.precise ? b : b * 1000000n)), U64_MAX];
  const nbins = upper.length;
  const counts = values ? histCounts(o, nbins) : [];
  const total = counts.reduce((a, b) => a + b, 0n);
  let width = noHeadings || !values ? 0 : rel ? 6 : 6;
  const minwidth = width;
  let sep = values && !width ? ':' : '';
  let out = '';
  for (let bin = 0; bin < nbins; bin++) {
    let boundsBuf = '';
    if (bounds) {
      const boundsWidth = !width ? width : 6;
      const lower = bin ? upper[bin - 1]! : 0n;
      const up = upper[bin]!;
      const vsep = values ? ':' : '';
      if (bounds === HIST_BOUNDS_RANGE) {
        boundsBuf = up === U64_MAX ? `>${scaleBound(lower)}`.padStart(boundsWidth) + vsep : `${scaleBound(lower)}-${scaleBound(up)}${vsep}`;
      } else {
        boundsBuf = scaleBound(lower).padStart(boundsWidth) + vsep;
      }
      sep = width || !values ? ',' : ':';
      if (width) width -= boundsBuf.length - (boundsWidth + 1);
      width = width > 0 ? width : 0;
    }
    if (bin === nbins - 1) sep = '';
    if (rel) out += `${boundsBuf}${percent(counts[bin]!, total).padStart(width)}%${sep}`;
    else if (values) out += `${boundsBuf}${String(counts[bin]!).padStart(width)}${sep}`;
    else out += `${boundsBuf}${sep}`;
    width = minwidth;
  }
  return out;
}

/** DM_STATS_WALK_REGION: the area id of a region's aggregate row in a stats walk. */
const DM_STATS_WALK_REGION = 0x2000000000000n;
/**
 * dm_stats_get_current_area_start: start + step * area, in 64 bits; an
 * aggregate row's area is DM_STATS_WALK_REGION, as dmsetup passes it.
 */
const areaOf = (o: ReportObject) => (o.stats!.area === null ? DM_STATS_WALK_REGION : BigInt(o.stats!.area));
/** dm_stats_get_current_area_offset: step * area, in 64 bits (the aggregate row's too). */
const areaOffset = (o: ReportObject) => BigInt.asUintN(64, o.stats!.region.step * areaOf(o));
const areaStart = (o: ReportObject) => {
  const st = o.stats!;
  return BigInt.asUintN(64, st.region.start + st.region.step * (st.area === null ? DM_STATS_WALK_REGION : BigInt(st.area)));
};
/** dm_stats_get_current_area_len: a region's step, for its areas and for the region itself. */
const areaLen = (o: ReportObject) => o.stats!.region.step;
const size = (id: string, heading: string, width: number, get: (o: ReportObject) => bigint): Field =>
  ({ ...f(id, heading, width, true, (o) => sizeToString(get(o))), sortValue: (o) => Number(get(o)), size: true });

/**
 * A derived metric (dm_stats_get_metric over the row's counters): with no
 * sampling interval the metric call fails, and so does the field.
 */
function metric(o: ReportObject, fn: (c: (i: number) => number, interval: number) => number): number {
  const st = o.stats!;
  if (!st.intervalNs) throw new FieldFailed('metric');
  const c = (i: number) => Number(i === 3 || i >= 7 && i !== 8 ? nsCounter(o, i) : counter(o, i));
  return fn(c, Number(st.intervalNs));
}
const NSEC_PER_SEC = 1e9;
const fixed2 = (v: number) => v.toFixed(2);
/** A metric shown as a number with two decimals. */
const rate = (id: string, heading: string, width: number, fn: Parameters<typeof metric>[1]): Field =>
  ({ ...f(id, heading, width, true, (o) => fixed2(metric(o, fn))), sortValue: (o) => metric(o, fn) });
/** A metric shown as a size in sectors, truncated to an integer (dm_size_to_string of (uint64_t) v). */
const sizeRate = (id: string, heading: string, width: number, fn: Parameters<typeof metric>[1]): Field =>
  ({ ...f(id, heading, width, true, (o) => sizeToString(BigInt(Math.trunc(metric(o, fn))))), sortValue: (o) => metric(o, fn) });
const perSec = (n: number, interval: number) => (n * NSEC_PER_SEC) / interval;
const avgWait = (ticks: number, ios: number) => (ios > 0 ? ticks / ios : 0);
const util = (c: (i: number) => number, interval: number) => Math.min(c(9), interval) / interval;
const throughput = (c: (i: number) => number, interval: number) => perSec(c(0) + c(4), interval);

/** dmsetup's counter fields (the raw @stats_print values), metrics and region fields. */
const STATS_FIELDS: Field[] = [
  ...typed('stats', () => [
    f('read_count', '#Reads', 6, true, (o) => String(counter(o, 0))),
    f('reads_merged_count', '#RdMrgs', 7, true, (o) => String(counter(o, 1))),
    f('read_sector_count', '#RdSectors', 10, true, (o) => String(counter(o, 2))),
    f('read_time', 'AccRdTime', 11, true, (o) => String(nsCounter(o, 3))),
    f('write_count', '#Writes', 7, true, (o) => String(counter(o, 4))),
    f('writes_merged_count', '#WrMrgs', 7, true, (o) => String(counter(o, 5))),
    f('write_sector_count', '#WrSectors', 10, true, (o) => String(counter(o, 6))),
    f('write_time', 'AccWrTime', 11, true, (o) => String(nsCounter(o, 7))),
    f('in_progress_count', '#InProg', 7, true, (o) => String(counter(o, 8))),
    f('io_ticks', 'IoTicks', 7, true, (o) => String(nsCounter(o, 9))),
    f('queue_ticks', 'QueueTicks', 10, true, (o) => String(nsCounter(o, 10))),
    f('read_ticks', 'RdTicks', 7, true, (o) => String(nsCounter(o, 11))),
    f('write_ticks', 'WrTicks', 7, true, (o) => String(nsCounter(o, 12))),
    // libdm's merge rates divide by the interval in ns, not in seconds.
    rate('reads_merged_per_sec', 'RMrg/s', 6, (c, t) => c(1) / t),
    rate('writes_merged_per_sec', 'WMrg/s', 6, (c, t) => c(5) / t),
    rate('reads_per_sec', 'R/s', 3, (c, t) => perSec(c(0), t)),
    rate('writes_per_sec', 'W/s', 3, (c, t) => perSec(c(4), t)),
    sizeRate('read_size_per_sec', 'RSz/s', 5, (c, t) => perSec(c(2), t)),
    sizeRate('write_size_per_sec', 'WSz/s', 5, (c, t) => perSec(c(6), t)),
    sizeRate('avg_request_size', 'AvgRqSz', 7, (c) => avgWait(c(2) + c(6), c(0) + c(4))),
    rate('queue_size', 'QSize', 5, (c, t) => (c(10) > 0 ? c(10) / t : 0)),
    // Wait times in ms.
    rate('await', 'AWait', 5, (c) => avgWait(c(3) + c(7), c(0) + c(4)) / 1e6),
    rate('read_await', 'RdAWait', 7, (c) => (c(3) > 0 ? avgWait(c(3), c(0)) : 0) / 1e6),
    rate('write_await', 'WrAWait', 7, (c) => (c(7) > 0 ? avgWait(c(7), c(4)) : 0) / 1e6),
    rate('throughput', 'Throughput', 10, throughput),
    rate('service_time', 'SvcTm', 5, (c, t) => {
      const tput = throughput(c, t), u = util(c, t) * 100;
      return Math.trunc(tput) === 0 || Math.trunc(u) === 0 ? 0 : (NSEC_PER_SEC * (u / 100)) / (100 * tput);
    }),
    rate('util', 'Util%', 5, (c, t) => util(c, t) * 100),
    f('hist_count', 'Histogram Counts', 16, false, (o, nh) => histogramString(o, nh, false, true, 0)),
    f('hist_count_bounds', 'Histogram Counts', 16, false, (o, nh) => histogramString(o, nh, false, true, HIST_BOUNDS_LOWER)),
    f('hist_count_ranges', 'Histogram Counts', 16, false, (o, nh) => histogramString(o, nh, false, true, HIST_BOUNDS_RANGE)),
    f('hist_percent', 'Histogram%', 10, false, (o, nh) => histogramString(o, nh, true, true, 0)),
    f('hist_percent_bounds', 'Histogram%', 10, false, (o, nh) => histogramString(o, nh, true, true, HIST_BOUNDS_LOWER)),
    f('hist_percent_ranges', 'Histogram%', 10, false, (o, nh) => histogramString(o, nh, true, true, HIST_BOUNDS_RANGE)),
    f('interval_ns', 'IntervalNs', 10, true, (o) => String(o.stats!.intervalNs)),
    f('interval', 'Interval', 8, true, (o) => (Number(o.stats!.intervalNs) / NSEC_PER_SEC).toFixed(6)),
  ]),
  ...typed('meta', () => [
    f('region_id', 'RgID', 4, true, (o) => o.stats!.region.id),
    size('region_start', 'RgStart', 7, (o) => o.stats!.region.start),
    size('region_len', 'RgSize', 6, (o) => o.stats!.region.len),
    f('area_id', 'ArID', 4, true, (o) => o.stats!.area ?? 0),
    size('area_start', 'ArStart', 7, areaStart),
    size('area_len', 'ArSize', 6, areaLen),
    size('area_offset', 'ArOff', 5, areaOffset),
    f('area_count', '#Areas', 6, true, (o) => nrAreas(o.stats!.region)),
    f('group_id', 'GrpID', 5, true, () => '-'),
    f('program_id', 'ProgID', 6, false, (o) => o.stats!.region.programId),
    f('user_data', 'UserData', 8, false, (o) => o.stats!.region.userData),
    f('precise', 'Precise', 7, false, (o) => (o.stats!.region.precise ? 1 : 0)),
    f('hist_bins', '#Bins', 9, false, (o) => (o.stats!.region.histogram.length ? o.stats!.region.histogram.length + 1 : 0)),
    f('hist_bounds', 'Histogram Bounds', 16, false, (o, nh) => histogramString(o, nh, false, false, HIST_BOUNDS_LOWER)),
    f('hist_ranges', 'Histogram Ranges', 16, false, (o, nh) => histogramString(o, nh, false, false, HIST_BOUNDS_RANGE)),
    f('stats_name', 'Name', 16, false, (o) => o.name),
    f('obj_type', 'ObjType', 7, false, (o) => (o.stats!.area === null ? 'region' : 'area')),
  ]),
];

const FIELDS: Field[] = [
  ...typed('task', () => [
    f('name', 'Name', 16, false, (o) => o.name),
    f('mangled_name', 'MangledName', 16, false, (o) => o.mangledName),
    f('unmangled_name', 'UnmangledName', 16, false, (o) => o.name),
    f('uuid', 'UUID', 32, false, (o) => o.uuid),
    f('mangled_uuid', 'MangledUUID', 32, false, (o) => o.mangledUuid),
    f('unmangled_uuid', 'UnmangledUUID', 32, false, (o) => o.uuid),
    f('read_ahead', 'RAhead', 6, true, (o) => o.readAhead ?? 256),
  ]),
  ...typed('info', () => [
    f('blkdevname', 'BlkDevName', 16, false, (o) => blkDevName(o)),
    f('attr', 'Stat', 4, false, (o) => attr(o.info!)),
    f('tables_loaded', 'Tables', 6, false, (o) => (o.info!.livePresent ? (o.info!.inactivePresent ? 'Both' : 'Live') : o.info!.inactivePresent ? 'Inactive' : 'None')),
    f('suspended', 'Suspended', 9, false, (o) => (o.info!.suspended ? 'Suspended' : 'Active')),
    f('readonly', 'Read-only', 9, false, (o) => (o.info!.readOnly ? 'Read-only' : 'Writeable')),
    f('devno', 'DevNo', 5, false, (o) => `${o.info!.major}:${o.info!.minor}`),
    f('major', 'Maj', 3, true, (o) => o.info!.major),
    f('minor', 'Min', 3, true, (o) => o.info!.minor),
    f('open', 'Open', 4, true, (o) => o.info!.openCount),
    f('segments', 'Targ', 4, true, (o) => o.info!.targetCount),
    f('events', 'Event', 6, true, (o) => o.info!.eventNr),
  ]),
  ...typed('deps', () => [f('device_count', '#Devs', 5, true, (o) => o.deps!.length, 'deps')]),
  ...typed('tree', () => [f('devs_used', 'DevNamesUsed', 16, false, (o) => (o.treeDeps ?? o.deps!).flatMap((d) => (d.name === null ? [] : [d.name])).join(','), 'deps')]),
  ...typed('deps', () => [
    f('devnos_used', 'DevNosUsed', 16, false, (o) => o.deps!.map((d) => `${d.major}:${d.minor}`).join(','), 'deps'),
    f('blkdevs_used', 'BlkDevNamesUsed', 16, false, (o) => o.deps!.map((d) => d.blkName).join(','), 'deps'),
  ]),
  ...typed('tree', () => [
    f('device_ref_count', '#Refs', 5, true, (o) => o.users!.length, 'users'),
    f('names_using_dev', 'RefNames', 8, false, (o) => o.users!.map((d) => d.name).join(','), 'users'),
    f('devnos_using_dev', 'RefDevNos', 9, false, (o) => o.users!.map((d) => `${d.major}:${d.minor}`).join(','), 'users'),
  ]),
  ...typed('name', () => [
    f('subsystem', 'Subsys', 6, false, (o) => split(o).subsystem),
    f('vg_name', 'VG', 4, false, (o) => split(o).vg),
    f('lv_name', 'LV', 4, false, (o) => split(o).lv),
    f('lv_layer', 'LVLayer', 7, false, (o) => split(o).layer),
  ]),
  ...STATS_FIELDS,
];

/** dm_blk_name: the kernel name from sysfs, which a device without a gendisk does not have. */
function blkDevName(o: ReportObject): string {
  if (!o.info!.hasDisk) {
    process.stderr.write(`Could not resolve block device name for ${o.info!.major}:${o.info!.minor}.\n`);
    throw new FieldFailed('blkdevname');
  }
  return `dm-${o.info!.minor}`;
}

/** dm_report_field_type ids without their underscores, compared without regard to case. */
const canonical = (id: string) => id.replace(/_/g, '').toLowerCase();

/**
 * _get_field and _all_match: the fields a word of -o names, or null. `all`
 * alone is every field of every type, or with a report prefix (the report's
 * one initial type, as splitname's) every field of that type.
 */
function fieldsNamed(word: string, prefixType: FieldType | null, reportTypes: ReadonlySet<FieldType>): Field[] | null {
  const c = canonical(word);
  if (!c) return null;
  const one = FIELDS.find((x) => canonical(x.id) === c);
  if (one) return [one];
  // `all` without a prefix: the report's types (rh->report_types), or every type while it has none yet.
  if (c === 'all' && prefixType === null) return reportTypes.size ? FIELDS.filter((x) => reportTypes.has(x.type)) : FIELDS;
  const types = (Object.keys(TYPE_PREFIX) as FieldType[]).filter((t) => c === canonical(TYPE_PREFIX[t]) + 'all' || (c === 'all' && t === prefixType));
  if (!types.length) return null;
  return FIELDS.filter((x) => types.includes(x.type));
}

const DEFAULT_OPTIONS = 'name,major,minor,attr,open,segments,events,uuid';

/**
 * The words of a field or key list as _parse_fields and _parse_keys walk it:
 * commas before a word are skipped, so an empty word is one at the end
 * after a comma (and it names no field).
 */
function reportWords(list: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < list.length) {
    while (i < list.length && list[i] === ',') i++;
    const start = i;
    while (i < list.length && list[i] !== ',') i++;
    words.push(list.slice(start, i));
  }
  return words;
}

export function fieldHelp(): string { return FIELD_HELP; }

/** The implicit field `selected`: 1 if the row passes -S (rows that do not are then shown too). */
const SELECTED: Field = { id: 'selected', heading: 'Selected', width: 8, num: true, type: 'task', value: () => 1 };

interface Row { o: ReportObject; cells: string[]; sortValues: Array<string | number> }

export class Report {
  private rows: Row[] = [];
  /** -o help: the field list was printed and the report has no fields. */
  helpShown = false;
  private selection: Selection | null = null;
  /** The fields -S names (their types are the report's too). */
  private readonly selectionFields: Field[] = [];
  private constructor(private readonly ctx: Ctx, readonly fields: Field[], private readonly sortKeys: Array<{ field: Field; desc: boolean }>) {}

  /**
   * _report_init: resolve -o / -O (fields named as _get_field and _all_match
   * do: without underscores or case, `<type prefix>all` for a whole type);
   * null after printing why not (with `help`, the list).
   */
  static init(ctx: Ctx, defaults = DEFAULT_OPTIONS, prefixType: FieldType | null = null): Report | null {
    // _report_init: -o replaces the defaults (an empty -o too), '+' appends to them.
    const opt = has(ctx.sw, 'options') ? ctx.sw.value.options : undefined;
    let options = defaults;
    if (opt !== undefined) options = opt.startsWith('+') ? `${defaults},${opt.slice(1)}` : opt;
    const fields: Field[] = [];
    // _parse_fields runs twice: first for the report's types only, then for the fields (where `all` means those types).
    const reportTypes = new Set<FieldType>(prefixType ? [prefixType] : []);
    for (const word of reportWords(options)) {
      for (const x of fieldsNamed(word, prefixType, reportTypes) ?? []) reportTypes.add(x.type);
    }
    for (const word of reportWords(options)) {
      if (word === 'help' || word === '?') {
        process.stderr.write(FIELD_HELP);
        const help = new Report(ctx, [], []);
        help.helpShown = true;
        return help;
      }
      const named = canonical(word) === 'selected' ? [SELECTED] : fieldsNamed(word, prefixType, reportTypes);
      if (!named) {
        process.stderr.write(FIELD_HELP);
        ctx.out.err(`Unrecognised field: ${word}`);
        return null;
      }
      fields.push(...named);
    }
    // _parse_keys and _key_match: [+|-]field, each field a key once.
    const sortKeys: Array<{ field: Field; desc: boolean }> = [];
    for (const key of reportWords(has(ctx.sw, 'sort') ? ctx.sw.value.sort ?? '' : '')) {
      const desc = key.startsWith('-');
      const id = key.replace(/^[+-]/, '');
      const fld = !id ? undefined : canonical(id) === 'selected' ? SELECTED : FIELDS.find((x) => canonical(x.id) === canonical(id));
      if (!fld) {
        if (key && !id) ctx.out.err('dm_report: Missing sort field name');
        process.stderr.write(FIELD_HELP);
        ctx.out.err(`dm_report: Unrecognised field: ${key}`);
        return null;
      }
      if (sortKeys.some((k) => k.field === fld)) {
        ctx.out.err(`dm_report: Ignoring duplicate sort field: ${fld.id}.`);
        continue;
      }
      sortKeys.push({ field: fld, desc });
    }
    const report = new Report(ctx, fields, sortKeys);
    const select = has(ctx.sw, 'select') ? ctx.sw.value.select ?? '' : '';
    if (select.toLowerCase() === 'help' || select === '?') {
      // dm_report_init_with_selection: the help, and the report goes on unselected.
      process.stderr.write(FIELD_HELP_TYPED + SELECTION_HELP);
    } else if (select && select.toLowerCase() !== 'all') {
      try {
        report.selection = parseSelection(select, (id): SelectionField => {
          const c = canonical(id);
          if (c === 'selected') return { implicit: 'selected' };
          if (c === 'help' || id === '?') return { implicit: 'help' };
          const fld = FIELDS.find((x) => canonical(x.id) === c);
          return fld ? { id: fld.id, kind: fld.size ? 'size' : fld.num ? 'number' : 'string' } : null;
        });
        for (const id of report.selection.fieldIds) {
          const fld = FIELDS.find((x) => x.id === id);
          if (fld) report.selectionFields.push(fld);
        }
      } catch (e) {
        if (!(e instanceof SelectionError)) throw e;
        if (e.fieldList) process.stderr.write(FIELD_HELP_TYPED);
        if (e.selectionHelp) process.stderr.write(SELECTION_HELP);
        for (const line of e.lines) ctx.out.err(line);
        return null;
      }
    }
    return report;
  }

  /** Whether a device passes -S (always true without it); a field's report function may fail (FieldFailed). */
  selects(o: ReportObject): boolean {
    return !this.selection || this.selection.matches((id) => {
      if (id === 'selected') return 1;
      const fld = FIELDS.find((x) => x.id === id);
      return fld ? fld.sortValue?.(o) ?? fld.value(o, has(this.ctx.sw, 'noheadings')) : undefined;
    });
  }

  /**
   * dm_report_object_is_selected without output (-S with a command that acts
   * on devices): null after _do_report_object's line when a field failed.
   */
  isSelected(o: ReportObject): boolean | null {
    let current: Field | undefined;
    try {
      for (const fld of this.selectionFields) { current = fld; fld.sortValue?.(o) ?? fld.value(o, has(this.ctx.sw, 'noheadings')); }
      return this.selects(o);
    } catch (e) {
      if (!(e instanceof FieldFailed)) throw e;
      this.ctx.out.err(`_do_report_object: report function failed for field ${current?.id ?? e.message}`);
      return null;
    }
  }

  get selectionNeedsDeps(): boolean { return this.selection !== null; }

  /** What each row needs fetched: read per row, fixed once init has returned (fields, sort keys, selection). */
  private needs?: { deps: boolean; users: boolean; readAhead: boolean; showAll: boolean };
  private get rowNeeds(): NonNullable<Report['needs']> {
    return this.needs ??= {
      deps: this.selectionNeedsDeps || this.fields.some((x) => x.needs === 'deps') || this.sortKeys.some((k) => k.field.needs === 'deps'),
      users: this.selectionNeedsDeps || this.fields.some((x) => x.needs === 'users') || this.sortKeys.some((k) => k.field.needs === 'users'),
      readAhead: [...this.fields, ...this.sortKeys.map((k) => k.field), ...this.selectionFields].some((x) => x.id === 'read_ahead'),
      showAll: this.fields.includes(SELECTED),
    };
  }

  get needsDeps(): boolean { return this.rowNeeds.deps; }
  get needsUsers(): boolean { return this.rowNeeds.users; }

  /** DR_TREE is among the report's types (a field, sort key or the selection): dmsetup builds the whole dependency tree first. */
  get hasTreeType(): boolean { return [...this.fields, ...this.sortKeys.map((k) => k.field), ...this.selectionFields].some((x) => x.type === 'tree'); }

  get needsReadAhead(): boolean { return this.rowNeeds.readAhead; }

  /** The stats fields a report needs: 'meta' (a listed handle), 'counters' (a populated one) or none. */
  get statsNeeds(): 'counters' | 'meta' | null {
    const all = [...this.fields, ...this.sortKeys.map((k) => k.field)];
    return all.some((x) => x.type === 'stats') ? 'counters' : all.some((x) => x.type === 'meta') ? 'meta' : null;
  }

  /**
   * dm_report_object: each field's value, then the selection; a failing
   * field logs _do_report_object's line and the object is not reported (false).
   */
  add(o: ReportObject): boolean {
    let selected = true;
    const showAll = this.rowNeeds.showAll;
    const noHeadings = has(this.ctx.sw, 'noheadings');
    const value = (fld: Field): string | number => (fld === SELECTED ? (selected ? 1 : 0) : fld.value(o, noHeadings));
    let cells: string[], sortValues: Array<string | number>;
    let current: Field | undefined;
    // _report_get_field_data: a field whose type's object is missing (splitname has only a split name).
    const missing = o.info ? undefined : this.fields.find((fld) => fld !== SELECTED && !o.info && (fld.type === 'task' || fld.type === 'info' || fld.type === 'deps' || fld.type === 'tree'));
    if (missing) {
      this.ctx.out.err(`_do_report_object: no data assigned to field ${missing.id}`);
      return false;
    }
    try {
      // The hidden fields -S added come first (_add_field puts them at the head).
      for (const fld of this.selectionFields) { current = fld; fld.sortValue?.(o) ?? fld.value(o, has(this.ctx.sw, 'noheadings')); }
      selected = this.selects(o);
      cells = this.fields.map((fld) => String(value((current = fld))));
      sortValues = this.sortKeys.map((k) => { current = k.field; return k.field.sortValue?.(o) ?? value(k.field); });
    } catch (e) {
      if (!(e instanceof FieldFailed)) throw e;
      this.ctx.out.err(`_do_report_object: report function failed for field ${current!.id}`);
      return false;
    }
    if (selected || showAll) this.rows.push({ o, cells, sortValues });
    return true;
  }

  /**
   * dm_report_output: nothing without rows; then as rows (_output_as_rows:
   * per field its heading and every row's value, never aligned) or as
   * columns (_report_headings, then _output_as_columns). Each value goes
   * through _output_field: the DM_<FIELD>= prefix and quotes with
   * --nameprefixes, padding to the field's width when aligned.
   */
  output(): void {
    const sw = this.ctx.sw;
    // _report_init's flags: --noheadings (':' and unaligned), --nameprefixes (unaligned), --separator (unaligned).
    const headings = !has(sw, 'noheadings');
    const prefixes = has(sw, 'nameprefixes');
    let separator = ' ';
    let aligned = true;
    if (has(sw, 'noheadings')) { separator = ':'; aligned = false; }
    if (prefixes) aligned = false;
    if (has(sw, 'separator') && sw.value.separator !== undefined) { separator = sw.value.separator; aligned = false; }
    const quoted = !has(sw, 'unquoted');
    const rows = this.sorted();
    // The rows are consumed: a repeating report (--count, --interval) starts empty.
    this.rows = [];
    if (rows.length === 0 || this.helpShown) return;
    const values = rows.map((r) => r.cells);
    // _recalculate_fields: each width grows to its longest value. Widths and
    // padding count bytes (strlen, and printf's "%-*.*s"): a UTF-8 name gets
    // fewer spaces than its characters would.
    const bytes = (s: string) => Buffer.byteLength(s);
    const widths = this.fields.map((fld, i) => Math.max(fld.width, ...values.map((v) => bytes(v[i]!))));
    const pad = (s: string, w: number) => ' '.repeat(Math.max(0, w - bytes(s)));
    const field = (i: number, s: string, rowsMode: boolean): string => {
      const fld = this.fields[i]!;
      let v = s;
      if (aligned && !rowsMode) v = fld.num ? pad(s, widths[i]!) + s : s + pad(s, widths[i]!);
      return prefixes ? `DM_${fld.id.toUpperCase()}=${quoted ? `'${v}'` : v}` : v;
    };
    let out = '';
    if (has(sw, 'rows')) {
      this.fields.forEach((fld, i) => {
        out += (headings ? fld.heading + separator : '') + values.map((v) => field(i, v[i]!, true)).join(separator) + '\n';
      });
      this.ctx.out.print(out);
      return;
    }
    if (headings) out += this.fields.map((fld, i) => (aligned ? fld.heading.padEnd(widths[i]!).slice(0, widths[i]!) : fld.heading)).join(separator) + '\n';
    for (const v of values) out += this.fields.map((_fld, i) => field(i, v[i]!, false)).join(separator) + '\n';
    this.ctx.out.print(out);
  }

  private sorted(): Row[] {
    if (!this.sortKeys.length) return this.rows;
    return [...this.rows].sort((a, b) => {
      for (let i = 0; i < this.sortKeys.length; i++) {
        const k = this.sortKeys[i]!;
        const va = a.sortValues[i]!, vb = b.sortValues[i]!;
        const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va) < String(vb) ? -1 : String(va) > String(vb) ? 1 : 0;
        if (c) return k.desc ? -c : c;
      }
      return 0;
    });
  }
}
