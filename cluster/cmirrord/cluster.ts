// cmirrord's CPG side (lvm2 daemons/cmirrord/cluster.c): one group per log
// uuid; every member applies every request in delivery order and the member
// with the lowest node id answers; joiners get the state in a checkpoint and
// replay what they saw meanwhile; when the server leaves cleanly the others
// resend what it had not answered. A crash resends nothing (the kernel's 15 s
// timeout does), and nothing frees a dead recoverer's recovery slot.

import type { CpgAddress, CpgHandle, NodeId } from '../cpg.js';
import type { LogC } from './functions.js';
import { doRequest, shortUuid, SprintRing } from './functions.js';
import { copyRq, DM_ULOG_CHECKPOINT_READY, DM_ULOG_MEMBER_JOIN, DM_ULOG_RESPONSE, DmUlog, type Checkpoint, type ClogRequest } from './request.js';

export const DEAD = 0xdead;
/** DEBUGGING_HISTORY: the group's command history (LOG_SPRINT of cluster.c), a ring. */
const DEBUGGING_HISTORY = 100;
const EINVAL = -22;

/** _RQ_TYPE: "DM_ULOG_<name>" of a request type (the response bit left out). */
export function rqTypeName(type: number): string {
  if (type === DM_ULOG_CHECKPOINT_READY) return 'DM_ULOG_CHECKPOINT_READY';
  if (type === DM_ULOG_MEMBER_JOIN) return 'DM_ULOG_MEMBER_JOIN';
  return `DM_ULOG_${DmUlog[type & ~DM_ULOG_RESPONSE] ?? '(null)'}`;
}

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
  postsuspendFinalize(uuid: string, luid: number): void;
  debug(msg: string): void;
  /** LOG_ERROR: a line of cmirrord's output. */
  print(line: string): void;
  /** kill(getpid(), SIGUSR1): the state dump (log_debug, cluster_debug). */
  sigusr1(): void;
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
  /** cpg_state (debugging only): VALID (1) once joined, INVALID (0) once destroy_cluster_cpg left. */
  cpgState = 1;
  handle!: CpgHandle<ClogRequest>;
  /** debugging[] and idx: the command history cluster_debug prints. */
  private readonly debugging = new SprintRing(DEBUGGING_HISTORY);

  /** luid: the log whose resume made the group (cluster_postsuspend finds that one). */
  constructor(readonly name: string, private readonly d: ClogDaemon, readonly luid = 0) {}

  /** LOG_SPRINT. */
  sprint(line: string): void { this.debugging.sprint(line); }

  /** The history as cluster_debug and the message callback's error report print it. */
  historyLines(): string[] { return this.debugging.lines(); }

  /** cluster_debug's lines for this group. */
  debugLines(): string[] {
    return [
      `${shortUuid(this.name)}::`,
      `  lowest_id         : ${this.lowestId}`,
      `  state             : ${this.state}`,
      `  cpg_state         : ${this.cpgState}`,
      `  free_me           : ${this.freeMe ? 1 : 0}`,
      `  delay             : ${this.delay}`,
      `  resend_requests   : ${this.resendRequests ? 1 : 0}`,
      `  checkpoints_needed: ${this.checkpointRequesters.length}`,
      // Checkpoints go out as they are prepared here: none waits on checkpoint_list.
      '  CKPTs waiting     : 0',
      '  Working list:',
      ...this.workingList.map((rq) => `  ${rqTypeName(rq.rq.requestType)}/${rq.rq.seq}`),
      '  Startup list:',
      ...this.startupList.map((rq) => `  ${rqTypeName(rq.rq.requestType)}/${rq.rq.seq}`),
      'Command History:',
      ...this.historyLines(),
    ];
  }

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
      rq.originator = nodeid;
      this.out(rq, nodeid, false, 0);
      return;
    }
    if (this.state === 'LEAVING') return;
    const iAmServer = this.me === this.lowestId;
    if (type === DM_ULOG_CHECKPOINT_READY) {
      if (this.me === rq.originator && rq.checkpoint) {
        const short = shortUuid(rq.rq.uuid);
        this.sprint(`[${short}] CHECKPOINT_READY notification from ${nodeid}`);
        if (this.state === 'INVALID') {
          // import_checkpoint: pull_state of each part; one refused leaves the log invalid ("Could we retry?").
          const lc = this.d.getLog(this.name);
          if (!lc) this.d.print(`pull_state: No log found for ${this.name}`);
          if (!lc || lc.importCheckpoint(rq.checkpoint)) {
            this.sprint(`[${short}] Failed to import checkpoint from ${nodeid}`);
            this.d.print(`[${short}] Failed to import checkpoint from ${nodeid}`);
            this.d.sigusr1();
            this.out(rq, nodeid, false, 0);
            return;
          }
          this.sprint(`[${shortUuid(this.name)}] Checkpoint data received from ${nodeid}.  Log is now valid`);
          this.d.debug(`[${this.name}] Checkpoint data received from ${nodeid}.  Log is now valid`);
          this.state = 'VALID';
          const p = this.flushStartupList();
          if (p) return p.then(() => this.out(rq, nodeid, false, 0));
        } else {
          this.sprint(`[${short}] Redundant checkpoint from ${nodeid} ignored.`);
        }
      }
      this.out(rq, nodeid, false, 0);
      return;
    }
    if (type & DM_ULOG_RESPONSE) {
      const r = this.handleResponse(rq);
      this.queueCheckpoints();
      this.out(rq, nodeid, true, r);
      return;
    }
    rq.originator = nodeid;
    if (this.state === 'INVALID') {
      this.startupList.push({ ...rq, pitServer: this.lowestId });
      this.out(rq, nodeid, false, 0);
      return;
    }
    const p = this.handleRequest(rq, iAmServer);
    if (p) return p.then(() => { this.queueCheckpoints(); this.out(rq, nodeid, false, 0); });
    this.queueCheckpoints();
    this.out(rq, nodeid, false, 0);
  }

  /**
   * out: in cpg_message_callback: an error is reported with the history;
   * otherwise a request, or the response to one of ours, goes in the history.
   */
  private out(rq: ClogRequest, nodeid: NodeId, response: boolean, r: number): void {
    const short = shortUuid(rq.rq.uuid);
    const type = rqTypeName(rq.rq.requestType);
    if (r) {
      this.d.print(`[${short}] Error while processing CPG message, ${type}: Invalid argument`);
      this.d.print(`[${short}]    Response  : ${response ? 'YES' : 'NO'}`);
      this.d.print(`[${short}]    Originator: ${rq.originator}`);
      if (response) this.d.print(`[${short}]    Responder : ${nodeid}`);
      this.d.print('HISTORY::');
      for (const l of this.historyLines()) this.d.print(l);
      return;
    }
    // A response to another node's request keeps its response bit: not recorded.
    if (response && rq.originator !== this.me) return;
    const head = `SEQ#=${rq.rq.seq}, UUID=${short}, TYPE=${type}, ORIG=${rq.originator}, RESP=${response ? 'YES' : 'NO'}`;
    this.sprint(response ? `${head}, RSPR=${nodeid}, error=${rq.rq.error}` : head);
  }

  /** The checkpoints asked for, once the log is resumed (the loop after handling a message): prepared, queued. */
  private queueCheckpoints(): void {
    const lc = this.d.getLog(this.name);
    while (this.checkpointRequesters.length) {
      if (!lc || lc.state !== 'LOG_RESUMED') break;
      const requester = this.checkpointRequesters[this.checkpointRequesters.length - 1]!;
      if (!this.prepareCheckpoint(requester)) {
        this.d.print(`[${shortUuid(this.name)}] Failed to prepare checkpoint for ${requester}!!!`);
        break;
      }
      this.sprint(`[${shortUuid(this.name)}] Checkpoint prepared for ${requester}* (LOG_SUSPENDED)`);
      this.checkpointRequesters.pop();
    }
  }

  /** prepare_checkpoint: the bits and the recovery slot as they are now, onto checkpoint_list (at its head). */
  private prepareCheckpoint(requester: NodeId): boolean {
    if (this.state !== 'VALID') {
      this.d.print(`Forced to refuse checkpoint for nodeid ${requester} - log not valid yet`);
      return false;
    }
    const lc = this.d.getLog(this.name);
    if (!lc) {
      this.d.print(`store_bits: No log found for ${this.name}`);
      this.d.print(`Failed to store clean_bits to checkpoint for node ${requester}`);
      return false;
    }
    this.checkpointList.unshift({ requester, checkpoint: lc.exportCheckpoint(requester) });
    return true;
  }

  /** Prepared checkpoints not yet sent (checkpoint_list). */
  private checkpointList: { requester: NodeId; checkpoint: Checkpoint }[] = [];

  /** do_checkpoints: each prepared checkpoint goes out as a CHECKPOINT_READY message (export_checkpoint). */
  doCheckpoints(leaving: boolean): void {
    while (this.checkpointList.length) {
      const { requester, checkpoint } = this.checkpointList.shift()!;
      // export_checkpoint: the request's seq is the sender's node id.
      this.handle.mcast({
        originator: requester, pitServer: this.lowestId,
        rq: { luid: 0, uuid: this.name, seq: this.me, requestType: DM_ULOG_CHECKPOINT_READY, error: 0, data: Buffer.alloc(0) },
        checkpoint,
      });
      this.sprint(`[${shortUuid(this.name)}] Checkpoint data available for node ${requester}${leaving ? '(L)' : ''}`);
    }
  }

  /** The checkpoints a departing node no longer needs. */
  private dropCheckpointsFor(nodeid: NodeId): void {
    const i = this.checkpointList.findIndex((c) => c.requester === nodeid);
    if (i >= 0) this.checkpointList.splice(i, 1);
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
    this.destroy();
    lc.state = 'LOG_SUSPENDED';
    lc.recoveringRegion = -1;
    lc.recoverer = -1;
    lc.delay = Math.floor(this.d.nowMs() / 1000);
  }

  /**
   * _destroy_cluster_cpg: the checkpoints still prepared go out first, then
   * the group is left (a startup list of a log never made valid is dropped).
   */
  destroy(): void {
    this.doCheckpoints(true);
    const state = this.state;
    this.cpgState = 0;
    this.state = 'LEAVING';
    if (this.startupList.length && state !== 'VALID') this.startupList = [];
    this.handle.leave();
  }

  /** handle_cluster_response: the server's answer to one of ours goes to our kernel. */
  private handleResponse(rq: ClogRequest): number {
    if (rq.originator !== this.me) return 0;
    const type = rq.rq.requestType & ~DM_ULOG_RESPONSE;
    rq.rq.requestType = type;
    const i = this.workingList.findIndex((w) => w.rq.seq === rq.rq.seq && w.rq.requestType === type);
    if (i < 0) {
      const short = shortUuid(rq.rq.uuid);
      this.d.print(`[${short}] No match for cluster response: ${rqTypeName(type)}:${rq.rq.seq}`);
      this.d.print('Current local list:');
      if (!this.workingList.length) this.d.print('   [none]');
      for (const w of this.workingList) this.d.print(`   [${shortUuid(w.rq.uuid)}]  ${rqTypeName(w.rq.requestType)}:${w.rq.seq}`);
      return EINVAL;
    }
    this.workingList.splice(i, 1);
    this.d.kernelSend({ ...rq.rq, requestType: type });
    return 0;
  }

  /** flush_startup_list: checkpoints for later joiners; replay, answering as the point-in-time server. */
  private flushStartupList(): void | Promise<void> {
    const list = this.startupList.splice(0);
    const from = (i: number): void | Promise<void> => {
      for (; i < list.length; i++) {
        const rq = list[i]!;
        if (rq.rq.requestType === DM_ULOG_MEMBER_JOIN) {
          // The joiner's state is this point of the replay: what follows, it replays itself.
          if (this.prepareCheckpoint(rq.originator)) this.sprint(`[${shortUuid(this.name)}] Checkpoint prepared for ${rq.originator}`);
          else this.d.print(`Failed to prepare checkpoint for ${rq.originator}!!!`);
        } else {
          const p = this.handleRequest(rq, rq.pitServer === this.me);
          if (p) { const next = i + 1; return p.then(() => from(next)); }
        }
      }
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
    this.joinCallbackBody(joined, members);
    this.sprint(`+++  UUID=${shortUuid(this.name)}  ${joined} join  +++`);
  }

  private joinCallbackBody(joined: NodeId, members: readonly NodeId[]): void {
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
    this.sprint(`---  UUID=${shortUuid(this.name)}  ${left} left  ---`);
    if (left === this.me) {
      // Our own leave: the log goes back to pending (cluster_postsuspend), the POSTSUSPEND is answered, the rest dropped.
      this.d.postsuspendFinalize(this.name, this.luid);
      for (const rq of this.workingList.splice(0)) if (rq.rq.requestType === DmUlog.POSTSUSPEND) this.d.kernelSend(rq.rq);
      this.freeMe = true;
      this.lowestId = DEAD;
      this.state = 'INVALID';
      this.d.groupGone(this);
      return;
    }
    this.dropCheckpointsFor(left);
    this.startupList = this.startupList.filter((rq) => !(rq.rq.requestType === DM_ULOG_MEMBER_JOIN && rq.originator === left));
    this.checkpointRequesters = this.checkpointRequesters.filter((n) => {
      if (n === left) this.d.print(`[${shortUuid(this.name)}] Removing pending ckpt from needed list (${left} is leaving)`);
      return n !== left;
    });
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
