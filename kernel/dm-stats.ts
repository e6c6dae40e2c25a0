// dm-stats (drivers/md/dm-stats.c): I/O statistics regions of a mapped
// device, created and read through the @stats_* messages the DM core handles
// itself. Each region is split into areas of `step` sectors, each with the
// counters /proc/diskstats has, counted from the bios the device completes.

import { KernelError, type Errno } from './errno.js';
import type { DmLogger } from './klog.js';
import type { Clock } from './clock.js';
import { sscanfInt, sscanfU32, sscanfU64 } from '../tables/args.js';

const U64 = (1n << 64n) - 1n;
/** INT_MAX: the largest region id. */
const INT_MAX = 0x7fffffff;
/** CONFIG_HZ of Debian's kernel: jiffies advance every 4 ms. */
const HZ = 250;
/** The oracle machine's memory; dm-stats may use a quarter of it (DM_STATS_MEMORY_FACTOR). */
const TOTALRAM_BYTES = 512 * 1024 * 1024;
const DM_STATS_MEMORY_FACTOR = 4;
/** sizeof(struct dm_stat_shared), sizeof(struct dm_stat_percpu) (one possible CPU), sizeof(struct dm_stat) with NR_CPUS 8192. */
const SHARED_ENTRY_BYTES = 120n;
const PERCPU_ENTRY_BYTES = 104n;
const DM_STAT_BYTES = 160n + 8n * 8192n;
const STAT_PRECISE_TIMESTAMPS = 1;

// ---- the sscanf conversions the stats messages use (tables/args.ts) ------

/** sscanf(s, "%llu+%llu%c") == 2: the first '+' ends the first number. */
function scanRange(s: string): [bigint, bigint] | undefined {
  const plus = s.indexOf('+');
  if (plus < 0) return undefined;
  const a = sscanfU64(s.slice(0, plus)), b = sscanfU64(s.slice(plus + 1));
  return a !== undefined && b !== undefined ? [a, b] : undefined;
}

/** sscanf(s, "/%u%c") == 1. */
function scanDivisor(s: string): number | undefined {
  return s[0] === '/' ? sscanfU32(s.slice(1)) : undefined;
}

// ---- regions and their counters ------------------------------------------------

/** struct dm_stat_percpu folded to one CPU, plus the shared in-flight state. */
interface Area {
  sectors: [number, number];
  ios: [number, number];
  merges: [number, number];
  ticks: [number, number];
  ioTicks: [number, number];
  ioTicksTotal: number;
  timeInQueue: number;
  histogram: number[] | null;
  inFlight: [number, number];
  stamp: number;
}

interface Region {
  id: number;
  flags: number;
  start: bigint;
  end: bigint;
  step: bigint;
  areas: Area[];
  histogramBoundaries: bigint[];
  programId: string;
  auxData: string;
}

/** What the core keeps for one bio between its start and end accounting (struct dm_stats_aux). */
export interface StatsAux { merged: boolean; startJiffies: number; startNs: number }

const newArea = (hist: number): Area => ({
  sectors: [0, 0], ios: [0, 0], merges: [0, 0], ticks: [0, 0], ioTicks: [0, 0], ioTicksTotal: 0, timeInQueue: 0,
  histogram: hist ? new Array<number>(hist + 1).fill(0) : null, inFlight: [0, 0], stamp: 0,
});

/** The result of a message the DM core handled: r as message_for_md returns it. */
export type CoreMessageResult = { handled: false } | { handled: true; result?: string };

/** struct dm_stats: one per mapped device. */
export class DmStats {
  private regions: Region[] = [];
  private lastSector = U64;
  private lastRw = -1;
  private readonly log: DmLogger;

  constructor(private readonly clock: Clock, log: (prefix: string) => DmLogger) {
    this.log = log('stats');
  }

  /** dm_stats_used: whether any region exists (bios are only accounted then). */
  used(): boolean { return this.regions.length > 0; }

  private jiffies(): number { return Math.floor((this.clock.nowMs() * HZ) / 1000); }
  private nowNs(): number { return Math.floor(this.clock.nowMs() * 1e6); }

  // ---- the messages -----------------------------------------------------------

  /**
   * dm_stats_message: { handled: false } when argv[0] is no stats message
   * (r == 2); throws KernelError for a refused one, after "Invalid parameters".
   */
  message(argv: string[], deviceSize: bigint): CoreMessageResult {
    const cmd = argv[0]!.toLowerCase();
    let r: { result?: string } | Errno;
    switch (cmd) {
      case '@stats_create': r = this.messageCreate(argv, deviceSize); break;
      case '@stats_delete': r = this.withId(argv, 2, (s) => { this.regions.splice(this.regions.indexOf(s), 1); return {}; }); break;
      case '@stats_clear': r = this.withId(argv, 2, (s) => { this.clear(s, 0, s.areas.length); return { result: '' }; }); break;
      case '@stats_list': r = argv.length < 1 || argv.length > 2 ? 'EINVAL' : { result: this.list(argv[1]) }; break;
      case '@stats_print': r = this.messagePrint(argv, false); break;
      case '@stats_print_clear': r = this.messagePrint(argv, true); break;
      case '@stats_set_aux': r = this.withId(argv, 3, (s) => { s.auxData = argv[2]!; return {}; }); break;
      default: return { handled: false };
    }
    if (typeof r === 'string') {
      if (r === 'EINVAL') this.log.err(`Invalid parameters for message ${argv[0]}`);
      throw new KernelError(r);
    }
    return { handled: true, result: r.result };
  }

  /** The messages naming one region: argc must be n, argv[1] an id >= 0 that exists (else ENOENT). */
  private withId(argv: string[], n: number, fn: (s: Region) => { result?: string }): { result?: string } | Errno {
    if (argv.length !== n) return 'EINVAL';
    const id = sscanfInt(argv[1]!);
    if (id === undefined || id < 0) return 'EINVAL';
    const s = this.regions.find((x) => x.id === id);
    return s ? fn(s) : 'ENOENT';
  }

  /** message_stats_create: <range> <step> [<features>] [<program_id> [<aux_data>]]. */
  private messageCreate(argv: string[], deviceSize: bigint): { result: string } | Errno {
    if (argv.length < 3) return 'EINVAL';
    let i = 1;
    const a = argv[i++]!;
    let start: bigint, len: bigint;
    if (a === '-') {
      start = 0n;
      len = deviceSize || 1n;
    } else {
      const r = scanRange(a);
      if (!r) return 'EINVAL';
      [start, len] = r;
    }
    const end = BigInt.asUintN(64, start + len);
    if (start >= end) return 'EINVAL';
    const b = argv[i++]!;
    let step: bigint;
    const divisor = scanDivisor(b);
    if (divisor !== undefined) {
      if (!divisor) return 'EINVAL';
      const span = end - start;
      step = span / BigInt(divisor) + (span % BigInt(divisor) ? 1n : 0n);
      if (!step) step = 1n;
    } else {
      const v = sscanfU64(b);
      if (v === undefined || !v) return 'EINVAL';
      step = v;
    }
    let flags = 0;
    let boundaries: bigint[] = [];
    const f = argv[i];
    const nFeatures = f === undefined ? undefined : sscanfU64(f);
    if (nFeatures !== undefined) {
      i++;
      for (let k = BigInt.asUintN(32, nFeatures); k > 0n; k--) {
        const feat = argv[i++];
        if (feat === undefined) return 'EINVAL';
        if (feat.toLowerCase() === 'precise_timestamps') flags |= STAT_PRECISE_TIMESTAMPS;
        else if (feat.slice(0, 10).toLowerCase() === 'histogram:') {
          if (boundaries.length) return 'EINVAL';
          const h = parseHistogram(feat.slice(10));
          if (!h) return 'EINVAL';
          boundaries = h;
        } else return 'EINVAL';
      }
    }
    const programId = argv[i++] ?? '-';
    const auxData = argv[i++] ?? '-';
    if (i < argv.length) return 'EINVAL';
    const id = this.create(start, end, step, flags, boundaries, programId, auxData);
    return typeof id === 'string' ? id : { result: String(id) };
  }

  /** dm_stats_create: the lowest free id, or an errno. */
  private create(start: bigint, end: bigint, step: bigint, flags: number, boundaries: bigint[], programId: string, auxData: string): number | Errno {
    const span = end - start;
    const nEntries = span / step + (span % step ? 1n : 0n);
    // The size_t overflow checks, then check_shared_memory.
    const fits = (v: bigint) => v <= U64;
    const histBytes = BigInt(boundaries.length + 1) * nEntries * 8n;
    if (!fits(nEntries + 1n) || !fits(nEntries * SHARED_ENTRY_BYTES + DM_STAT_BYTES) || !fits(nEntries * PERCPU_ENTRY_BYTES) || !fits(histBytes)) return 'EOVERFLOW';
    const bytes = nEntries * (SHARED_ENTRY_BYTES + PERCPU_ENTRY_BYTES) + DM_STAT_BYTES + (boundaries.length ? 2n * histBytes : 0n);
    if (bytes > BigInt(TOTALRAM_BYTES / DM_STATS_MEMORY_FACTOR)) return 'ENOMEM';
    let id = 0;
    let at = 0;
    for (; at < this.regions.length; at++) {
      if (this.regions[at]!.id > id) break;
      if (id === INT_MAX) return 'ENFILE';
      id++;
    }
    const areas: Area[] = [];
    for (let n = 0; n < Number(nEntries); n++) areas.push(newArea(boundaries.length));
    this.regions.splice(at, 0, { id, flags, start, end, step, areas, histogramBoundaries: boundaries, programId, auxData });
    return id;
  }

  /** dm_stats_list: `<id>: <start>+<len> <step> <program_id> <aux_data>[ precise_timestamps][ histogram:...]`. */
  private list(program: string | undefined): string {
    let out = '';
    for (const s of this.regions) {
      if (program !== undefined && program !== s.programId) continue;
      out += `${s.id}: ${s.start}+${s.end - s.start} ${s.step} ${s.programId} ${s.auxData}`;
      if (s.flags & STAT_PRECISE_TIMESTAMPS) out += ' precise_timestamps';
      if (s.histogramBoundaries.length) out += ` histogram:${s.histogramBoundaries.join(',')}`;
      out += '\n';
    }
    return out;
  }

  /** message_stats_print: <id> [<start_area> <nr_areas>] ('-' for either keeps the default). */
  private messagePrint(argv: string[], clear: boolean): { result: string } | Errno {
    if (argv.length !== 2 && argv.length !== 4) return 'EINVAL';
    const id = sscanfInt(argv[1]!);
    if (id === undefined || id < 0) return 'EINVAL';
    let idxStart = 0n, idxLen = U64;
    if (argv.length > 3) {
      if (argv[2] !== '-') { const v = sscanfU64(argv[2]!); if (v === undefined) return 'EINVAL'; idxStart = v; }
      if (argv[3] !== '-') { const v = sscanfU64(argv[3]!); if (v === undefined) return 'EINVAL'; idxLen = v; }
    }
    const s = this.regions.find((x) => x.id === id);
    if (!s) return 'ENOENT';
    const n = BigInt(s.areas.length);
    let idxEnd = BigInt.asUintN(64, idxStart + idxLen);
    if (idxEnd < idxStart || idxEnd > n) idxEnd = n;
    if (idxStart > idxEnd) idxStart = idxEnd;
    let out = '';
    let start = s.start + s.step * idxStart;
    for (let x = Number(idxStart); x < Number(idxEnd); x++, start += s.step) {
      const a = s.areas[x]!;
      this.round(s, a);
      const ms = (j: number) => this.toMsec(s, j);
      out += `${start}+${s.step} ${a.ios[0]} ${a.merges[0]} ${a.sectors[0]} ${ms(a.ticks[0])} ${a.ios[1]} ${a.merges[1]} ${a.sectors[1]} ${ms(a.ticks[1])} ` +
        `${a.inFlight[0] + a.inFlight[1]} ${ms(a.ioTicksTotal)} ${ms(a.timeInQueue)} ${ms(a.ioTicks[0])} ${ms(a.ioTicks[1])}`;
      if (a.histogram) out += a.histogram.map((h, k) => (k ? ':' : ' ') + h).join('');
      out += '\n';
    }
    if (clear) this.clear(s, Number(idxStart), Number(idxEnd));
    return { result: out };
  }

  /** __dm_stat_clear: the counters start again from zero (in-flight I/O stays in flight). */
  private clear(s: Region, from: number, to: number): void {
    for (let x = from; x < to; x++) {
      const a = s.areas[x]!;
      this.round(s, a);
      const fresh = newArea(s.histogramBoundaries.length);
      a.sectors = fresh.sectors; a.ios = fresh.ios; a.merges = fresh.merges; a.ticks = fresh.ticks;
      a.ioTicks = fresh.ioTicks; a.ioTicksTotal = 0; a.timeInQueue = 0; a.histogram = fresh.histogram;
    }
  }

  /** dm_jiffies_to_msec64 (precise regions count in ns already). */
  private toMsec(s: Region, j: number): number {
    return s.flags & STAT_PRECISE_TIMESTAMPS ? j : Math.floor((j * 1000) / HZ);
  }

  // ---- accounting ---------------------------------------------------------

  /** dm_stat_round: time passed while I/O was in flight is added to the busy and queue times. */
  private round(s: Region, a: Area): void {
    const now = s.flags & STAT_PRECISE_TIMESTAMPS ? this.nowNs() : this.jiffies();
    const d = now - a.stamp;
    if (!d) return;
    if (a.inFlight[0]) a.ioTicks[0] += d;
    if (a.inFlight[1]) a.ioTicks[1] += d;
    if (a.inFlight[0] + a.inFlight[1]) {
      a.ioTicksTotal += d;
      a.timeInQueue += (a.inFlight[0] + a.inFlight[1]) * d;
    }
    a.stamp = now;
  }

  /** A new StatsAux for a bio about to be started (alloc_io). */
  newAux(): StatsAux { return { merged: false, startJiffies: this.jiffies(), startNs: this.nowNs() }; }

  /**
   * dm_stats_account_io: at the start (end = false) and the end of each bio
   * the device handles; rw 0 = read, 1 = write (bio_data_dir).
   */
  accountIo(rw: 0 | 1, sector: number, sectors: number, end: boolean, aux: StatsAux): void {
    if (!sectors) return;
    const endSector = BigInt(sector) + BigInt(sectors);
    const bi = BigInt(sector);
    let durationJiffies = 0;
    let durationNs = 0;
    if (!end) {
      aux.merged = bi === this.lastSector && (rw === 1) === (this.lastRw === 1);
      this.lastSector = endSector;
      this.lastRw = rw;
    } else {
      durationJiffies = this.jiffies() - aux.startJiffies;
      durationNs = this.nowNs() - aux.startNs;
    }
    for (const s of this.regions) {
      if (endSector <= s.start || bi >= s.end) continue;
      let rel: bigint, todo: bigint;
      if (bi < s.start) { rel = 0n; todo = endSector - s.start; } else { rel = bi - s.start; todo = endSector - bi; }
      if (endSector > s.end) todo -= endSector - s.end;
      let entry = Number(rel / s.step);
      let offset = rel % s.step;
      do {
        const a = s.areas[entry];
        if (!a) return;
        let frag = todo;
        if (frag > s.step - offset) frag = s.step - offset;
        this.forEntry(s, a, rw, Number(frag), aux, end, durationJiffies, durationNs);
        todo -= frag;
        entry++;
        offset = 0n;
      } while (todo !== 0n);
    }
  }

  /** dm_stat_for_entry. */
  private forEntry(s: Region, a: Area, rw: 0 | 1, len: number, aux: StatsAux, end: boolean, durationJiffies: number, durationNs: number): void {
    this.round(s, a);
    if (!end) { a.inFlight[rw]++; return; }
    a.inFlight[rw]--;
    a.sectors[rw] += len;
    a.ios[rw] += 1;
    a.merges[rw] += aux.merged ? 1 : 0;
    let duration: number;
    if (!(s.flags & STAT_PRECISE_TIMESTAMPS)) {
      a.ticks[rw] += durationJiffies;
      duration = Math.floor((durationJiffies * 1000) / HZ);
    } else {
      a.ticks[rw] += durationNs;
      duration = durationNs;
    }
    if (a.histogram) {
      const b = s.histogramBoundaries;
      let lo = 0, hi = b.length + 1;
      while (lo + 1 < hi) {
        const mid = (lo + hi) >> 1;
        if (b[mid - 1]! > BigInt(duration)) hi = mid; else lo = mid;
      }
      a.histogram[lo]!++;
    }
  }
}

/** parse_histogram: strictly increasing `%llu` boundaries separated by commas. */
function parseHistogram(h: string): bigint[] | null {
  const out: bigint[] = [];
  let last = 0n;
  for (const piece of h.split(',')) {
    const v = sscanfU64(piece);
    if (v === undefined || v <= last) return null;
    out.push((last = v));
  }
  return out;
}
