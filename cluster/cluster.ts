// A cluster of N emulated nodes sharing files as disks, joined by one CPG on
// one clock: what `dmsetup-ts cluster` serves and what exploration drives.

import { RealClock, VirtualClock, type Clock } from '../kernel/clock.js';
import { SimCpg, type CpgTraceEvent, type TotemTimings } from './cpg.js';
import { describeClog } from './cmirrord/request.js';
import { ClusterNode } from './node.js';

export interface ClusterOptions {
  nodes: number;
  seed?: number;
  /** A virtual clock (exploration, tests) or real time (the CLI). */
  virtualClock?: boolean;
  /**
   * Delivery latency of the group transport, 0..maxLatencyMs: by default 2 ms
   * on a virtual clock (exploration draws orderings from it) and none on real
   * time (the CLI's cluster), where a real ring's sub-millisecond latency is
   * below anything a dmsetup command could see.
   */
  maxLatencyMs?: number;
  /** corosync's token and consensus timeouts (default corosync's own, 3000 and 3600 ms). */
  timings?: TotemTimings;
  /** The kernel patches of every node (targets/mirror/patches.ts); unnamed ones keep their default. */
  patches?: Readonly<Record<string, boolean>>;
  onEvent?: (e: CpgTraceEvent) => void;
  /** Each node's corosync log lines (cs_log). */
  corosyncLog?: (nodeid: number, line: string) => void;
}

export class Cluster {
  readonly clock: Clock;
  readonly cpg: SimCpg;
  readonly nodes: ClusterNode[] = [];

  constructor(readonly opts: ClusterOptions) {
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 32) throw new Error(`a cluster has 1 to 32 nodes, not ${opts.nodes}`);
    this.clock = opts.virtualClock ? new VirtualClock() : new RealClock();
    this.cpg = new SimCpg(this.clock, { seed: opts.seed, maxLatencyMs: opts.maxLatencyMs ?? (opts.virtualClock ? 2 : 0), timings: opts.timings, onEvent: opts.onEvent, describe: describeClog, corosyncLog: opts.corosyncLog });
    for (let i = 1; i <= opts.nodes; i++) this.nodes.push(new ClusterNode(i, this.clock, this.cpg, opts.patches ?? {}));
  }

  /** Node by id (1-based); throws a readable error for a bad id. */
  node(id: number): ClusterNode {
    const n = this.nodes[id - 1];
    if (!n || !Number.isInteger(id)) throw new Error(`no node ${id} (nodes are 1 to ${this.nodes.length})`);
    return n;
  }

  up(): void { for (const n of this.nodes) if (!n.up) n.boot(); }

  async down(): Promise<void> {
    for (const n of this.nodes) await n.shutdown();
  }
}
