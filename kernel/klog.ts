// The kernel log (printk ring): what dmesg shows, with DMERR/DMWARN-style prefixes.

import type { Clock } from './clock.js';

export type LogLevel = 'err' | 'warn' | 'info' | 'debug';

export interface LogLine { usecs: number; level: LogLevel; text: string }

const MAX_LINES = 16384;

export class KernelLog {
  private lines: LogLine[] = [];
  constructor(private readonly clock: Clock) {}

  printk(level: LogLevel, text: string): void {
    this.lines.push({ usecs: Math.round(this.clock.nowMs() * 1000), level, text });
    if (this.lines.length > MAX_LINES) this.lines.splice(0, this.lines.length - MAX_LINES);
  }

  /** A logger for one DM_MSG_PREFIX, as the kernel's DMERR/DMWARN/DMINFO macros. */
  prefixed(prefix: string): DmLogger {
    const p = `device-mapper: ${prefix}: `;
    return {
      err: (msg) => this.printk('err', p + msg),
      warn: (msg) => this.printk('warn', p + msg),
      info: (msg) => this.printk('info', p + msg),
    };
  }

  /** dmesg: every line; with clear, forget them afterwards (dmesg -c). */
  read(clear = false): LogLine[] {
    const out = this.lines.slice();
    if (clear) this.lines = [];
    return out;
  }
}

export interface DmLogger {
  err(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
}

/** One dmesg line as `dmesg` prints it: `[    1.234567] text`. */
export function formatLogLine(l: LogLine): string {
  const secs = Math.floor(l.usecs / 1e6);
  const frac = String(l.usecs % 1e6).padStart(6, '0');
  return `[${String(secs).padStart(5, ' ')}.${frac}] ${l.text}`;
}
