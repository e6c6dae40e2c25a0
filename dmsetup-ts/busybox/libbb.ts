// The parts of BusyBox's libbb that its losetup, blockdev and dd applets
// print through, as the oracle VM's BusyBox (Debian 1:1.35.0-4+deb12u1+b1)
// prints them: the usage banner, perror messages, number parsing.

import { isErrno, strerror } from '../../kernel/errno.js';

/** What bb_show_usage prints first: the oracle VM's BusyBox. */
export const BANNER = 'BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n';

/** An applet's exit, with its status (xfunc_die and friends). */
export class AppletExit extends Error {
  constructor(readonly code: number) { super(`exit ${code}`); }
}

export class Applet {
  constructor(readonly name: string, private readonly trivialUsage: string, private readonly fullUsage: string) {}

  /** bb_show_usage: the banner and the usage on stderr, exit 1. */
  showUsage(): never {
    process.stderr.write(`${BANNER}\nUsage: ${this.name} ${this.trivialUsage}${this.fullUsage}\n`);
    throw new AppletExit(1);
  }

  /** bb_error_msg. */
  errorMsg(msg: string): void { process.stderr.write(`${this.name}: ${msg}\n`); }

  /** bb_error_msg_and_die. */
  die(msg: string): never {
    this.errorMsg(msg);
    throw new AppletExit(1);
  }

  /** bb_perror_msg: msg and strerror(errno) (just msg when errno is 0). */
  perror(msg: string, errno: string | 0): void {
    this.errorMsg(errno === 0 ? msg : `${msg}: ${isErrno(errno) ? strerror(errno) : errno}`);
  }

  /** bb_perror_msg_and_die. */
  perrorDie(msg: string, errno: string | 0): never {
    this.perror(msg, errno);
    throw new AppletExit(1);
  }

  /** bb_error_msg_and_die(bb_msg_invalid_arg_to, val, what). */
  invalidArgTo(val: string, what: string): never { return this.die(`invalid argument '${val}' to '${what}'`); }

  /** Runs the applet's body: its exit status, whatever way it ends. */
  async run(body: () => Promise<number> | number): Promise<number> {
    try {
      return await body();
    } catch (e) {
      if (e instanceof AppletExit) return e.code;
      throw e;
    }
  }
}

export interface Suffix { suffix: string; mult: bigint }

/** cwbkMG_suffixes (dd's). */
export const CWBKMG_SUFFIXES: readonly Suffix[] = [
  { suffix: 'c', mult: 1n }, { suffix: 'w', mult: 2n }, { suffix: 'b', mult: 512n },
  { suffix: 'kB', mult: 1000n }, { suffix: 'kD', mult: 1000n }, { suffix: 'k', mult: 1024n }, { suffix: 'K', mult: 1024n },
  { suffix: 'MB', mult: 1000000n }, { suffix: 'MD', mult: 1000000n }, { suffix: 'M', mult: 1048576n },
  { suffix: 'GB', mult: 1000000000n }, { suffix: 'GD', mult: 1000000000n }, { suffix: 'G', mult: 1073741824n },
];

const ULLONG_MAX = (1n << 64n) - 1n;

/**
 * xatoull_range_sfx (libbb/xatonum_template.c), base 10: no sign and no
 * leading blank, digits, then nothing or one of the suffixes; dies with
 * "invalid number 'S'" or "number S is not in L..U range".
 */
export function xatoullRangeSfx(applet: Applet, s: string, lower: bigint, upper: bigint, suffixes: readonly Suffix[] = []): bigint {
  const m = /^([0-9]+)(.*)$/s.exec(s);
  if (!m) return applet.die(`invalid number '${s}'`);
  let n = BigInt(m[1]!);
  let overflow = n > ULLONG_MAX;
  const rest = m[2]!;
  if (rest) {
    const sfx = suffixes.find((x) => x.suffix === rest);
    if (!sfx) return applet.die(`invalid number '${s}'`);
    n *= sfx.mult;
    if (n > ULLONG_MAX) overflow = true;
  }
  if (overflow || n < lower || n > upper) return applet.die(`number ${s} is not in ${lower}..${upper} range`);
  return n;
}

/** xatoull_sfx: the whole unsigned long long range. */
export const xatoullSfx = (applet: Applet, s: string, suffixes: readonly Suffix[] = []) => xatoullRangeSfx(applet, s, 0n, ULLONG_MAX, suffixes);

/** xatoi_positive: 0..INT_MAX. */
export const xatoiPositive = (applet: Applet, s: string) => Number(xatoullRangeSfx(applet, s, 0n, 0x7fffffffn));

/** The errno of a failed kernel request (ENOENT and the like), as libbb's perror prints it. */
export function errnoText(e: string): string { return isErrno(e) ? strerror(e) : e; }
