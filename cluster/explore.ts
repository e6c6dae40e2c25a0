// Seeded exploration: each seed gives one short schedule (nodes bringing up a
// cluster mirror at different times, writes from every node, maybe a crash),
// run on a virtual clock with the invariants checked after every delivered
// message and every write that reaches a leg. The same seed replays the same
// schedule and prints the same trace.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Bio, ReqOp } from '../kernel/bio.js';
import { blkdevWrite } from '../kernel/blkdev-io.js';
import type { VirtualClock } from '../kernel/clock.js';
import { Cluster } from './cluster.js';
import { prng } from './cpg.js';
import { checkLegs, checkReplicas, checkWrite, DATA_INVARIANTS, type Violation } from './invariants.js';

export interface ExploreOptions {
  /** The seed patch (is_remote_recovering requeue) on every node. */
  patch: boolean;
  ordering?: 'patch' | 'wrong';
  /** Where the leg files live (a fresh temporary directory by default). */
  dir?: string;
}

type Action =
  | { at: number; kind: 'start'; node: number }
  | { at: number; kind: 'write'; node: number; region: number; fill: number }
  | { at: number; kind: 'crash'; node: number };

export interface Schedule { seed: number; nodes: number; regions: number; regionSectors: number; latency: number; actions: Action[] }

export interface ScheduleResult {
  seed: number;
  /** The first violation of any invariant (none of the known divergences). */
  violations: Violation[];
  /** The first violation of each data invariant (DATA_INVARIANTS), even after other violations. */
  data: Violation[];
  known: Violation[];
  trace: string[];
}

const UUID = 'explore-mirror';

/** The schedule a seed stands for. */
export function scheduleOf(seed: number): Schedule {
  const rand = prng(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const nodes = 2 + pick(2);
  const regions = 4 + pick(5);
  const actions: Action[] = [{ at: 0, kind: 'start', node: 1 }];
  const startAt = [0, 0];
  for (let n = 2; n <= nodes; n++) {
    const at = pick(25);
    startAt[n] = at;
    actions.push({ at, kind: 'start', node: n });
  }
  const writes = 2 + pick(5);
  for (let i = 0; i < writes; i++) {
    const node = 1 + pick(nodes);
    actions.push({ at: startAt[node]! + 1 + pick(40), kind: 'write', node, region: pick(regions), fill: 0xa0 + pick(0x50) });
  }
  if (rand() < 0.3) {
    const node = 1 + pick(nodes);
    actions.push({ at: startAt[node]! + 1 + pick(40), kind: 'crash', node });
  }
  actions.sort((a, b) => a.at - b.at);
  return { seed, nodes, regions, regionSectors: 8, latency: 1 + pick(3), actions };
}

function describe(a: Action): string {
  switch (a.kind) {
    case 'start': return `t=${a.at}ms node ${a.node}: create and resume the mirror`;
    case 'write': return `t=${a.at}ms node ${a.node}: write region ${a.region} (fill 0x${a.fill.toString(16)})`;
    case 'crash': return `t=${a.at}ms node ${a.node}: crash`;
  }
}

/** Run one seeded schedule; violations are those seen first (the run stops adding after the first step that has any). */
export async function runSchedule(seed: number, opts: ExploreOptions): Promise<ScheduleResult> {
  const s = scheduleOf(seed);
  const dir = opts.dir ?? scratch();
  const legs = [path.join(dir, 'leg0'), path.join(dir, 'leg1')];
  const sectors = s.regions * s.regionSectors;
  const leg0 = Buffer.alloc(sectors * 512);
  for (let r = 0; r < s.regions; r++) leg0.fill(r + 1, r * s.regionSectors * 512, (r + 1) * s.regionSectors * 512);
  fs.writeFileSync(legs[0]!, leg0);
  fs.writeFileSync(legs[1]!, Buffer.alloc(sectors * 512));

  const trace: string[] = [`seed ${seed}: ${s.nodes} nodes, ${s.regions} regions of ${s.regionSectors} sectors, latency 0..${s.latency} ms, patch ${opts.patch ? 'on' : 'off'}`];
  const violations: Violation[] = [];
  const data: Violation[] = [];
  const known: Violation[] = [];
  let ended = false;
  const note = (v: Violation[], where: string) => {
    for (const x of v) {
      if (x.known) {
        if (!known.some((k) => k.known === x.known)) {
          known.push(x);
          trace.push(`KNOWN ${x.invariant} (${where}, ${x.known}): ${x.detail}`);
        }
      } else {
        const newData = DATA_INVARIANTS.includes(x.invariant) && !data.some((d) => d.invariant === x.invariant);
        if (violations.length && !newData) continue;
        if (!violations.length) violations.push(x);
        if (newData) data.push(x);
        trace.push(`VIOLATION ${x.invariant} (${where}): ${x.detail}`);
      }
    }
  };
  const cluster = new Cluster({
    nodes: s.nodes, seed, virtualClock: true, maxLatencyMs: s.latency,
    params: { remoteRecoveringCheck: opts.patch, inSyncOrdering: opts.ordering ?? 'patch' },
    onEvent: (e) => {
      if (ended) return;
      trace.push(`  ${e.at}ms ${e.what}`);
      note(checkReplicas(cluster), 'after delivery');
    },
  });
  const clock = cluster.clock as VirtualClock;
  cluster.up();
  for (const n of cluster.nodes) {
    const k = n.kernel!;
    for (const [i, f] of legs.entries()) {
      const loop = k.loopAttach(i, f);
      // Watch what reaches the shared disks from this node.
      const submit = loop.submitBio.bind(loop);
      loop.submitBio = (bio: Bio) => {
        if (bio.op === ReqOp.WRITE && bio.size) note(checkWrite(cluster, UUID, n.id, Math.floor(bio.sector / s.regionSectors)), `write by node ${n.id}`);
        submit(bio);
      };
    }
  }
  const table = `userspace 3 ${UUID} clustered-core ${s.regionSectors} 2 /dev/loop0 0 /dev/loop1 0`;
  for (const a of s.actions) {
    clock.setTimer(a.at, () => {
      const n = cluster.node(a.node);
      if (!n.up) return;
      trace.push(describe(a));
      const k = n.kernel!;
      if (a.kind === 'start') {
        k.dmIoctl.devCreate('m');
        k.dmIoctl.tableLoad({ name: 'm' }, [{ start: 0, length: sectors, type: 'mirror', params: table }]);
        void k.dmIoctl.devResume({ name: 'm' }).catch((e: Error) => trace.push(`  node ${a.node}: resume failed: ${e.message}`));
      } else if (a.kind === 'write') {
        const md = k.lookupDevPath('/dev/mapper/m');
        if (md) void blkdevWrite(md, a.region * s.regionSectors, Buffer.alloc(s.regionSectors * 512, a.fill), 4096).catch(() => undefined);
      } else {
        n.crash();
      }
    });
  }
  const end = Math.max(...s.actions.map((a) => a.at)) + 500;
  // The end is one timer: check and stop everything inside it, so nothing runs after it.
  await new Promise<void>((resolve) => clock.setTimer(end, () => {
    note(checkLegs(cluster, UUID, legs, s.regionSectors), 'at the end');
    ended = true;
    for (const n of cluster.nodes) if (n.up) n.crash();
    resolve();
  }));
  if (!opts.dir) fs.rmSync(dir, { recursive: true, force: true });
  return { seed, violations, data, known, trace };
}

export interface ExploreSummary {
  schedules: number;
  violating: number;
  first: ScheduleResult | null;
  /** Schedules violating a data invariant (a write into a region another node recovers, legs differing once in sync). */
  dataViolating: number;
  firstData: ScheduleResult | null;
  /** Schedules violating each data invariant. */
  byDataInvariant: Record<string, number>;
  /** The last schedule run (its trace, for a replay of one seed). */
  last: ScheduleResult | null;
  /** Schedules with a known cmirrord divergence only, by kind. */
  known: Record<string, number>;
  ms: number;
}

/** A scratch directory, in memory where the system has one (opening files there is much cheaper). */
function scratch(): string {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return fs.mkdtempSync(path.join(base, 'dmsetup-ts-explore-'));
}

/** Run seeds from..from+count-1; stops at the first violation if stopAtFirst. */
export async function explore(from: number, count: number, opts: ExploreOptions & { stopAtFirst?: boolean }): Promise<ExploreSummary> {
  const dir = opts.dir ?? scratch();
  const t0 = performance.now();
  let violating = 0, first: ScheduleResult | null = null, last: ScheduleResult | null = null, n = 0;
  let dataViolating = 0, firstData: ScheduleResult | null = null;
  const byDataInvariant: Record<string, number> = Object.fromEntries(DATA_INVARIANTS.map((i) => [i, 0]));
  const known: Record<string, number> = {};
  try {
    for (let seed = from; seed < from + count; seed++) {
      n++;
      const r = await runSchedule(seed, { ...opts, dir });
      last = r;
      for (const k of r.known) known[k.known!] = (known[k.known!] ?? 0) + 1;
      for (const d of r.data) byDataInvariant[d.invariant]!++;
      if (r.data.length) {
        dataViolating++;
        firstData ??= r;
      }
      if (r.violations.length) {
        violating++;
        first ??= r;
        if (opts.stopAtFirst) break;
      }
    }
  } finally {
    if (!opts.dir) fs.rmSync(dir, { recursive: true, force: true });
  }
  return { schedules: n, violating, first, dataViolating, firstData, byDataInvariant, last, known, ms: performance.now() - t0 };
}
