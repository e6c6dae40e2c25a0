// libdm-stats as dmsetup uses it: a handle bound to one device, filled from
// the kernel's @stats_list and @stats_print replies, and the report fields
// over its regions and areas (dmsetup's STATS and STATS_META fields).

import type { Libdm, TaskDevice } from './libdm.js';

/** DM_STATS_PROGRAM_ID: the program id dmsetup's regions get by default. */
export const DM_STATS_PROGRAM_ID = 'dmstats';

/** One region as @stats_list describes it, with its areas' counters once printed. */
export interface StatsRegion {
  id: number;
  start: bigint;
  len: bigint;
  step: bigint;
  programId: string;
  /** aux_data without a DMS_GROUP tag; '-' from the kernel is empty. */
  userData: string;
  precise: boolean;
  histogram: bigint[];
  /** The 13 counters of each area (dm_stats_populate), when read. */
  areas?: bigint[][];
  /** Each area's histogram bin counts, when the region has a histogram and was read. */
  areaHistograms?: bigint[][];
}

export function nrAreas(r: StatsRegion): number {
  return Number(r.len / r.step + (r.len % r.step ? 1n : 0n));
}

/** A handle bound to one device (dm_stats_bind_*). */
export class StatsHandle {
  regions: StatsRegion[] = [];
  constructor(private readonly dm: Libdm, readonly dev: TaskDevice, readonly programId = DM_STATS_PROGRAM_ID) {}

  /** _stats_send_message: one @stats message; the reply text, or null after libdm's error line. */
  async send(msg: string): Promise<string | null> {
    const r = await this.dm.task<{ data?: string }>('message', 'targetMessage', this.dev, { sector: 0, message: msg });
    return r ? Buffer.from(r.data ?? '', 'latin1').toString() : null;
  }

  /** dm_stats_list: the regions of programId ('' for every program). */
  async list(programId: string | null = this.programId): Promise<boolean> {
    const reply = await this.send(programId ? `@stats_list ${programId}` : '@stats_list');
    if (reply === null) return false;
    this.regions = [];
    for (const line of reply.split('\n')) {
      const m = /^(\d+): (\d+)\+(\d+) (\d+) (\S+) (\S+)(.*)$/.exec(line);
      if (!m) continue;
      const extra = m[7]!;
      const hist = /histogram:([0-9,]+)/.exec(extra);
      this.regions.push({
        id: Number(m[1]), start: BigInt(m[2]!), len: BigInt(m[3]!), step: BigInt(m[4]!),
        programId: m[5]!, userData: m[6] === '-' ? '' : m[6]!,
        precise: extra.includes('precise_timestamps'),
        histogram: hist ? hist[1]!.split(',').map((x) => BigInt(x)) : [],
      });
    }
    return true;
  }

  /**
   * dm_stats_delete_region: on a handle not yet listed, list it first (its
   * own program's regions); the region must be one of the listed ones.
   * The error line, or null once deleted.
   */
  async deleteRegion(id: bigint, listed: boolean): Promise<string | null | false> {
    if (!listed && !(await this.list(this.programId))) return `Could not obtain region list while deleting region ID ${id}`;
    if (!this.regions.length) return `Could not delete region ID ${id}: no regions found`;
    if (!this.regions.some((r) => BigInt(r.id) === id)) return `Region ID ${id} does not exist`;
    return (await this.send(`@stats_delete ${id}`)) === null ? false : null;
  }

  /**
   * dm_stats_populate: list, then each region's counters. libdm reads them
   * with @stats_print_clear, so every populate (every report) starts a new
   * interval: the counters a report shows are those since the last one.
   */
  async populate(programId: string | null = this.programId): Promise<boolean> {
    if (!(await this.list(programId))) return false;
    for (const r of this.regions) {
      const reply = await this.send(`@stats_print_clear ${r.id}`);
      if (reply === null) return false;
      const lines = reply.split('\n').filter(Boolean);
      r.areas = lines.map((l) => l.split(' ').slice(1, 14).map((x) => BigInt(x)));
      r.areaHistograms = lines.map((l) => (l.split(' ')[14] ?? '').split(':').filter(Boolean).map((x) => BigInt(x)));
      // The region's length as the areas tell it: every area a whole step.
      r.len = BigInt(r.areas.length) * r.step;
    }
    return true;
  }
}

/** dm_size_to_string with units 'h' (powers of 1024, two decimals; 0 as "0"). */
export function sizeToString(sectors: bigint): string {
  if (sectors === 0n) return '0';
  // In 64 bits, as libdm multiplies.
  const bytes = BigInt.asUintN(64, sectors * 512n);
  const suffix = ['e', 'p', 't', 'g', 'm', 'k', 'b'];
  let unit = 1n << 60n;
  let s = 0;
  while (s < 6 && bytes < unit) { unit >>= 10n; s++; }
  // printf's %.2f of bytes / unit: exact, halves to even (the quotient is exact in binary).
  const digits = s === 6 ? 0 : 2;
  const scale = 10n ** BigInt(digits);
  let q = (bytes * scale) / unit;
  const r = (bytes * scale) % unit;
  if (2n * r > unit || (2n * r === unit && q % 2n === 1n)) q++;
  const int = q / scale, frac = q % scale;
  return digits ? `${int}.${String(frac).padStart(digits, '0')}${suffix[s]}` : `${int}b`;
}

const NSEC_PER_USEC = 1000n, NSEC_PER_MSEC = 1000000n, NSEC_PER_SEC = 1000000000n;

/**
 * dm_histogram_bounds_from_string: "n1,n2,..." with optional ns/us/ms/s
 * suffixes, as nanoseconds. The multiplier carries over from one value to
 * the next (libdm never resets it), and the first one is 1 (ns). The bounds,
 * or the error line libdm logs.
 */
export function histogramBoundsFromString(s: string): bigint[] | { error: string } {
  const VALID = '0123456789,muns';
  const out: bigint[] = [];
  let mult = 1n;
  let i = 0;
  const badchar = () => ({ error: `Invalid character in histogram: ${s[i] ?? ''}` });
  do {
    const c = s[i];
    if (c === undefined || !VALID.includes(c)) return badchar();
    if (c === ',') return { error: `Empty histogram bin not allowed: ${s}` };
    // strtoull: digits (none is 0 and leaves the pointer where it was)
    const m = /^[0-9]*/.exec(s.slice(i))![0];
    let v = m ? BigInt.asUintN(64, BigInt(m) > 0xffffffffffffffffn ? 0xffffffffffffffffn : BigInt(m)) : 0n;
    i += m.length;
    if (s[i] === 's') { mult = NSEC_PER_SEC; i++; }
    else if (s[i + 1] === 's') {
      if (s[i] === 'm') mult = NSEC_PER_MSEC;
      else if (s[i] === 'u') mult = NSEC_PER_USEC;
      else if (s[i] === 'n') mult = 1n;
      else return badchar();
      i += 2;
    } else if (s[i] === ',') i++;
    else if (i < s.length) return badchar();
    if (s[i] === ',') i++;
    v = BigInt.asUintN(64, v * mult);
    out.push(v);
  } while (i < s.length);
  return out;
}

/**
 * _build_histogram_arg: the bounds in increasing order, as milliseconds, or
 * as nanoseconds once any of them is not a whole millisecond (which turns
 * precise_timestamps on). The argument and the precise flag, or the error.
 */
export function buildHistogramArg(bounds: bigint[], precise: boolean): { arg: string; precise: boolean } | { error: string } {
  if (!bounds.length) return { error: 'Cannot format empty histogram description.' };
  for (let i = bounds.length - 1; i >= 0; i--) {
    if (i > 0 && bounds[i]! < bounds[i - 1]!) return { error: 'Histogram boundaries must be in order of increasing magnitude.' };
    if (bounds[i]! % NSEC_PER_MSEC && !precise) precise = true;
  }
  const scale = precise ? 1n : NSEC_PER_MSEC;
  return { arg: bounds.map((b) => String(b / scale)).join(','), precise };
}
