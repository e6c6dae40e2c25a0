// One cluster node: an emulated kernel of its own (mapped devices, loop
// devices, kernel log) with cmirrord beside it, on the cluster's shared
// clock. A crash stops both where they stand; a restart boots a fresh kernel.

import type { Clock, Timer } from '../kernel/clock.js';
import type { Kernel } from '../kernel/kernel.js';
import { bootKernel } from '../targets/modules.js';
import { setUlogTransport } from '../targets/mirror/log-userspace.js';
import { Cmirrord } from './cmirrord/clogd.js';
import type { GroupTransport, NodeId } from './cpg.js';
import { dmCmirrorModule } from './dm-cmirror.js';
import { NodeUlogTransport } from './ulog-transport.js';

/** The shared clock as one node sees it: nothing of a dead node runs any more. */
export class NodeClock implements Clock {
  dead = false;
  constructor(private readonly base: Clock) {}
  get virtual(): boolean { return this.base.virtual; }
  nowMs(): number { return this.base.nowMs(); }
  setTimer(ms: number, fn: () => void): Timer { return this.base.setTimer(ms, () => { if (!this.dead) fn(); }); }
  defer(fn: () => void): void { this.base.defer(() => { if (!this.dead) fn(); }); }
  settle(): Promise<void> { return this.base.settle(); }
}

export type NodeState = 'up' | 'crashed' | 'down';

export class ClusterNode {
  kernel: Kernel | null = null;
  cmirrord: Cmirrord | null = null;
  private clock: NodeClock | null = null;
  state: NodeState = 'down';
  /** Boots so far (a restart is a new boot). */
  boots = 0;

  /** Where each boot's cmirrord output lines go (the cluster process: a file per node). */
  cmirrordOutput: (line: string) => void = () => undefined;

  constructor(readonly id: NodeId, private readonly base: Clock, private readonly cpg: GroupTransport,
    private readonly patches: Readonly<Record<string, boolean>>) {}

  /** Boot the kernel and start the cluster log service on it. */
  boot(): Kernel {
    if (this.state === 'up') throw new Error(`node ${this.id} is already up`);
    this.clock = new NodeClock(this.base);
    const kernel = bootKernel({ clock: this.clock, patches: this.patches });
    const d = new Cmirrord(this.id, kernel, this.cpg, this.clock, (l) => this.cmirrordOutput(l));
    setUlogTransport(kernel, new NodeUlogTransport(kernel, () => this.cmirrord));
    kernel.loadModule(dmCmirrorModule);
    this.cpg.nodeUp?.(this.id);
    this.kernel = kernel;
    this.cmirrord = d;
    this.state = 'up';
    this.boots++;
    return kernel;
  }

  /** The node fails: kernel and daemon stop mid-flight, the group sees it go. */
  crash(): void {
    if (this.state !== 'up') throw new Error(`node ${this.id} is not up`);
    this.clock!.dead = true;
    this.cmirrord!.stop();
    this.cpg.crash(this.id);
    this.release();
    this.state = 'crashed';
  }

  /** Clean shutdown: remove every device (suspending mirrors leaves their groups), then stop. */
  async shutdown(): Promise<void> {
    if (this.state !== 'up') { this.state = 'down'; return; }
    await this.kernel!.shutdown();
    this.clock!.dead = true;
    this.cmirrord!.stop();
    this.cpg.crash(this.id, false); // anything left (a log never suspended) goes as the process exits
    this.cpg.nodeDown?.(this.id);
    this.release();
    this.state = 'down';
  }

  /** Close the loop devices' files of a stopped kernel. */
  private release(): void {
    for (const l of this.kernel?.loopDevices() ?? []) {
      if (!l.attached) continue;
      l.openCount = 0;
      try { l.detach(); } catch { /* already gone */ }
    }
  }

  get up(): boolean { return this.state === 'up'; }
}
