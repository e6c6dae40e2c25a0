// The kernel log (printk ring): what dmesg shows, with DMERR/DMWARN-style
// prefixes, and printk rate limiting (lib/ratelimit.c) for the _LIMIT forms.

import { HZ, type Clock } from './clock.js';

export type LogLevel = 'err' | 'warn' | 'info' | 'debug';

export interface LogLine { usecs: number; level: LogLevel; text: string }

const MAX_LINES = 16384;

/** DEFAULT_RATELIMIT_INTERVAL (5 * HZ) and DEFAULT_RATELIMIT_BURST. */
export const DEFAULT_RATELIMIT_INTERVAL = 5 * HZ;
export const DEFAULT_RATELIMIT_BURST = 10;

/**
 * One `static DEFINE_RATELIMIT_STATE(rs, ...)`: DM_RATELIMIT (device-mapper.h)
 * declares one inside every DMERR_LIMIT/DMWARN_LIMIT, so each call site is
 * limited on its own, and shared by every instance of the target. Declare one
 * per call site at module level; func is the enclosing function's name, which
 * the "callbacks suppressed" line shows. The state lives in the KernelLog (one
 * per emulated kernel), keyed by this object.
 */
export class RatelimitSite {
  constructor(readonly func: string, readonly interval = DEFAULT_RATELIMIT_INTERVAL,
    readonly burst = DEFAULT_RATELIMIT_BURST) {}
}

/** struct ratelimit_state's counters. */
interface RatelimitState { begin: number; printed: number; missed: number }

export class KernelLog {
  private lines: LogLine[] = [];
  private readonly ratelimits = new Map<RatelimitSite, RatelimitState>();
  constructor(private readonly clock: Clock) {}

  printk(level: LogLevel, text: string): void {
    this.lines.push({ usecs: Math.round(this.clock.nowMs() * 1000), level, text });
    if (this.lines.length > MAX_LINES) this.lines.splice(0, this.lines.length - MAX_LINES);
  }

  /**
   * ___ratelimit(rs, func): whether the caller may print. After `interval`
   * jiffies from the first message of a burst, the next call starts a new
   * burst, first logging (KERN_WARNING, no prefix) how many were suppressed.
   */
  ratelimit(site: RatelimitSite): boolean {
    if (!site.interval) return true;
    const now = jiffies(this.clock.nowMs());
    let rs = this.ratelimits.get(site);
    if (!rs) {
      rs = { begin: now, printed: 0, missed: 0 };
      this.ratelimits.set(site, rs);
    }
    // time_is_before_jiffies(rs->begin + interval)
    if (now > rs.begin + site.interval) {
      if (rs.missed) {
        this.printk('warn', `${site.func}: ${rs.missed} callbacks suppressed`);
        rs.missed = 0;
      }
      rs.begin = now;
      rs.printed = 0;
    }
    if (site.burst && site.burst > rs.printed) {
      rs.printed++;
      return true;
    }
    rs.missed++;
    return false;
  }

  /** A logger for one DM_MSG_PREFIX, as the kernel's DMERR/DMWARN/DMINFO macros and their _LIMIT forms. */
  prefixed(prefix: string): DmLogger {
    const p = `device-mapper: ${prefix}: `;
    return {
      err: (msg) => this.printk('err', p + msg),
      warn: (msg) => this.printk('warn', p + msg),
      info: (msg) => this.printk('info', p + msg),
      errLimit: (site, msg) => { if (this.ratelimit(site)) this.printk('err', p + msg); },
      warnLimit: (site, msg) => { if (this.ratelimit(site)) this.printk('warn', p + msg); },
      infoLimit: (site, msg) => { if (this.ratelimit(site)) this.printk('info', p + msg); },
    };
  }

  /** dmesg: every line; with clear, forget them afterwards (dmesg -c). */
  read(clear = false): LogLine[] {
    const out = this.lines.slice();
    if (clear) this.lines = [];
    return out;
  }
}

/** jiffies at a clock time (ms since boot). */
function jiffies(ms: number): number { return Math.floor((ms * HZ) / 1000); }

export interface DmLogger {
  err(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  /** DMERR_LIMIT: printed only if the call site's rate limit allows. */
  errLimit(site: RatelimitSite, msg: string): void;
  /** DMWARN_LIMIT. */
  warnLimit(site: RatelimitSite, msg: string): void;
  /** DMINFO_LIMIT. */
  infoLimit(site: RatelimitSite, msg: string): void;
}

/** One dmesg line as `dmesg` prints it: `[    1.234567] text`. */
export function formatLogLine(l: LogLine): string {
  const secs = Math.floor(l.usecs / 1e6);
  const frac = String(l.usecs % 1e6).padStart(6, '0');
  return `[${String(secs).padStart(5, ' ')}.${frac}] ${l.text}`;
}
