// dm-log-userspace (v1.3.0, kernel side): a dirty log kept by a server in
// userspace. The kernel parses only the uuid and integrated_flush; the rest
// goes to the server in the CTR request. Without a server the constructor
// fails as the kernel's does ("Userspace log server not found").

import type { Timer } from '../../kernel/clock.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { DmDev, DmTarget } from '../../kernel/dm-target.js';
import { EWOULDBLOCK, LogCtrError, type DirtyLog, type DirtyLogType } from './dirty-log.js';

const DM_UUID_LEN = 129;
/** include/uapi/linux/dm-log-userspace.h request types. */
export enum DmUlog {
  CTR = 1, DTR, PRESUSPEND, POSTSUSPEND, RESUME, GET_REGION_SIZE, IS_CLEAN, IN_SYNC, FLUSH,
  MARK_REGION, CLEAR_REGION, GET_RESYNC_WORK, SET_REGION_SYNC, GET_SYNC_COUNT, STATUS_INFO,
  STATUS_TABLE, IS_REMOTE_RECOVERING,
}

/**
 * The netlink connector to the log server (dm_consult_userspace). A cluster
 * module installs one on the kernel; until then every request fails with ESRCH.
 */
export interface UlogTransport {
  request(uuid: string, luid: number, type: DmUlog, data: Buffer): Promise<{ error: number; data: Buffer }>;
  /**
   * The same, for the requests the server answers from its own state at once
   * (CTR, GET_REGION_SIZE, GET_SYNC_COUNT): the kernel waits for
   * these where its callers cannot (the constructor, status).
   */
  requestNow(uuid: string, luid: number, type: DmUlog, data: Buffer): { error: number; data: Buffer };
}

const transports = new WeakMap<Kernel, UlogTransport>();
export function setUlogTransport(kernel: Kernel, t: UlogTransport | null): void {
  if (t) transports.set(kernel, t); else transports.delete(kernel);
}

let nextLuid = 1;
const ESRCH = -3;
/** At most this many regions per MARK/CLEAR request (flush_by_group). */
const MAX_FLUSH_GROUP_COUNT = 32;
/** is_remote_recovering asks at most every HZ/4, module-wide: the kernel's `static unsigned long limit`. */
const remoteRecoveringLimit = new WeakMap<Kernel, number>();

function u64(...v: number[]): Buffer {
  const b = Buffer.alloc(v.length * 8);
  v.forEach((x, i) => b.writeBigInt64LE(BigInt(x), i * 8));
  return b;
}
function word(b: Buffer, i: number): number { return b.length >= (i + 1) * 8 ? Number(b.readBigInt64LE(i * 8)) : 0; }

/** struct log_c of dm-log-userspace-base.c. */
export class UserspaceLog implements DirtyLog {
  readonly luid = nextLuid++;
  inSyncHint = 0;
  regionSize = 0;
  regionCount = 0;
  /** mark_list, clear_list: list_add puts each new region at the head. */
  private markList: number[] = [];
  private clearList: number[] = [];
  logDev: DmDev | null = null;
  /** integrated_flush: flush_log_work on dmlog_wq (do_flush, 3 s after a flush of clears only) and sched_flush. */
  private flushLogWork: Timer | null = null;
  private schedFlush = 0;

  constructor(readonly type: DirtyLogType, readonly ti: DmTarget, readonly uuid: string, readonly integratedFlush: boolean,
    /** usr_argc and the constructor string "<len> <args...>" (for TABLE status). */
    readonly usrArgc: number, readonly usrArgvStr: string, private readonly transport: UlogTransport) {}

  private get klog() { return this.ti.kernel.klog.prefixed('dm-log-userspace'); }

  private async req(type: DmUlog, data: Buffer = Buffer.alloc(0)): Promise<{ error: number; data: Buffer }> {
    return this.transport.request(this.uuid, this.luid, type, data);
  }

  /**
   * The constructor's requests: CTR, then the region size; opens the device
   * the server names. A failure after the CTR sends no DTR (userspace_ctr
   * only frees its context): the server keeps the log it made.
   */
  construct(): void {
    let r = this.transport.requestNow(this.uuid, this.luid, DmUlog.CTR, Buffer.from(this.usrArgvStr + '\0'));
    if (r.error < 0) {
      // dm_consult_userspace reports the failed send, then userspace_ctr says why.
      if (r.error === ESRCH) this.klog.err(`Unable to send log request [${DmUlog.CTR}] to userspace: ${ESRCH}`);
      this.klog.err(r.error === ESRCH ? 'Userspace log server not found' : 'Userspace log server failed to create log');
      throw new LogCtrError(r.error);
    }
    const devices = r.data;
    r = this.transport.requestNow(this.uuid, this.luid, DmUlog.GET_REGION_SIZE, Buffer.alloc(0));
    if (r.error) {
      this.klog.err('Failed to get region size of dirty log');
      throw new LogCtrError(r.error);
    }
    this.regionSize = word(r.data, 0);
    this.regionCount = Number((this.ti.len + BigInt(this.regionSize) - 1n) / BigInt(this.regionSize));
    if (devices.length) {
      if (devices[devices.length - 1] !== 0) {
        this.klog.err('DM_ULOG_CTR device return string not properly terminated');
        throw new LogCtrError();
      }
      const name = devices.subarray(0, devices.length - 1).toString();
      try {
        this.logDev = this.ti.getDevice(name);
      } catch {
        this.klog.err(`Failed to register ${name} with device-mapper`);
        throw new LogCtrError();
      }
    }
  }

  /** userspace_dtr: a planned flush runs first (flush_delayed_work), then the DTR. */
  dtr(): void {
    const dtr = () => { void this.req(DmUlog.DTR).catch(() => undefined); };
    if (this.integratedFlush && this.schedFlush) void this.flushDelayedWork().then(dtr);
    else dtr();
  }
  async presuspend(): Promise<number> { return (await this.req(DmUlog.PRESUSPEND)).error; }
  /** userspace_postsuspend: "Run planned flush earlier", then the POSTSUSPEND. */
  async postsuspend(): Promise<number> {
    if (this.integratedFlush && this.schedFlush) await this.flushDelayedWork();
    return (await this.req(DmUlog.POSTSUSPEND)).error;
  }

  /** do_flush: the FLUSH a flush of clears only put off; a failure raises an event. */
  private async doFlush(): Promise<void> {
    this.schedFlush = 0;
    const r = await this.req(DmUlog.FLUSH);
    if (r.error) this.ti.event();
  }

  /** flush_delayed_work: a pending do_flush runs now. */
  private async flushDelayedWork(): Promise<void> {
    if (!this.flushLogWork) return;
    this.flushLogWork.cancel();
    this.flushLogWork = null;
    await this.doFlush();
  }
  async resume(): Promise<number> {
    this.inSyncHint = 0;
    return (await this.req(DmUlog.RESUME)).error;
  }

  getRegionSize(): number { return this.regionSize; }

  async isClean(region: number): Promise<number> {
    const r = await this.req(DmUlog.IS_CLEAN, u64(region));
    return r.error ? 0 : word(r.data, 0);
  }

  /** Never answered without asking: may not block means EWOULDBLOCK. */
  inSync(region: number, canBlock: 0 | 1): number | Promise<number> {
    if (!canBlock) return EWOULDBLOCK;
    return this.req(DmUlog.IN_SYNC, u64(region)).then((r) => (r.error ? 0 : word(r.data, 0)));
  }

  markRegion(region: number): void { this.markList.unshift(region); }
  clearRegion(region: number): void { this.clearList.unshift(region); }

  /**
   * flush_by_group: the list from its head in groups of at most 32, each one
   * request (MARK/CLEAR, or with flushWithPayload a FLUSH carrying them).
   * Each entry sent moves to the head of tmp_list; a failed group request
   * puts tmp_list back in front of what is left and sends all of it one
   * region a request (flush_one_by_one) until one fails.
   */
  private async flushByGroup(list: number[], type: DmUlog, flushWithPayload: boolean): Promise<number> {
    const tmpList: number[] = [];
    for (let i = 0; i < list.length; i += MAX_FLUSH_GROUP_COUNT) {
      const group = list.slice(i, i + MAX_FLUSH_GROUP_COUNT);
      for (const region of group) tmpList.unshift(region);
      const r = await this.req(flushWithPayload ? DmUlog.FLUSH : type, u64(...group));
      if (!r.error) continue;
      if (flushWithPayload) return r.error;
      for (const region of [...tmpList, ...list.slice(i + group.length)]) {
        const r1 = await this.req(type, u64(region));
        if (r1.error) return r1.error;
      }
      return 0;
    }
    return 0;
  }

  /**
   * userspace_flush: clears, then marks and a FLUSH; with integrated_flush
   * the marks travel in FLUSH requests, and a flush of clears only sends no
   * FLUSH but schedules one 3 s later (do_flush), which a later flush with
   * marks cancels.
   */
  async flush(): Promise<number> {
    const marks = this.markList.splice(0);
    const clears = this.clearList.splice(0);
    if (!marks.length && !clears.length) return 0;
    let r = await this.flushByGroup(clears, DmUlog.CLEAR_REGION, false);
    if (!r && !this.integratedFlush) {
      r = await this.flushByGroup(marks, DmUlog.MARK_REGION, false);
      if (!r) r = (await this.req(DmUlog.FLUSH)).error;
    } else if (!r) {
      r = await this.flushByGroup(marks, DmUlog.MARK_REGION, true);
      if (!r) {
        if (!marks.length && !this.schedFlush) {
          this.flushLogWork = this.ti.kernel.clock.setTimer(3000, () => { this.flushLogWork = null; void this.doFlush(); });
          this.schedFlush = 1;
        } else {
          this.flushLogWork?.cancel();
          this.flushLogWork = null;
          this.schedFlush = 0;
        }
      }
    }
    // Failures are reported by an event; the entries are dropped either way.
    if (r) this.ti.event();
    return r;
  }

  async getResyncWork(): Promise<number> {
    if (this.inSyncHint >= this.regionCount) return -1;
    const r = await this.req(DmUlog.GET_RESYNC_WORK);
    if (r.error) return r.error < -1 ? r.error : -5;
    return word(r.data, 0) ? word(r.data, 1) : -1;
  }

  async setRegionSync(region: number, inSync: 0 | 1): Promise<void> {
    await this.req(DmUlog.SET_REGION_SYNC, u64(region, inSync));
  }

  getSyncCount(): number {
    const r = this.transport.requestNow(this.uuid, this.luid, DmUlog.GET_SYNC_COUNT, Buffer.alloc(0));
    if (r.error) return 0;
    const count = word(r.data, 0);
    if (count >= this.regionCount) this.inSyncHint = this.regionCount;
    return count;
  }

  /** INFO goes to the server (through the cluster, for cmirrord): COM_FAILURE when it cannot answer. */
  status(type: 'info' | 'table' | 'ima'): string | Promise<string> {
    if (type === 'info') {
      return this.req(DmUlog.STATUS_INFO).then((r) => (r.error ? `${this.type.name} 1 COM_FAILURE` : r.data.toString().replace(/\0.*$/s, '')));
    }
    if (type === 'table') {
      const tableArgs = this.usrArgvStr.slice(this.usrArgvStr.indexOf(' ') + 1);
      return `${this.type.name} ${this.usrArgc} ${this.uuid} ${this.integratedFlush ? 'integrated_flush ' : ''}${tableArgs} `;
    }
    return '';
  }

  /** 0 below the in-sync hint; 1 if asked less than 250 ms ago (any log of this kernel); else ask. */
  async isRemoteRecovering(region: number): Promise<number> {
    if (region < this.inSyncHint) return 0;
    const clock = this.ti.kernel.clock;
    const limit = remoteRecoveringLimit.get(this.ti.kernel) ?? -Infinity;
    if (limit > clock.nowMs()) return 1;
    remoteRecoveringLimit.set(this.ti.kernel, clock.nowMs() + 250);
    const r = await this.req(DmUlog.IS_REMOTE_RECOVERING, u64(region));
    if (r.error) return 1;
    this.inSyncHint = word(r.data, 1);
    return word(r.data, 0);
  }
}

/** The transport a kernel's userspace logs talk to, if a log server runs. */
export function ulogTransport(kernel: Kernel): UlogTransport | undefined { return transports.get(kernel); }

export const userspaceLogType: DirtyLogType = {
  name: 'userspace',
  ctr(ti, argv): DirtyLog {
    const log = ti.kernel.klog.prefixed('dm-log-userspace');
    if (argv.length < 3) {
      log.warn('Too few arguments to userspace dirty log');
      throw new LogCtrError();
    }
    if (argv[0]!.length >= DM_UUID_LEN) {
      log.warn('UUID argument too long.');
      throw new LogCtrError();
    }
    const transport = transports.get(ti.kernel);
    if (!transport) {
      log.err(`Unable to send log request [${DmUlog.CTR}] to userspace: ${ESRCH}`);
      log.err('Userspace log server not found');
      throw new LogCtrError(ESRCH);
    }
    const usrArgc = argv.length;
    let rest = argv.slice(1);
    const integratedFlush = rest[0]!.toLowerCase() === 'integrated_flush';
    if (integratedFlush) rest = rest.slice(1);
    // build_constructor_string: "<target length> <args...>".
    const ul = new UserspaceLog(userspaceLogType, ti, argv[0]!, integratedFlush, usrArgc, [String(ti.len), ...rest].join(' '), transport);
    ul.construct();
    return ul;
  },
};

/** dm_userspace_log_init: the module announces itself when it is loaded. */
export function initUserspaceLog(kernel: Kernel): void {
  kernel.dirtyLogTypes.register(userspaceLogType);
  kernel.klog.prefixed('dm-log-userspace').info('version 1.3.0 loaded');
}
