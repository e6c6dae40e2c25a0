// Seeded exploration: each seed gives one short schedule (nodes bringing up a
// cluster mirror at different times, writes from every node, maybe a crash),
// run on a virtual clock with the invariants checked after every delivered
// message and every write that reaches a leg. The same seed replays the same
// schedule and prints the same trace.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Bio, bioEndio, ReqOp } from '../kernel/bio.js';
import { blkdevWrite } from '../kernel/blkdev-io.js';
import type { VirtualClock } from '../kernel/clock.js';
import { formatPatches, resolvePatches } from '../targets/mirror/patches.js';
import type { MirrorSet } from '../targets/mirror/raid1.js';
import { Cluster } from './cluster.js';
import { prng } from './cpg.js';
import { checkLegs, checkReplicas, checkWrite, DATA_INVARIANTS, type Violation } from './invariants.js';

export interface ExploreOptions {
  /** The kernel patches of every node (targets/mirror/patches.ts); unnamed ones keep their default. */
  patches?: Readonly<Record<string, boolean>>;
  /**
   * Schedules may also lose the primary leg (leg 0 fails for every node, as a
   * shared disk does) with writes after it; the mirror handles errors.
   */
  legFailures?: boolean;
  /** Where the leg files live (a fresh temporary directory by default). */
  dir?: string;
}

type Action =
  | { at: number; kind: 'start'; node: number }
  | { at: number; kind: 'write'; node: number; region: number; fill: number }
  | { at: number; kind: 'crash'; node: number }
  | { at: number; kind: 'fail-leg' };

export interface Schedule {
  seed: number; nodes: number; regions: number; regionSectors: number; latency: number; actions: Action[];
  /** The table says handle_errors (schedules with a leg failure). */
  handleErrors: boolean;
}

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

/** What exploration compares: the seed patch off and on, and the two in-sync orderings the seed warns against. */
export const VARIANTS: readonly { name: string; patches: Readonly<Record<string, boolean>> }[] = [
  { name: 'patch off', patches: { 'is-remote-recovering': false } },
  { name: 'patch on', patches: {} },
  { name: '(a) fail-mirror-sync-count', patches: { 'fail-mirror-sync-count': true } },
  { name: '(b) in-sync-cleared-by-count', patches: { 'in-sync-cleared-by-count': true } },
];

/** The schedule a seed stands for. */
export function scheduleOf(seed: number, legFailures = false): Schedule {
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
  const latency = 1 + pick(3);
  // Drawn last, so that without leg failures every seed is the schedule it always was.
  if (legFailures) {
    const at = 30 + pick(40);
    actions.push({ at, kind: 'fail-leg' });
    for (let i = 1 + pick(3); i > 0; i--) {
      actions.push({ at: at + 1 + pick(30), kind: 'write', node: 1 + pick(nodes), region: pick(regions), fill: 0xa0 + pick(0x50) });
    }
  }
  actions.sort((a, b) => a.at - b.at);
  return { seed, nodes, regions, regionSectors: 8, latency, actions, handleErrors: legFailures };
}

function describe(a: Action): string {
  switch (a.kind) {
    case 'start': return `t=${a.at}ms node ${a.node}: create and resume the mirror`;
    case 'write': return `t=${a.at}ms node ${a.node}: write region ${a.region} (fill 0x${a.fill.toString(16)})`;
    case 'crash': return `t=${a.at}ms node ${a.node}: crash`;
    case 'fail-leg': return `t=${a.at}ms leg 0 (the primary) fails under every node`;
  }
}

/** Run one seeded schedule; violations are those seen first (the run stops adding after the first step that has any). */
export async function runSchedule(seed: number, opts: ExploreOptions): Promise<ScheduleResult> {
  const s = scheduleOf(seed, opts.legFailures);
  const dir = opts.dir ?? scratch();
  const legs = [path.join(dir, 'leg0'), path.join(dir, 'leg1')];
  const sectors = s.regions * s.regionSectors;
  const leg0 = Buffer.alloc(sectors * 512);
  for (let r = 0; r < s.regions; r++) leg0.fill(r + 1, r * s.regionSectors * 512, (r + 1) * s.regionSectors * 512);
  fs.writeFileSync(legs[0]!, leg0);
  fs.writeFileSync(legs[1]!, Buffer.alloc(sectors * 512));

  const patches = resolvePatches(opts.patches);
  const trace: string[] = [`seed ${seed}: ${s.nodes} nodes, ${s.regions} regions of ${s.regionSectors} sectors, latency 0..${s.latency} ms${s.handleErrors ? ', handle_errors' : ''}, patches ${formatPatches(patches)}`];
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
    patches,
    onEvent: (e) => {
      if (ended) return;
      trace.push(`  ${e.at}ms ${e.what}`);
      note(checkReplicas(cluster), 'after delivery');
    },
  });
  const clock = cluster.clock as VirtualClock;
  // The primary leg's disk: once dead, every bio to it fails, from every node.
  let legDead = false;
  let diedAtMs = 0;
  /** Nodes whose set was in sync when the leg died: fail_mirror must switch their primary. */
  const inSyncAtFailure = new Set<number>();
  const mirrorSet = (n: (typeof cluster.nodes)[number]): MirrorSet | undefined =>
    n.kernel?.dmIoctl.deviceByName('m')?.live?.targets[0]?.target as MirrorSet | undefined;
  /**
   * The writer's kernel did not ask: the region is below the in_sync_hint it
   * last got (sync_search - 1). cmirrord never lowers sync_search when a
   * failed write takes a region out of sync (clog_set_region_sync), so a
   * region behind it that another node recovers from the priority list is
   * "not recovering" to the kernel (userspace_is_remote_recovering).
   */
  const belowHint = (n: (typeof cluster.nodes)[number], region: number): boolean => {
    const log = mirrorSet(n)?.dirtyLog as { inSyncHint?: number } | undefined;
    return log?.inSyncHint !== undefined && region < log.inSyncHint;
  };
  cluster.up();
  for (const n of cluster.nodes) {
    const k = n.kernel!;
    for (const [i, f] of legs.entries()) {
      const loop = k.loopAttach(i, f);
      // Watch what reaches the shared disks from this node.
      const submit = loop.submitBio.bind(loop);
      loop.submitBio = (bio: Bio) => {
        if (bio.op === ReqOp.WRITE && bio.size) {
          const region = Math.floor(bio.sector / s.regionSectors);
          note(checkWrite(cluster, UUID, n.id, region).map((v) => belowHint(n, region) ? { ...v, known: 'in_sync_hint not lowered' } : v), `write by node ${n.id}`);
        }
        if (i === 0 && legDead) {
          bioEndio(bio, 'EIO');
          return;
        }
        submit(bio);
      };
    }
  }
  const table = `userspace 3 ${UUID} clustered-core ${s.regionSectors} 2 /dev/loop0 0 /dev/loop1 0${s.handleErrors ? ' 1 handle_errors' : ''}`;
  for (const a of s.actions) {
    clock.setTimer(a.at, () => {
      if (a.kind === 'fail-leg') {
        trace.push(describe(a));
        legDead = true;
        diedAtMs = clock.nowMs();
        for (const n of cluster.nodes) if (n.up && mirrorSet(n)?.inSync) inSyncAtFailure.add(n.id);
        trace.push(`  in sync when it failed: ${[...inSyncAtFailure].map((id) => `node ${id}`).join(', ') || 'no node'}`);
        return;
      }
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
    // A dead leg need not match the other one.
    if (!legDead) note(checkLegs(cluster, UUID, legs, s.regionSectors), 'at the end');
    // fail_mirror refuses to switch only while the set is out of sync; a node
    // that saw it in sync must not refuse (nosync writes never reach fail_mirror).
    for (const n of cluster.nodes) {
      if (!n.up || !inSyncAtFailure.has(n.id)) continue;
      const said = n.kernel!.klog.read().find((l) => l.usecs >= diedAtMs * 1000 && l.text.includes('failed while out-of-sync'));
      if (said) note([{ invariant: 'primary-switch-when-in-sync', detail: `node ${n.id} saw the set in sync when leg 0 failed, yet kept it as primary: ${said.text}` }], 'at the end');
    }
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
