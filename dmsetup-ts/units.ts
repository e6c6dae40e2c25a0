// dm_units_to_factor (libdm-string.c): a --units argument, an optional number
// then one unit letter (h/H/r/R human-readable, b, s, k..e powers of 1024,
// K..E powers of 1000), as the factor in bytes; 0 when it is not one.

const KILO = 1024n, KILO_SI = 1000n;
const MULTIPLIER: Record<string, bigint> = {
  h: 1n, H: 1n, r: 1n, R: 1n, b: 1n, B: 1n, s: KILO / 2n, S: KILO / 2n,
  k: KILO, m: KILO ** 2n, g: KILO ** 3n, t: KILO ** 4n, p: KILO ** 5n, e: KILO ** 6n,
  K: KILO_SI, M: KILO_SI ** 2n, G: KILO_SI ** 3n, T: KILO_SI ** 4n, P: KILO_SI ** 5n, E: KILO_SI ** 6n,
};

export interface UnitsFactor { factor: bigint; unitType: string }

/** The non-strict form dmsetup uses (_factor_from_units): characters after the unit letter are ignored. */
export function unitsToFactor(units: string): UnitsFactor | null {
  let v = 1n;
  let custom = 0;
  let rest = units;
  if (/^[0-9]/.test(units)) {
    // strtod for the value, strtoull for its integer part; a fraction makes the arithmetic floating.
    const num = /^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?/.exec(units)![0];
    custom = Number(num);
    v = BigInt.asUintN(64, BigInt(/^[0-9]+/.exec(units)![0]));
    if (Math.abs(Number(v) - custom) < Number.EPSILON) custom = 0;
    rest = units.slice(num.length);
  }
  const u = rest[0] ?? '';
  const multiplier = MULTIPLIER[u];
  if (multiplier === undefined) return null;
  let unitType = v === 1n ? u : 'U';
  if ('hHrR'.includes(u)) { v = 1n; unitType = u; }
  const factor = custom === 0 ? BigInt.asUintN(64, v * multiplier) : BigInt(Math.trunc(custom * Number(multiplier)));
  return factor === 0n ? null : { factor, unitType };
}
