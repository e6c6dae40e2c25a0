// cmirrord on one node (clogd.c + local.c): takes the kernel's dm-log-userspace
// requests, answers the ones that need only local state, multicasts the rest
// to the log's group, and hands the server's answers back to the kernel.

import type { Clock } from '../../kernel/clock.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { GroupTransport, NodeId } from '../cpg.js';
import { ClogCpg, type ClogDaemon } from './cluster.js';
import { testBit } from '../../targets/mirror/bitset.js';
import { clogCtr, doRequest, shortUuid, strtoll0, type LogC } from './functions.js';
import { DmUlog, type ClogRequest, type DmUlogRequest } from './request.js';

const EINVAL = -22;
const ENOENT = -2;
/** CPG_MAX_NAME_LENGTH: a CPG name and its NUL. */
const CPG_MAX_NAME_LENGTH = 128;
/**
 * create_cluster_cpg names the group after the log's UUID, cut to what a
 * CPG name holds (127 characters and the NUL). Groups are found by
 * strncmp(name, uuid, CPG_MAX_NAME_LENGTH): a 128-character UUID never finds
 * its own group (the map's keys are names; lookups use the whole UUID).
 */
function cpgName(uuid: string): string { return uuid.slice(0, CPG_MAX_NAME_LENGTH - 1); }

/** A RESUME waits until this many seconds after the log's last suspend (local_resume). */
const RESUME_DELAY_S = 3;

export type KernelReply = (rq: DmUlogRequest) => void;

export class Cmirrord implements ClogDaemon {
  /** Logs constructed but not yet resumed, and resumed ones (official). */
  private readonly pending: LogC[] = [];
  private readonly official: LogC[] = [];
  readonly groups = new Map<string, ClogCpg>();
  /** Waiting kernel requests by seq (the connector's reply path). */
  private readonly replies = new Map<number, KernelReply>();
  readonly messages: string[] = [];
  running = true;

  /**
   * `output`: where cmirrord's stdout and stderr go (cmirrord -f; LOG_PRINT and
   * LOG_ERROR, one line each). It starts as cmirrord's main does.
   */
  constructor(readonly nodeid: NodeId, private readonly kernel: Kernel, private readonly cpg: GroupTransport,
    private readonly clock: Clock = kernel.clock, private readonly output: (line: string) => void = () => undefined) {
    this.print('Starting cmirrord:');
    this.print(' Built: dmsetup-ts\n');
  }

  /** Work waiting while cmirrord is blocked in disk I/O (it is single-threaded: nothing else runs meanwhile). */
  private blocked: Promise<void> | null = null;
  private readonly backlog: (() => void | Promise<void>)[] = [];

  /** Run fn now, or after the disk I/O cmirrord is blocked in; fn may block it in turn. */
  serial(fn: () => void | Promise<void>): void {
    if (this.blocked) { this.backlog.push(fn); return; }
    const r = fn();
    if (!r) return;
    this.blocked = r.then(() => {
      this.blocked = null;
      while (this.backlog.length && !this.blocked && this.running) this.serial(this.backlog.shift()!);
    });
  }

  /** LOG_PRINT / LOG_ERROR: a line of cmirrord's output. */
  print(line: string): void { for (const l of line.split('\n')) this.output(l); }

  /**
   * SIGUSR1 (sig_handler): log_debug, the logs (pending ones with their bits;
   * official ones with the recovery slot, bits, counts and resync history),
   * then cluster_debug, each group's state, lists and command history.
   */
  dump(): void {
    this.print('');
    this.print('LOG COMPONENT DEBUGGING::');
    this.print('Official log list:');
    this.print('Pending log list:');
    for (const lc of this.pending) {
      this.print(lc.uuid);
      this.print('sync_bits:');
      for (const l of lc.printBits(lc.syncBits)) this.print(l);
      this.print('clean_bits:');
      for (const l of lc.printBits(lc.cleanBits)) this.print(l);
    }
    for (const lc of this.official) {
      this.print(lc.uuid);
      this.print(`  recoverer        : ${lc.recoverer < 0 ? 4294967295 : lc.recoverer}`);
      this.print(`  recovering_region: ${lc.recoveringRegion < 0 ? '18446744073709551615' : lc.recoveringRegion}`);
      this.print(`  recovery_halted  : ${lc.recoveryHalted ? 'YES' : 'NO'}`);
      this.print('sync_bits:');
      for (const l of lc.printBits(lc.syncBits)) this.print(l);
      this.print('clean_bits:');
      for (const l of lc.printBits(lc.cleanBits)) this.print(l);
      this.print(`Validating ${shortUuid(lc.uuid)}::`);
      // find_next_zero_bit(sync_bits, 0): the bits past region_count are clear.
      let r = 0;
      while (testBit(lc.syncBits, r)) r++;
      this.print(`  lc->region_count = ${lc.regionCount}`);
      this.print(`  lc->sync_count = ${lc.syncCount}`);
      this.print(`  next zero bit  = ${r}`);
      if (r > lc.regionCount || (r === lc.regionCount && lc.syncCount > lc.regionCount)) {
        this.print('ADJUSTING SYNC_COUNT');
        lc.syncCount = lc.regionCount;
      }
      this.print('Resync request history:');
      for (const l of lc.historyLines()) this.print(l);
    }
    this.print('');
    this.print('CLUSTER COMPONENT DEBUGGING::');
    for (const g of this.groups.values()) for (const l of g.debugLines()) this.print(l);
    // sleep() returns early when a signal was handled.
    if (this.sleeping) this.clock.defer(this.sleeping);
  }

  sigusr1(): void { this.dump(); }

  debug(msg: string): void {
    this.messages.push(msg);
    if (this.messages.length > 200) this.messages.shift();
  }

  nowMs(): number { return this.clock.nowMs(); }

  getLog(uuid: string): LogC | undefined { return this.official.find((l) => l.uuid === uuid); }

  /** Every log this daemon holds (for invariant checks and status). */
  logs(): readonly LogC[] { return this.official; }

  kernelSend(rq: DmUlogRequest): void {
    const reply = this.replies.get(rq.seq);
    if (!reply) return;
    this.replies.delete(rq.seq);
    if (this.running) reply(rq);
  }

  postsuspendFinalize(uuid: string, luid: number): void {
    const i = this.official.findIndex((l) => l.uuid === uuid && (!luid || l.luid === luid));
    if (i < 0) return;
    const [lc] = this.official.splice(i, 1);
    // The next RESUME is a master resume again unless a checkpoint loads the bits first.
    lc!.resumeOverride = 0;
    this.pending.push(lc!);
  }

  groupGone(g: ClogCpg): void { if (this.groups.get(g.name) === g) this.groups.delete(g.name); }

  private findLog(rq: DmUlogRequest): LogC | undefined {
    return this.official.find((l) => l.uuid === rq.uuid && (!rq.luid || l.luid === rq.luid))
      ?? this.pending.find((l) => l.uuid === rq.uuid && (!rq.luid || l.luid === rq.luid));
  }

  /** do_local_work: one request from the kernel; reply is called once with the answer. */
  request(rq: DmUlogRequest, reply: KernelReply): void {
    if (!this.running) return;
    const local = (fn: () => void) => { fn(); reply(rq); };
    const lc = this.findLog(rq);
    switch (rq.requestType) {
      case DmUlog.CTR: return local(() => this.ctr(rq));
      case DmUlog.DTR: return local(() => this.dtr(rq));
      case DmUlog.GET_REGION_SIZE: case DmUlog.GET_SYNC_COUNT: case DmUlog.STATUS_TABLE:
        return local(() => { if (lc) doRequest(lc, rq, this.nodeid, false); else rq.error = -22; });
      case DmUlog.IN_SYNC: case DmUlog.PRESUSPEND: {
        // clog_in_sync and clog_presuspend look among the official logs only (get_log).
        const off = this.official.find((l) => l.uuid === rq.uuid && (!rq.luid || l.luid === rq.luid));
        return local(() => { if (off) doRequest(off, rq, this.nodeid, false); else { rq.error = -22; rq.data = Buffer.alloc(0); } });
      }
      case DmUlog.RESUME:
        if (!lc) return local(() => { rq.error = -22; });
        this.replies.set(rq.seq, reply);
        this.serial(() => this.localResume(lc, rq));
        return;
      case DmUlog.CLEAR_REGION:
        // Acknowledged at once; the group learns of it later.
        reply({ ...rq, data: Buffer.alloc(0), error: 0 });
        this.serial(() => this.clusterSend(rq, null));
        return;
      default:
        this.serial(() => this.clusterSend(rq, reply));
    }
  }

  private clusterSend(rq: DmUlogRequest, reply: KernelReply | null): void {
    const g = this.groups.get(rq.uuid);
    if (!g || g.state === 'LEAVING') {
      // cluster_send: no group of this UUID is ENOENT, one not VALID any more EINVAL.
      if (reply) reply({ ...rq, error: g ? EINVAL : ENOENT, data: Buffer.alloc(0) });
      return;
    }
    if (reply) this.replies.set(rq.seq, reply);
    g.send({ originator: this.nodeid, pitServer: g.lowestId, rq });
  }

  /**
   * clog_ctr: "<dev_size> <type> <args...>" as dm-log-userspace builds it
   * (build_constructor_string), split in place at each space. A
   * clustered-disk log's answer (its first argument) is written over the
   * start of that same buffer before a failure prints argv, so the argv it
   * prints are what is left there (e.g. "argv[0] = loop2" after "/dev/loop2").
   */
  private ctr(rq: DmUlogRequest): void {
    const fail = (...lines: string[]): void => {
      for (const l of lines) this.print(l);
      rq.error = EINVAL;
      rq.data = Buffer.alloc(0);
    };
    const nul = rq.data.indexOf(0);
    const s = rq.data.subarray(0, nul < 0 ? rq.data.length : nul).toString('latin1');
    if (!rq.data.length) return fail('Received constructor request with no data');
    const buf = Buffer.from(s + '\0', 'latin1');
    const offsets: number[] = [];
    for (let i = buf.indexOf(0x20); i >= 0; i = buf.indexOf(0x20, i + 1)) { buf[i] = 0; offsets.push(i + 1); }
    const cstr = (off: number): string => buf.subarray(off, buf.indexOf(0, off)).toString('latin1');
    if (!offsets.length) return fail(`Received constructor request with bad data ${s}`);
    const argv = offsets.map(cstr);
    const devSizeStr = cstr(0);
    const type = argv[0]!;
    if (type !== 'clustered-disk' && type !== 'clustered-core') return fail(`Unsupported userspace log type, "${type}"`);
    const devSize = strtoll0(devSizeStr);
    if (!devSize.value || !devSize.whole) return fail(`Invalid device size argument: ${devSizeStr}`);
    let lc: LogC | string;
    if (this.findLog({ ...rq })) {
      lc = `[${shortUuid(rq.uuid)}/${rq.luid}u] Log already exists, unable to create.`;
    } else {
      lc = clogCtr(this.kernel, rq.uuid, rq.luid, argv.slice(1), BigInt.asUintN(64, devSize.value), s);
    }
    if (typeof lc === 'string') this.print(lc);
    // "No returning data", except a clustered-disk log's first argument,
    // sprintf'd to the start of the request's data.
    let reply = Buffer.alloc(0);
    if (type === 'clustered-disk') {
      const dev = Buffer.from((argv[1] ?? '') + '\0', 'latin1');
      dev.copy(buf, 0);
      reply = Buffer.from(dev);
    }
    if (typeof lc === 'string') {
      return fail(`Failed to create cluster log (${rq.uuid})`, ...offsets.map((o, i) => `argv[${i}] = ${cstr(o)}`));
    }
    lc.print = (l) => this.print(l);
    this.pending.push(lc);
    rq.error = 0;
    rq.data = reply;
  }

  private dtr(rq: DmUlogRequest): void {
    const lc = this.findLog(rq);
    if (!lc) {
      this.print('clog_dtr called on log that is not official or pending');
      rq.error = EINVAL;
      return;
    }
    if (this.official.includes(lc)) {
      // "The log should not be on the official list. There should have been a suspend first."
      this.print(`[${shortUuid(rq.uuid)}] DTR before SUS: leaving CPG`);
      // destroy_cluster_cpg: the group whose name is the UUID (none for a UUID longer than a CPG name).
      const g = this.groups.get(rq.uuid);
      if (g) {
        g.destroy();
        this.groups.delete(rq.uuid);
      }
    }
    for (const list of [this.pending, this.official]) {
      const i = list.indexOf(lc);
      if (i >= 0) list.splice(i, 1);
    }
    lc.disk?.bdev.close();
    rq.error = 0;
    rq.data = Buffer.alloc(0);
  }

  /**
   * local_resume: a pending log first sleeps out the 3 s since its last
   * suspend (in whole seconds of time(NULL); cmirrord, single-threaded, does
   * nothing else meanwhile, and a signal such as SIGUSR1 ends the sleep
   * early), then joins its group and goes on the official list; then the
   * RESUME is multicast.
   */
  private localResume(lc: LogC, rq: DmUlogRequest): void | Promise<void> {
    const wasPending = this.pending.includes(lc);
    const t = Math.floor(this.clock.nowMs() / 1000) - lc.delay;
    const wait = wasPending && t < 3 && t >= 0 ? (RESUME_DELAY_S - t) * 1000 : 0;
    const toOfficial = () => {
      const i = this.pending.indexOf(lc);
      if (i < 0) return;
      this.pending.splice(i, 1);
      this.official.push(lc);
    };
    const go = () => {
      if (!this.running) return;
      const name = cpgName(lc.uuid);
      if (wasPending && this.groups.get(lc.uuid)) {
        // create_cluster_cpg: a group of this UUID exists already (another log of the same UUID, another luid).
        // do_local_work answers the failed resume with the request's error, which nobody set: a success;
        // the log stays pending.
        this.print(`Log entry already exists: ${lc.uuid}`);
        this.print('clog_resume:  Failed to create cluster CPG');
        const reply = this.replies.get(rq.seq);
        this.replies.delete(rq.seq);
        reply?.({ ...rq, error: 0, data: Buffer.alloc(0) });
        return;
      }
      if (!this.groups.get(lc.uuid) && (wasPending || !this.groups.has(name))) {
        const group = new ClogCpg(name, this, lc.luid);
        this.groups.set(name, group);
        group.handle = this.cpg.join<ClogRequest>(this.nodeid, name, {
          deliver: (from, msg) => { if (this.running) this.serial(() => this.dispatched(group, group.deliver(from, msg))); },
          confchg: (members, left, joined) => { if (this.running) this.serial(() => this.dispatched(group, group.confchg(members, left, joined))); },
        });
      }
      toOfficial();
      // Then the RESUME goes to the cluster (cluster_send finds the group by the UUID).
      const g = this.groups.get(rq.uuid);
      if (!g) {
        const reply = this.replies.get(rq.seq);
        this.replies.delete(rq.seq);
        reply?.({ ...rq, error: ENOENT, data: Buffer.alloc(0) });
        return;
      }
      g.send({ originator: this.nodeid, pitServer: g.lowestId, rq });
    };
    if (wait <= 0) { go(); return; }
    return new Promise<void>((resolve) => {
      let done = false;
      const wake = () => { if (done) return; done = true; timer.cancel(); this.sleeping = null; go(); resolve(); };
      const timer = this.clock.setTimer(wait, wake);
      this.sleeping = wake;
    });
  }

  /** The end of local_resume's sleep(3 - t) while cmirrord is in it (a signal interrupts it). */
  private sleeping: (() => void) | null = null;

  /** do_cluster_work after cpg_dispatch: a group still in use sends the checkpoints it prepared. */
  private dispatched(g: ClogCpg, p: void | Promise<void>): void | Promise<void> {
    const after = (): void => { if (!g.freeMe && g.state !== 'LEAVING') g.doCheckpoints(false); };
    if (p) return p.then(after);
    after();
  }

  /** The daemon dies with its node: nothing more is answered. */
  stop(): void {
    this.running = false;
    this.replies.clear();
  }
}
