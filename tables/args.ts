// Argument readers shared by every target and dirty log: numbers as the
// kernel's vsscanf (lib/vsprintf.c) and kstrto* (lib/kstrtox.c) read them,
// and dm_read_arg / dm_read_arg_group (dm-table.c).
//
// sscanf(s, "%u%c", &v, &dummy) == 1, the kernel idiom for "a whole number
// and nothing after it":
//   - leading white space is skipped (skip_spaces);
//   - %u and %llu take no sign at all, '+' included (is_sign is false, and the
//     first character must be a digit); %d takes '-' but not '+';
//   - digits accumulate modulo 2^64 (_parse_integer_limit flags the overflow,
//     simple_strntoull ignores the flag), and %u stores the low 32 bits:
//     "4294968320" is 1024, "18446744073709551616" is 0;
//   - then %c must find one more character for the count to be 2, so
//     anything after the digits makes it fail.
// kstrtouint/kstrtoull (dm-stripe's counts) differ: one leading '+' is
// allowed, no white space, one trailing newline, and overflow is -ERANGE.

const U64 = (1n << 64n) - 1n;

/** The kernel's isspace (lib/ctype.c) over ASCII: \t \n \v \f \r and space. */
function isKernelSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * One `%u`/`%llu`/`%d` conversion followed by `%c`: the value modulo 2^64
 * (negated for %d's '-'), or undefined unless exactly one conversion matched
 * and nothing follows it.
 */
function scanWhole(s: string | undefined, signed: boolean): bigint | undefined {
  if (s === undefined) return undefined;
  let i = 0;
  const n = s.length;
  while (i < n && isKernelSpace(s.charCodeAt(i))) i++;
  let neg = false;
  if (signed && s.charCodeAt(i) === 45 /* - */) { neg = true; i++; }
  if (i >= n || !isDigit(s.charCodeAt(i))) return undefined;
  const from = i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  if (i !== n) return undefined; // %c found a character
  // Up to 15 digits fit a double exactly; longer ones go through BigInt.
  let v = i - from <= 15 ? BigInt(Number(s.slice(from, i))) : BigInt.asUintN(64, BigInt(s.slice(from, i)));
  if (neg) v = BigInt.asUintN(64, -v);
  return v;
}

/** `sscanf(s, "%u%c", &v, &dummy) == 1`: an unsigned int, or undefined. */
export function sscanfU32(s: string | undefined): number | undefined {
  // Fast path: a short plain decimal (the usual case).
  if (s !== undefined && s.length > 0 && s.length <= 9 && /^[0-9]+$/.test(s)) return Number(s);
  const v = scanWhole(s, false);
  return v === undefined ? undefined : Number(BigInt.asUintN(32, v));
}

/** `sscanf(s, "%llu%c", &v, &dummy) == 1`: an unsigned long long (sector_t), or undefined. */
export function sscanfU64(s: string | undefined): bigint | undefined {
  return scanWhole(s, false);
}

/** `sscanf(s, "%d%c", &v, &dummy) == 1`: an int, or undefined. */
export function sscanfInt(s: string | undefined): number | undefined {
  const v = scanWhole(s, true);
  return v === undefined ? undefined : Number(BigInt.asIntN(32, v));
}

/** kstrtoull(s, 10, &v) == 0: '+'? digits '\n'?, no overflow; else undefined. */
export function kstrtoull(s: string): bigint | undefined {
  const m = /^\+?([0-9]+)\n?$/.exec(s);
  if (!m) return undefined;
  const v = BigInt(m[1]!);
  return v <= U64 ? v : undefined;
}

/** kstrtouint(s, 10, &v) == 0: as kstrtoull, and the value must fit 32 bits. */
export function kstrtouint(s: string): number | undefined {
  const v = kstrtoull(s);
  return v !== undefined && v <= 0xffffffffn ? Number(v) : undefined;
}

/** struct dm_arg_set: a cursor over argv (dm_shift_arg, dm_consume_args). */
export class ArgCursor {
  private i = 0;
  constructor(private readonly argv: readonly string[]) {}
  get remaining(): number { return this.argv.length - this.i; }
  peek(): string | undefined { return this.argv[this.i]; }
  shift(): string | undefined { return this.argv[this.i++]; }
  consume(n: number): string[] { const out = this.argv.slice(this.i, this.i + n); this.i += n; return out; }
}

export const UINT_MAX = 0xffffffff;

/** struct dm_arg: the range an unsigned argument must fall in, and the error otherwise. */
export interface DmArg { readonly min: number; readonly max: number; readonly error: string }

/** validate_next_arg: `%u%c` in [min, max]. */
function readArg(s: string | undefined, min: number, max: number): number | undefined {
  const v = sscanfU32(s);
  return v !== undefined && v >= min && v <= max ? v : undefined;
}

/** dm_read_arg: shift one word, `%u` in [min, max]; undefined means ti->error = arg.error. */
export function dmReadArg(arg: DmArg, as: ArgCursor): number | undefined {
  return readArg(as.shift(), arg.min, arg.max);
}

/**
 * dm_read_arg_group: like dmReadArg, and the count must not exceed the words
 * left after it (they are not consumed).
 */
export function dmReadArgGroup(arg: DmArg, as: ArgCursor): number | undefined {
  const v = readArg(as.shift(), arg.min, arg.max);
  return v !== undefined && v <= as.remaining ? v : undefined;
}
