// cmirrord's CPG side (lvm2 daemons/cmirrord/cluster.c): one group per log
// uuid; every member applies every request in delivery order and the member
// with the lowest node id answers; joiners get the state in a checkpoint and
// replay what they saw meanwhile; when the server leaves cleanly the others
// resend what it had not answered. A crash resends nothing (the kernel's 15 s
// timeout does), and nothing frees a dead recoverer's recovery slot.

import type { CpgAddress, CpgHandle, NodeId } from '../cpg.js';
import type { LogC } from './functions.js';
import { doRequest } from './functions.js';
import { copyRq, DM_ULOG_CHECKPOINT_READY, DM_ULOG_MEMBER_JOIN, DM_ULOG_RESPONSE, DmUlog, type ClogRequest } from './request.js';

export const DEAD = 0xdead;

/** What a group needs of its daemon (clogd/local.c). */
export interface ClogDaemon {
  readonly nodeid: NodeId;
  /** The official (resumed) log of this uuid. */
  getLog(uuid: string): LogC | undefined;
  /** kernel_send: the answer to the kernel's request with this seq. */
  kernelSend(rq: ClogRequest['rq']): void;
  /** The group is gone (left): forget it. */
  groupGone(g: ClogCpg): void;
  /** cluster_postsuspend: our own leave is final; the log may be resumed (afresh) again. */
  postsuspendFinalize(uuid: string): void;
  debug(msg: string): void;
  nowMs(): number;
}

/** struct clog_cpg. */
export class ClogCpg {
  lowestId = DEAD;
  state: 'INVALID' | 'VALID' | 'LEAVING' = 'INVALID';
  startupList: ClogRequest[] = [];
  workingList: ClogRequest[] = [];
  checkpointRequesters: NodeId[] = [];
  delay = 0;
  resendRequests = false;
  /** Requests re-sent to a new server after the old one left (for status). */
  resent = 0;
  freeMe = false;
  handle!: CpgHandle<ClogRequest>;

  constructor(readonly name: string, private readonly d: ClogDaemon) {}

  get me(): NodeId { return this.d.nodeid; }

  /** cluster_send. */
  send(rq: ClogRequest): void {
    this.handle.mcast({ ...rq, rq: { ...copyRq(rq.rq), luid: 0 } });
  }

  /** cpg_message_callback; a Promise while a disk log's I/O blocks cmirrord. */
  deliver(nodeid: NodeId, msg: ClogRequest): void | Promise<void> {
    const rq: ClogRequest = { ...msg, rq: copyRq(msg.rq) };
    const type = rq.rq.requestType;
    if (nodeid === this.me && !(type & DM_ULOG_RESPONSE) && type !== DmUlog.RESUME && type !== DmUlog.CLEAR_REGION &&
      type !== DM_ULOG_CHECKPOINT_READY) {
      this.workingList.push({ ...rq, rq: copyRq(rq.rq) });
    }
    if (type === DmUlog.POSTSUSPEND && nodeid !== this.me) {
      // The server leaving: what it has not answered must be resent once it is gone.
      if (nodeid < this.me) {
        if (nodeid === this.lowestId) this.resendRequests = true;
        this.delay++;
      }
      return;
    }
    if (this.state === 'LEAVING') return;
    const iAmServer = this.me === this.lowestId;
    if (type === DM_ULOG_CHECKPOINT_READY) {
      if (this.me === rq.originator && rq.checkpoint) {
        if (this.state === 'INVALID') {
          const lc = this.d.getLog(this.name);
          if (!lc) return;
          lc.importCheckpoint(rq.checkpoint);
          this.d.debug(`[${this.name}] Checkpoint data received from ${nodeid}.  Log is now valid`);
          this.state = 'VALID';
          return this.flushStartupList();
        }
        // else: a redundant checkpoint, ignored
      }
      return;
    }
    if (type & DM_ULOG_RESPONSE) {
      this.handleResponse(rq);
    } else {
      rq.originator = nodeid;
      if (this.state === 'INVALID') {
        this.startupList.push({ ...rq, pitServer: this.lowestId });
      } else {
        const p = this.handleRequest(rq, iAmServer);
        if (p) return p.then(() => this.sendCheckpoints());
      }
    }
    this.sendCheckpoints();
  }

  /** The checkpoints asked for, once the log is resumed. */
  private sendCheckpoints(): void {
    const lc = this.d.getLog(this.name);
    while (this.checkpointRequesters.length) {
      if (!lc || lc.state !== 'LOG_RESUMED') break;
      const requester = this.checkpointRequesters.pop()!;
      this.handle.mcast({
        originator: requester, pitServer: this.lowestId,
        rq: { luid: 0, uuid: this.name, seq: 0, requestType: DM_ULOG_CHECKPOINT_READY, error: 0, data: Buffer.alloc(0) },
        checkpoint: lc.exportCheckpoint(requester),
      });
    }
  }

  /** handle_cluster_request: every member applies it; the server answers (after its disk I/O, if any). */
  private handleRequest(rq: ClogRequest, server: boolean): void | Promise<void> {
    const lc = this.d.getLog(this.name);
    const type = rq.rq.requestType;
    if (type === DmUlog.RESUME) {
      // Resumes: only our own, and we answer our kernel ourselves.
      if (rq.originator === this.me && lc) {
        const p = doRequest(lc, rq.rq, rq.originator, server);
        if (p) return p.then(() => this.d.kernelSend(rq.rq));
        this.d.kernelSend(rq.rq);
      }
      return;
    }
    const answer = () => {
      if (server && type !== DmUlog.CLEAR_REGION && type !== DmUlog.POSTSUSPEND) {
        this.send({ ...rq, rq: { ...rq.rq, requestType: type | DM_ULOG_RESPONSE } });
      }
    };
    if (!lc) { rq.rq.error = -22; } else if (type === DmUlog.POSTSUSPEND) {
      this.postsuspend(lc);
    } else {
      const p = doRequest(lc, rq.rq, rq.originator, server);
      if (p) return p.then(answer);
    }
    answer();
  }

  /** clog_postsuspend (only the originator gets here): leave the group, forget the recovery slot. */
  private postsuspend(lc: LogC): void {
    this.state = 'LEAVING';
    this.handle.leave();
    lc.state = 'LOG_SUSPENDED';
    lc.recoveringRegion = -1;
    lc.recoverer = -1;
    lc.delay = this.d.nowMs();
  }

  /** handle_cluster_response: the server's answer to one of ours goes to our kernel. */
  private handleResponse(rq: ClogRequest): void {
    if (rq.originator !== this.me) return;
    const type = rq.rq.requestType & ~DM_ULOG_RESPONSE;
    const i = this.workingList.findIndex((w) => w.rq.seq === rq.rq.seq && w.rq.requestType === type);
    if (i < 0) {
      this.d.debug(`[${this.name}] No match for cluster response: ${DmUlog[type]}:${rq.rq.seq}`);
      return;
    }
    this.workingList.splice(i, 1);
    this.d.kernelSend({ ...rq.rq, requestType: type });
  }

  /** flush_startup_list: checkpoints for later joiners; replay, answering as the point-in-time server. */
  private flushStartupList(): void | Promise<void> {
    const list = this.startupList.splice(0);
    const from = (i: number): void | Promise<void> => {
      for (; i < list.length; i++) {
        const rq = list[i]!;
        if (rq.rq.requestType === DM_ULOG_MEMBER_JOIN) {
          this.checkpointRequesters.push(rq.originator);
        } else {
          const p = this.handleRequest(rq, rq.pitServer === this.me);
          if (p) { const next = i + 1; return p.then(() => from(next)); }
        }
      }
      this.sendCheckpoints();
    };
    return from(0);
  }

  /** cpg_confchg: joins, then leaves, then resends if the old server left. */
  confchg(members: readonly NodeId[], left: readonly CpgAddress[], joined: readonly CpgAddress[]): void | Promise<void> {
    for (const j of joined) this.joinCallback(j.nodeid, members);
    const leaves = (i: number): void | Promise<void> => {
      for (; i < left.length; i++) {
        if (this.freeMe) return;
        const p = this.leaveCallback(left[i]!.nodeid, members);
        if (p) { const next = i + 1; return p.then(() => leaves(next)); }
      }
      this.resend();
    };
    return leaves(0);
  }

  private lowest(members: readonly NodeId[]): void {
    this.lowestId = members.length ? Math.min(...members) : DEAD;
  }

  private joinCallback(joined: NodeId, members: readonly NodeId[]): void {
    if (members.length === 1) {
      this.lowestId = joined;
      this.state = 'VALID';
    }
    if (joined !== this.me) {
      if (!this.startupList.length && this.state === 'VALID') this.checkpointRequesters.push(joined);
      else this.startupList.push({ originator: joined, pitServer: DEAD, rq: { luid: 0, uuid: this.name, seq: 0, requestType: DM_ULOG_MEMBER_JOIN, error: 0, data: Buffer.alloc(0) } });
    }
    this.lowest(members);
  }

  private leaveCallback(left: NodeId, members: readonly NodeId[]): void | Promise<void> {
    if (left === this.me) {
      // Our own leave: the log goes back to pending (cluster_postsuspend), the POSTSUSPEND is answered, the rest dropped.
      this.d.postsuspendFinalize(this.name);
      for (const rq of this.workingList.splice(0)) if (rq.rq.requestType === DmUlog.POSTSUSPEND) this.d.kernelSend(rq.rq);
      this.freeMe = true;
      this.lowestId = DEAD;
      this.state = 'INVALID';
      this.d.groupGone(this);
      return;
    }
    this.startupList = this.startupList.filter((rq) => !(rq.rq.requestType === DM_ULOG_MEMBER_JOIN && rq.originator === left));
    this.checkpointRequesters = this.checkpointRequesters.filter((n) => n !== left);
    if (left < this.me) {
      this.delay = this.delay > 0 ? this.delay - 1 : 0;
      if (!this.delay && !this.workingList.length) this.resendRequests = false;
    }
    this.lowest(members);
    if (!members.length) return;
    if (this.state === 'INVALID') {
      // Everyone who could have sent us a checkpoint has gone: act as the first to join.
      const joins = 1 + this.startupList.filter((rq) => rq.rq.requestType === DM_ULOG_MEMBER_JOIN).length;
      if (joins === members.length) {
        this.state = 'VALID';
        return this.flushStartupList();
      }
    }
  }

  /** resend_requests: after the server left, what it did not answer goes out again. */
  private resend(): void {
    if (!this.resendRequests || this.delay || this.state !== 'VALID') return;
    this.resendRequests = false;
    for (const rq of this.workingList.splice(0)) {
      switch (rq.rq.requestType) {
        case DmUlog.SET_REGION_SYNC:
          // Every replica applied it already: answer locally.
          this.d.kernelSend({ ...rq.rq, data: Buffer.alloc(0) });
          break;
        case DmUlog.RESUME:
          break;
        default:
          this.resent++;
          this.d.debug(`[${this.name}] Resending ${DmUlog[rq.rq.requestType]}(${rq.rq.seq}) due to new server(${this.lowestId})`);
          this.send(rq);
      }
    }
  }
}
