// A small seeded PRNG (mulberry32) and the choices the fuzzers make with it.

export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }

  /** A u32. */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number { return n <= 0 ? 0 : Math.floor((this.u32() / 2 ** 32) * n); }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  /** True with probability p. */
  chance(p: number): boolean { return this.u32() / 2 ** 32 < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  /** A power of two 2^lo .. 2^hi. */
  pow2(lo: number, hi: number): number { return 2 ** this.range(lo, hi); }
  /** n bytes: a random 16-byte pattern, with a random u32 at the start of every sector (cheap, and no two sectors alike). */
  bytes(n: number): Buffer {
    const pat = Buffer.alloc(16);
    for (let i = 0; i < 16; i += 4) pat.writeUInt32LE(this.u32(), i);
    const b = Buffer.alloc(n, pat);
    for (let i = 0; i + 4 <= n; i += 512) b.writeUInt32LE(this.u32(), i);
    return b;
  }
}

/** The seed of case i of a run: every case can be replayed alone. */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
}

/** A different seed each run unless DMSETUP_TS_FUZZ_SEED is set. */
export function runSeed(env: NodeJS.ProcessEnv = process.env): number {
  const s = env.DMSETUP_TS_FUZZ_SEED;
  if (s !== undefined && s !== '') return Number(s) >>> 0;
  return (Date.now() ^ (process.pid << 16) ^ Math.floor(Math.random() * 2 ** 32)) >>> 0;
}

/** Numbers at the edges a kernel parser must get right, as decimal text (and some not decimal). */
export const EDGE_NUMBERS: readonly string[] = [
  '0', '1', '2', '7', '8', '-1', '-0', '+1', '+0', '00', '010', '0x10', '1e3', '1.5', ' 1', '',
  '127', '128', '255', '256', '511', '512', '1023', '1024', '4096', '65535', '65536',
  '2147483647', '2147483648', '-2147483648', '-2147483649', '4294967295', '4294967296', '4294967297', '-4294967296',
  '9007199254740991', '9007199254740992', '9007199254740993',
  '9223372036854775807', '9223372036854775808', '-9223372036854775808',
  '18446744073709551615', '18446744073709551616', '18446744073709551617', '-18446744073709551615',
  '36893488147419103232', '99999999999999999999999999999', '1' + '0'.repeat(40),
];
