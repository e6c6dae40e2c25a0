// Argument readers shared by targets: the kernel's strict sscanf idioms.

/** `sscanf(s, "%u%c", &v, &dummy) == 1`: a plain unsigned decimal, nothing after it. */
export function parseU32(s: string | undefined): number | undefined {
  const v = parseUnsigned(s);
  return v !== undefined && v <= 0xffffffff ? Number(v) : undefined;
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
