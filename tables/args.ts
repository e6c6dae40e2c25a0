// Argument readers shared by targets: the kernel's strict sscanf idioms.

/**
 * `sscanf(s, "%u%c", &v, &dummy) == 1`: a plain unsigned decimal, nothing after
 * it. The kernel's vsscanf stores into an unsigned int without a range check,
 * so larger values wrap modulo 2^32 (the oracle takes flakey's up interval
 * 4294967296 as 0, and delay's 4294967296 ms as 0).
 */
export function parseU32(s: string | undefined): number | undefined {
  const m = s === undefined ? null : /^[ \t\n\v\f\r]*([0-9]+)$/.exec(s);
  return m ? Number(BigInt.asUintN(32, BigInt(m[1]!))) : undefined;
}

/** `sscanf(s, "%llu%c", ...) == 1` for a sector_t. */
export function parseU64(s: string | undefined): number | undefined {
  const v = parseUnsigned(s);
  return v === undefined ? undefined : Number(v);
}

/**
 * What `%u`/`%llu` accept: optional leading white space, an optional sign, decimal
 * digits (no sign: the kernel's vsscanf takes none for %u); the whole word must be
 * used. Values past 64 bits are refused rather than wrapped.
 */
function parseUnsigned(s: string | undefined): bigint | undefined {
  if (s === undefined) return undefined;
  const m = /^[ \t\n\v\f\r]*([0-9]+)$/.exec(s);
  if (!m) return undefined;
  const v = BigInt(m[1]!);
  return v <= 0xffffffffffffffffn ? v : undefined;
}

/** dm_read_arg_group-style cursor over argv. */
export class ArgCursor {
  private i = 0;
  constructor(private readonly argv: readonly string[]) {}
  get remaining(): number { return this.argv.length - this.i; }
  peek(): string | undefined { return this.argv[this.i]; }
  shift(): string | undefined { return this.argv[this.i++]; }
  consume(n: number): string[] { const out = this.argv.slice(this.i, this.i + n); this.i += n; return out; }
}

/** dm_read_arg: an unsigned in [min, max] or the given error. */
export function readArg(s: string | undefined, min: number, max: number): number | undefined {
  const v = parseU32(s);
  return v !== undefined && v >= min && v <= max ? v : undefined;
}

export const UINT_MAX = 0xffffffff;

/** struct dm_arg: the range an unsigned argument must fall in, and the error otherwise. */
export interface DmArg { readonly min: number; readonly max: number; readonly error: string }

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
