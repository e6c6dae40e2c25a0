// The kernel's clock, timers and deferred work: real time by default, or a
// virtual clock that advances only when nothing else can run.

export interface Timer { cancel(): void }

export interface Clock {
  readonly virtual: boolean;
  /** Milliseconds since boot. */
  nowMs(): number;
  /** Run fn once, ms from now (a kernel timer / delayed work). */
  setTimer(ms: number, fn: () => void): Timer;
  /** Run fn soon, after what is already queued (a work item / softirq). */
  defer(fn: () => void): void;
  /** Resolves once every deferred function and (virtual clock) every due timer has run. */
  settle(): Promise<void>;
}

/** Wall-clock time; work runs from the event loop. */
export class RealClock implements Clock {
  readonly virtual = false;
  private readonly boot = performance.now();
  private queue: Array<() => void> = [];
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];

  nowMs(): number { return performance.now() - this.boot; }

  setTimer(ms: number, fn: () => void): Timer {
    // Cancelling must also stop a timer that has fired but whose function is
    // still queued (del_timer_sync: the handler will not run afterwards).
    let cancelled = false;
    const t = setTimeout(() => this.defer(() => { if (!cancelled) fn(); }), delayOf(ms));
    return { cancel: () => { cancelled = true; clearTimeout(t); } };
  }

  defer(fn: () => void): void {
    this.queue.push(fn);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.drain());
    }
  }

  /**
   * Run queued work, and the work it queues (after letting promise
   * continuations run), for up to DRAIN_BUDGET_MS; then yield to the event
   * loop so requests from user space are not starved. A chain of bio
   * completions (a resync: read, write, next region) then costs no event-loop
   * turn per step.
   */
  private async drain(): Promise<void> {
    const start = performance.now();
    do {
      runQueue(this.queue);
      await Promise.resolve();
      await Promise.resolve();
    } while (this.queue.length > 0 && performance.now() - start < DRAIN_BUDGET_MS);
    this.scheduled = false;
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => void this.drain());
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  settle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      if (!this.scheduled) { this.scheduled = true; setImmediate(() => void this.drain()); }
    });
  }
}

/** How long deferred kernel work may run before the event loop gets a turn. */
const DRAIN_BUDGET_MS = 4;

interface VirtualTimer { at: number; seq: number; fn: () => void; cancelled: boolean }

/**
 * A clock that stands still while there is work to do and jumps to the next
 * timer when there is none, so a 5 s flakey interval or a 500 ms delay costs
 * no wall time and every run gives the same result.
 */
export class VirtualClock implements Clock {
  readonly virtual = true;
  private now = 0;
  private seq = 0;
  private timers: VirtualTimer[] = [];
  private queue: Array<() => void> = [];
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  /** Bumped by every defer and setTimer: how drain tells that something ran while it waited. */
  private activity = 0;

  /** autoAdvance: jump to the next timer whenever nothing else can run. */
  constructor(private readonly autoAdvance = true) {}

  nowMs(): number { return this.now; }

  setTimer(ms: number, fn: () => void): Timer {
    const t: VirtualTimer = { at: this.now + delayOf(ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(t);
    this.activity++;
    this.kick();
    return { cancel: () => { t.cancelled = true; } };
  }

  defer(fn: () => void): void {
    this.queue.push(fn);
    this.activity++;
    this.kick();
  }

  /** Move time forward by ms, running every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      runQueue(this.queue);
      const next = this.nextTimer();
      if (!next || next.at > target) break;
      this.fire(next);
    }
    this.now = Math.max(this.now, target);
    runQueue(this.queue);
  }

  settle(): Promise<void> {
    return new Promise((resolve) => { this.idleWaiters.push(resolve); this.kick(); });
  }

  private nextTimer(): VirtualTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: VirtualTimer | undefined;
    for (const t of this.timers) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  private fire(t: VirtualTimer): void {
    this.timers.splice(this.timers.indexOf(t), 1);
    this.now = Math.max(this.now, t.at);
    t.fn();
  }

  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    runQueue(this.queue);
    // Timers already due run now; time does not move for them.
    for (let t = this.nextTimer(); t && t.at <= this.now; t = this.nextTimer()) {
      this.fire(t);
      runQueue(this.queue);
    }
    if (this.autoAdvance && this.nextTimer()) {
      // Let time pass only when nothing else can run. The work just done may
      // have resolved promises whose continuations (a test's next step, a
      // request handler) run after this callback returns: give them a turn of
      // the event loop first, and move time only if none of them deferred
      // work or set a timer meanwhile.
      const seen = this.activity;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.activity === seen && this.queue.length === 0) {
          const next = this.nextTimer();
          if (next) this.fire(next);
        }
        this.kick();
      });
      return;
    }
    if (this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    } else {
      this.kick();
    }
  }
}

/** A timer's delay: negative or not a number means now. */
function delayOf(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

function runQueue(queue: Array<() => void>): void {
  // FIFO, including work queued while running; safe if a function drains too.
  // If one throws, the rest of its batch goes back to the front of the queue
  // before the error propagates, so no work is silently lost.
  while (queue.length > 0) {
    const batch = queue.splice(0);
    for (let i = 0; i < batch.length; i++) {
      try {
        batch[i]!();
      } catch (e) {
        queue.unshift(...batch.slice(i + 1));
        throw e;
      }
    }
  }
}

/** The tick rate of the oracle's kernel (Debian amd64: CONFIG_HZ=250); jiffies are 4 ms. */
export const HZ = 250;
