// Workqueues and work items (kernel/workqueue.c): a work item is queued at
// most once (queue_work on a pending item does nothing and returns false),
// its pending bit is cleared when it starts to run (so queueing it while it
// runs makes it run once more afterwards), and one item never runs twice at
// the same time. flush waits for everything queued so far to finish.

import type { Clock } from './clock.js';

/** struct work_struct: the function and its pending/running state. */
export class WorkStruct {
  pending = false;
  running = false;
  /** The queue it was last queued on (flush_work waits there). */
  wq: Workqueue | null = null;
  constructor(readonly fn: () => void | Promise<void>) {}
}

/** struct workqueue_struct. Work runs from the kernel clock's deferred queue. */
export class Workqueue {
  private busy = 0;
  private idleWaiters: Array<() => void> = [];
  private destroyed = false;

  constructor(private readonly clock: Clock, readonly name: string) {}

  /** queue_work: false if the item was already pending. */
  queueWork(work: WorkStruct): boolean {
    if (work.pending || this.destroyed) return false;
    work.pending = true;
    work.wq = this;
    this.busy++;
    if (!work.running) this.clock.defer(() => void this.run(work));
    return true;
  }

  private async run(work: WorkStruct): Promise<void> {
    work.running = true;
    try {
      while (work.pending) {
        work.pending = false; // cleared before the function runs
        try {
          await work.fn();
        } finally {
          this.done();
        }
      }
    } finally {
      work.running = false;
    }
  }

  private done(): void {
    if (--this.busy > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const fn of w) fn();
  }

  /** flush_workqueue: resolves once no work is pending or running. */
  flush(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** destroy_workqueue: drain, then refuse new work. */
  async destroy(): Promise<void> {
    await this.flush();
    this.destroyed = true;
  }
}

/** system_wq, one per emulated kernel (keyed by its clock). */
const systemWqs = new WeakMap<Clock, Workqueue>();

function systemWq(clock: Clock): Workqueue {
  let wq = systemWqs.get(clock);
  if (!wq) {
    wq = new Workqueue(clock, 'events');
    systemWqs.set(clock, wq);
  }
  return wq;
}

/** schedule_work: queue_work(system_wq, work). */
export function scheduleWork(clock: Clock, work: WorkStruct): boolean {
  return systemWq(clock).queueWork(work);
}

/** flush_work: wait until the item is neither pending nor running. */
export async function flushWork(work: WorkStruct): Promise<void> {
  while ((work.pending || work.running) && work.wq) await work.wq.flush();
}
