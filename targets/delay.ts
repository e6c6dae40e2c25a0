// dm-delay (v1.3.0): hold each bio for a fixed time before sending it on,
// with separate device, offset and delay for reads, writes and flushes:
//   <dev> <offset> <delay ms> [<wdev> <woffset> <wdelay ms> [<fdev> <foffset> <fdelay ms>]]
// With one group all three classes use it; with two, flushes use the write
// group. A delay of 0 passes bios straight through. Suspend stops delaying
// and sends everything held at once (delay_presuspend); resume delays again.
//
// 6.1's shape: one timer per target set to the earliest expiry; when it fires,
// the kdelayd work item submits every bio whose time has come and re-arms the
// timer for the rest. Times are jiffies (HZ=250 on the oracle's kernel).

import { DmMapio, CtrError, targetOffset, type DmDev, type DmTarget, type IterateDevicesFn, type StatusType, type Target, type TargetType } from '../kernel/dm-target.js';
import { ReqOp, REQ_PREFLUSH, submitBio, type Bio } from '../kernel/bio.js';
import type { Timer } from '../kernel/clock.js';
import { KernelError } from '../kernel/errno.js';
import { sscanfU32, sscanfU64 } from '../tables/args.js';
import { WorkStruct, Workqueue } from '../kernel/workqueue.js';

const HZ = 250;
const jiffies = (ms: number) => Math.floor((ms * HZ) / 1000);
/** msecs_to_jiffies: rounded up. */
const msecsToJiffies = (ms: number) => Math.ceil((ms * HZ) / 1000);
const jiffiesToMs = (j: number) => (j * 1000) / HZ;

interface DelayClass {
  dev: DmDev;
  /** sector_t, exact; startSector is the same as a number, for the bio path. */
  start: bigint;
  startSector: number;
  delay: number;
  /** bios held now */
  ops: number;
}

/** struct dm_delay_info: a held bio. */
interface DelayedBio { bio: Bio; cls: DelayClass; expires: number }

class Delay implements Target {
  private delayed: DelayedBio[] = [];
  private mayDelay = true;
  private timer: { t: Timer; expires: number } | null = null;
  /** kdelayd_wq and the flush_expired_bios work item. */
  private readonly kdelayd: Workqueue;
  private readonly flushExpiredBios = new WorkStruct(() => this.flushBios(this.flushDelayedBios(false)));

  constructor(
    private readonly ti: DmTarget,
    private readonly argc: number,
    private readonly read: DelayClass,
    private readonly write: DelayClass,
    private readonly flush: DelayClass,
  ) {
    this.kdelayd = new Workqueue(ti.kernel.clock, 'kdelayd');
  }

  private get clock() { return this.ti.kernel.clock; }

  map(bio: Bio): DmMapio {
    let c: DelayClass;
    if (bio.op !== ReqOp.READ) {
      c = bio.op === ReqOp.FLUSH || bio.flags & REQ_PREFLUSH ? this.flush : this.write;
    } else {
      c = this.read;
    }
    bio.bdev = c.dev.bdev;
    bio.sector = c.startSector + targetOffset(this.ti, bio.sector);
    return this.delayBio(c, bio);
  }

  private delayBio(c: DelayClass, bio: Bio): DmMapio {
    if (!c.delay || !this.mayDelay) return DmMapio.REMAPPED;
    const expires = jiffies(this.clock.nowMs()) + msecsToJiffies(c.delay);
    c.ops++;
    this.delayed.push({ bio, cls: c, expires });
    this.queueTimeout(expires);
    return DmMapio.SUBMITTED;
  }

  /** queue_timeout: arm the timer unless it already fires sooner. */
  private queueTimeout(expires: number): void {
    if (this.timer && this.timer.expires <= expires) return;
    this.timer?.t.cancel();
    const wait = Math.max(0, jiffiesToMs(expires) - this.clock.nowMs());
    // handle_delayed_timer queues the flush_expired_bios work.
    const t = this.clock.setTimer(wait, () => {
      if (this.timer?.t !== t) return;
      this.timer = null;
      this.kdelayd.queueWork(this.flushExpiredBios);
    });
    this.timer = { t, expires };
  }

  /** flush_delayed_bios: take the expired bios (or all), re-arm for the rest. */
  private flushDelayedBios(flushAll: boolean): Bio[] {
    const now = jiffies(this.clock.nowMs());
    const out: Bio[] = [];
    let next: number | undefined;
    this.delayed = this.delayed.filter((d) => {
      if (flushAll || now >= d.expires) {
        out.push(d.bio);
        d.cls.ops--;
        return false;
      }
      next = next === undefined ? d.expires : Math.min(next, d.expires);
      return true;
    });
    if (next !== undefined) this.queueTimeout(next);
    return out;
  }

  private flushBios(bios: Bio[]): void {
    for (const bio of bios) submitBio(bio);
  }

  presuspend(): void {
    this.mayDelay = false;
    this.timer?.t.cancel();
    this.timer = null;
    this.flushBios(this.flushDelayedBios(true));
  }

  resume(): void {
    this.mayDelay = true;
  }

  dtr(): void {
    this.timer?.t.cancel();
    this.timer = null;
    void this.kdelayd.destroy();
  }

  status(type: StatusType): string {
    if (type === 'info') return `${this.read.ops} ${this.write.ops} ${this.flush.ops}`;
    if (type !== 'table') return '';
    const emit = (c: DelayClass) => `${c.dev.name} ${c.start} ${c.delay}`;
    let s = emit(this.read);
    if (this.argc >= 6) s += ' ' + emit(this.write);
    if (this.argc >= 9) s += ' ' + emit(this.flush);
    return s;
  }

  iterateDevices(fn: IterateDevicesFn): void {
    for (const c of [this.read, this.write, this.flush]) fn(c.dev, c.start, this.ti.len);
  }
}

/** delay_class_ctr: <dev> <offset> <delay>; the numbers are checked before the device is opened. */
function delayClassCtr(ti: DmTarget, argv: readonly string[], at: number): DelayClass {
  const start = sscanfU64(argv[at + 1]);
  if (start === undefined) throw new CtrError('Invalid device sector');
  const delay = sscanfU32(argv[at + 2]);
  if (delay === undefined) throw new CtrError('Invalid delay');
  try {
    return { dev: ti.getDevice(argv[at]!), start, startSector: Number(start), delay, ops: 0 };
  } catch (e) {
    throw new CtrError('Device lookup failed', e instanceof KernelError ? e.errno : 'EINVAL');
  }
}

export const delayTarget: TargetType = {
  name: 'delay',
  version: [1, 3, 0],
  ctr(ti, argv) {
    const argc = argv.length;
    if (argc !== 3 && argc !== 6 && argc !== 9) throw new CtrError('Requires exactly 3, 6 or 9 arguments');
    const read = delayClassCtr(ti, argv, 0);
    const write = delayClassCtr(ti, argv, argc === 3 ? 0 : 3);
    const flush = delayClassCtr(ti, argv, argc === 9 ? 6 : argc === 6 ? 3 : 0);
    ti.numFlushBios = 1;
    return new Delay(ti, argc, read, write, flush);
  },
};
