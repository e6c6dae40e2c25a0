// The group transport with corosync CPG semantics (closed process groups):
// join, leave, crash, and multicast delivered to every member in one total
// order, with membership changes at the same point of every member's stream.
// GroupTransport is what cmirrord needs of libcpg; SimCpg is the in-process,
// seeded implementation a real engine (corosync, etcd) can stand in for.

import type { Clock } from '../kernel/clock.js';
import { corosyncLine, nodeFailureSteps } from './corosync-log.js';

export type NodeId = number;

/** struct cpg_address: who joined or left, and why. */
export interface CpgAddress { nodeid: NodeId; reason: 'join' | 'leave' | 'nodedown' }

/** cpg_callbacks_t: deliver (cpg_deliver_fn) and confchg (cpg_confchg_fn). */
export interface CpgCallbacks<M> {
  deliver(nodeid: NodeId, msg: M): void;
  confchg(members: readonly NodeId[], left: readonly CpgAddress[], joined: readonly CpgAddress[]): void;
}

/** One member's handle on one group (cpg_handle_t after cpg_join). */
export interface CpgHandle<M> {
  readonly nodeid: NodeId;
  readonly group: string;
  /** cpg_mcast_joined(CPG_TYPE_AGREED). Ignored once the handle has left. */
  mcast(msg: M): void;
  /** cpg_leave: the leave confchg reaches the other members and this one. */
  leave(): void;
}

export interface GroupTransport {
  /** cpg_initialize + cpg_join. */
  join<M>(nodeid: NodeId, group: string, cb: CpgCallbacks<M>): CpgHandle<M>;
  /**
   * The node failed (nodeFailure, the default: after the token and consensus
   * timeouts, "nodedown") or only its cmirrord process went ("procdown", at once):
   * it leaves every group; its undelivered messages are lost.
   */
  crash(nodeid: NodeId, nodeFailure?: boolean): void;
  /** The node's corosync joins the ring (boot) or leaves it cleanly (shutdown). */
  nodeUp?(nodeid: NodeId): void;
  nodeDown?(nodeid: NodeId): void;
  /** The ring's members now (corosync's runtime.members). */
  ringMembers?(): NodeId[];
}

/** mulberry32: a small seeded PRNG, so every schedule replays exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Event =
  | { kind: 'msg'; group: string; from: NodeId; msg: unknown; dropped: boolean }
  | { kind: 'confchg'; group: string; left: CpgAddress[]; joined: CpgAddress[] };

interface Member { nodeid: NodeId; cb: CpgCallbacks<unknown>; handle: SimHandle }

interface Group {
  /** Members as of the last delivered event (the current view). */
  view: Member[];
  /** Members that joined or left but whose confchg is still queued. */
  joining: Member[];
  left: Set<SimHandle>;
}

/** One event of the delivery stream, for traces and step checks. */
export interface CpgTraceEvent { at: number; group: string; what: string }

class SimHandle implements CpgHandle<unknown> {
  active = true;
  /** Its node failed: nothing more is delivered to it. */
  dead = false;
  constructor(private readonly sim: SimCpg, readonly nodeid: NodeId, readonly group: string) {}
  mcast(msg: unknown): void { if (this.active) this.sim.enqueue({ kind: 'msg', group: this.group, from: this.nodeid, msg, dropped: false }); }
  leave(): void {
    if (!this.active) return;
    this.active = false;
    this.sim.enqueue({ kind: 'confchg', group: this.group, left: [{ nodeid: this.nodeid, reason: 'leave' }], joined: [] });
  }
}

/**
 * corosync's totem timings (corosync.conf totem.token, totem.consensus; the
 * defaults of corosync 3.1.7): a node that stops answering is declared gone
 * after the token timeout, and the new membership forms after consensus.
 * Until then nothing is delivered in any group.
 */
export interface TotemTimings { tokenMs: number; consensusMs: number }
export const COROSYNC_DEFAULT_TIMINGS: TotemTimings = { tokenMs: 3000, consensusMs: 3600 };

export interface SimCpgOptions {
  seed?: number;
  /** Token and consensus timeouts; default corosync's (3000 ms, 3600 ms). */
  timings?: TotemTimings;
  /** Delivery latency is drawn from 0..maxLatencyMs (ms of the clock); order is kept. */
  maxLatencyMs?: number;
  /** Called after every delivered event (invariant checks, traces). */
  onEvent?: (e: CpgTraceEvent) => void;
  /** Describe a message for the trace. */
  describe?: (msg: unknown) => string;
  /** A line of a node's corosync log (its stderr, as corosync -f writes it). */
  corosyncLog?: (nodeid: NodeId, line: string) => void;
}

/**
 * The in-process CPG: one totally ordered stream of events for all groups,
 * delivered on the (shared) kernel clock after a seeded latency, never
 * reordered. A confchg takes effect for every member at its place in the stream.
 */
export class SimCpg implements GroupTransport {
  private readonly groups = new Map<string, Group>();
  private readonly queue: Event[] = [];
  private readonly rand: () => number;
  private lastAt = 0;
  private readonly handles = new Set<SimHandle>();
  /** The nodes of the ring (corosync's membership): booted ones, until their failure is agreed on. */
  private readonly ring = new Set<NodeId>();
  /** Nodes whose corosync has stopped with them (until they boot again). */
  private readonly failed = new Set<NodeId>();
  /** The ring's sequence number (the ".seq" of a ring id), one more at every new membership. */
  private ringSeq = 0x10;

  constructor(private readonly clock: Clock, private readonly opts: SimCpgOptions = {}) {
    this.rand = prng(opts.seed ?? 1);
  }

  private group(name: string): Group {
    let g = this.groups.get(name);
    if (!g) { g = { view: [], joining: [], left: new Set() }; this.groups.set(name, g); }
    return g;
  }

  join<M>(nodeid: NodeId, group: string, cb: CpgCallbacks<M>): CpgHandle<M> {
    const handle = new SimHandle(this, nodeid, group);
    this.handles.add(handle);
    this.group(group).joining.push({ nodeid, cb: cb as CpgCallbacks<unknown>, handle });
    this.enqueue({ kind: 'confchg', group, left: [], joined: [{ nodeid, reason: 'join' }] });
    return handle as CpgHandle<M>;
  }

  /** A node's corosync joins the ring (at boot). */
  nodeUp(nodeid: NodeId): void { this.ring.add(nodeid); this.failed.delete(nodeid); }

  /** The ring's members now, as corosync reports them (runtime.members). */
  ringMembers(): NodeId[] { return [...this.ring].sort((a, b) => a - b); }

  crash(nodeid: NodeId, nodeFailure = true): void {
    // Its messages not yet delivered are lost, all of them.
    for (const e of this.queue) if (e.kind === 'msg' && e.from === nodeid) e.dropped = true;
    if (nodeFailure) this.ringFailure(nodeid);
    for (const h of this.handles) {
      if (h.nodeid !== nodeid || !h.active) continue;
      h.active = false;
      h.dead = true;
      this.enqueue({ kind: 'confchg', group: h.group, left: [{ nodeid, reason: nodeFailure ? 'nodedown' : 'leave' }], joined: [] });
    }
  }

  private ringFailure(nodeid: NodeId): void {
    // The token stops coming round: nothing more is delivered, in any group, until
    // the token timeout declares the node gone and consensus forms the new ring.
    const t = this.opts.timings ?? COROSYNC_DEFAULT_TIMINGS;
    const wait = t.tokenMs + t.consensusMs;
    const formed = this.clock.nowMs() + wait;
    this.lastAt = Math.max(this.lastAt, formed);
    if (!this.ring.has(nodeid)) return;
    this.failed.add(nodeid);
    this.clock.setTimer(wait, () => this.ring.delete(nodeid));
    // What the others' corosync logs say meanwhile.
    const log = this.opts.corosyncLog;
    const members = [...this.ring].filter((n) => !this.failed.has(n)).sort((a, b) => a - b);
    if (!log || members.length === 0) return;
    const ringId = `${members[0]!.toString(16)}.${(++this.ringSeq).toString(16)}`;
    const failedAt = this.clock.nowMs();
    for (const step of nodeFailureSteps(nodeid, members, t.tokenMs, t.consensusMs, ringId)) {
      this.clock.setTimer(step.afterMs, () => {
        const now = new Date();
        const elapsed = String(Math.floor(this.clock.nowMs() - failedAt));
        for (const n of members) {
          if (!this.ring.has(n) || this.failed.has(n)) continue; // failed (or shut down) meanwhile
          for (const [level, subsys, msg] of step.lines) log(n, corosyncLine(now, level, subsys, msg.replace('ELAPSED', elapsed)));
        }
      });
    }
  }

  /** A clean shutdown: corosync leaves the ring at once (its groups were left already). */
  nodeDown(nodeid: NodeId): void { this.ring.delete(nodeid); }

  /** Events not yet delivered. */
  get pending(): number { return this.queue.filter((e) => !(e.kind === 'msg' && e.dropped)).length; }

  /** Members of a group in the current view. */
  members(group: string): NodeId[] { return (this.groups.get(group)?.view ?? []).map((m) => m.nodeid); }

  enqueue(e: Event): void {
    this.queue.push(e);
    const maxLatency = this.opts.maxLatencyMs ?? 2;
    const latency = Math.floor(this.rand() * (maxLatency + 1));
    const now = this.clock.nowMs();
    const at = Math.max(this.lastAt, now + latency);
    this.lastAt = at;
    // Without latency an event due now is delivered as deferred work (as the
    // members' poll wakes on corosync's socket), not a timer tick later: a
    // resync's three round trips per region then cost no timer ticks. Later
    // ones (a ring being re-formed after a failure) wait for their time.
    if (maxLatency === 0 && at <= now) this.clock.defer(() => this.deliverNext());
    else this.clock.setTimer(at - now, () => this.deliverNext());
  }

  /** Deliver the event at the head of the stream (one per timer, in order). */
  private deliverNext(): void {
    const e = this.queue.shift();
    if (!e) return;
    const g = this.group(e.group);
    if (e.kind === 'msg') {
      if (e.dropped) return;
      // Delivered to the view at this point of the stream (members that have left get nothing more).
      for (const m of [...g.view].sort((a, b) => a.nodeid - b.nodeid)) {
        if (m.handle.dead) continue;
        m.cb.deliver(e.from, e.msg);
      }
      this.opts.onEvent?.({ at: this.clock.nowMs(), group: e.group, what: `deliver from ${e.from}: ${this.opts.describe?.(e.msg) ?? ''}` });
      return;
    }
    for (const j of e.joined) {
      const i = g.joining.findIndex((m) => m.nodeid === j.nodeid);
      if (i >= 0) g.view.push(...g.joining.splice(i, 1));
    }
    const leavers: Member[] = [];
    for (const l of e.left) {
      const i = g.view.findIndex((m) => m.nodeid === l.nodeid);
      if (i >= 0) leavers.push(...g.view.splice(i, 1));
    }
    const members = g.view.map((m) => m.nodeid).sort((a, b) => a - b);
    // Everyone in the new view sees it; a node leaving cleanly sees its own leave; a crashed one sees nothing.
    const to = [...g.view.filter((m) => !m.handle.dead), ...leavers.filter((m) => e.left.some((l) => l.nodeid === m.nodeid && l.reason === 'leave'))];
    for (const m of to.sort((a, b) => a.nodeid - b.nodeid)) m.cb.confchg(members, e.left, e.joined);
    for (const m of leavers) this.handles.delete(m.handle);
    this.opts.onEvent?.({
      at: this.clock.nowMs(), group: e.group,
      what: `confchg members [${members.join(',')}]${e.joined.map((j) => ` +${j.nodeid}`).join('')}${e.left.map((l) => ` -${l.nodeid}(${l.reason})`).join('')}`,
    });
  }
}
